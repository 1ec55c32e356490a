"""The 15-day clock of data-subject requests (LGPD Art. 19 II): managers are alerted once per
request when fewer than `PRIVACY_ESCALATE_DAYS` remain or it is overdue. Runs with the hub's
worker loops (`HubRuntime.start_workers`); the conditional `escalated_at IS NULL` update makes the
alert fire once across hub replicas."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import PrivacyRequest
from handoff.adapters.tasks import cancel_and_wait, run_every
from handoff.domain import privacy as rules
from handoff.services.privacy_common import audit, staff_event
from handoff.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class PrivacyMonitor:
    """The 15-day clock's escalation loop; `tick()` is one pass (tests call it directly)."""

    def __init__(self, uow: UnitOfWork, interval: float, warn_days: float) -> None:
        self.uow = uow
        self.interval = interval
        self.warn_days = warn_days
        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        """Run `tick` every `interval` seconds until `stop`."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        await cancel_and_wait([self._task])

    async def _loop(self) -> None:
        # The next pass retries; never log patient data.
        await run_every(self.interval, self.tick,
                        lambda exc: log.warning("privacy request monitor pass failed: %s", type(exc).__name__))

    async def tick(self, now: datetime | None = None) -> int:
        """Alert managers about every pending request whose clock came due; each fires once
        (across replicas: only the process whose conditional update wins acts)."""
        now = now or utcnow()
        horizon = now + timedelta(days=self.warn_days)
        async with self.uow() as (session, _):
            candidates = list((await session.execute(
                select(PrivacyRequest.id).where(PrivacyRequest.status.in_([s.value for s in rules.PENDING]),
                                                PrivacyRequest.escalated_at.is_(None),
                                                PrivacyRequest.due_at < horizon)
            )).scalars().all())
        fired = 0
        for request_id in candidates:
            async with self.uow() as (session, events):
                won = await session.execute(
                    update(PrivacyRequest).where(PrivacyRequest.id == request_id,
                                                 PrivacyRequest.escalated_at.is_(None),
                                                 PrivacyRequest.status.in_([s.value for s in rules.PENDING]),
                                                 PrivacyRequest.due_at < horizon)
                    .values(escalated_at=now))
                if int(won.rowcount or 0) != 1:  # type: ignore[attr-defined]
                    continue  # another replica fired it
                row = await self._fetch(session, request_id)
                if row is None:
                    continue
                c = rules.clock(as_utc(row.due_at) or row.due_at, now, row.status, self.warn_days)
                audit(session, None, "privacy.request.escalated", row.patient_id, row.id,
                      {"days_left": round(c.days_left, 2), "overdue": c.overdue})
                staff_event(events, "privacy_request_due", row, days_left=round(c.days_left, 2), overdue=c.overdue)
                fired += 1
        if fired:
            log.info("privacy requests escalated: %d", fired)
        return fired

    @staticmethod
    async def _fetch(session: AsyncSession, request_id: int) -> PrivacyRequest | None:
        return (await session.execute(select(PrivacyRequest).where(PrivacyRequest.id == request_id))
                ).scalar_one_or_none()
