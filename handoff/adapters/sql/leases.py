"""Leasing one due row of a work table (interaction deliveries, reminders): pick the most overdue
candidate, skipping rows other replicas hold (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and take
it with a conditional UPDATE that re-checks `due`, so two workers never both win."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.models import Base

Row = TypeVar("Row", bound=Base)


async def lease_due(session: AsyncSession, dialect: str, model: type[Row], due: Any, order_by: Sequence[Any], *,
                    sending: str, owner: str, lease_seconds: float, now: datetime) -> Row | None:
    """Lease the first `due` row of `model` by `order_by`: status `sending`, the lease for `owner`
    until `now + lease_seconds`, one more attempt counted; None when nothing is due or a replica
    took it first. The table needs `id`, `status`, `lease_owner`, `lease_until`, `attempts` and
    `updated_at` columns."""
    table: Any = model
    q = select(table.id).where(due).order_by(*order_by).limit(1)
    if dialect == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row_id = (await session.execute(q)).scalar_one_or_none()
    if row_id is None:
        return None
    res = await session.execute(
        update(table).where(table.id == row_id, due)
        .values(status=sending, lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                attempts=table.attempts + 1, updated_at=now))
    if int(res.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(model, row_id, populate_existing=True)
