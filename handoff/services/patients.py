"""Staff use cases on patient records: merging two records of one person."""

from __future__ import annotations

from typing import Any

from handoff.adapters.sql import identity_store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC, UnitOfWork

__all__ = ["merge"]


async def merge(uow: UnitOfWork, who: StaffIdentity, keep_id: int, merge_id: int) -> dict[str, Any]:
    """Merge `merge_id` into `keep_id` (identity_store.merge_patients), audit-logged in the same
    transaction. Raises a `handoff.domain.errors` kind (Invalid, NotFound, Conflict) the rules refuse."""
    async with uow() as (session, events):
        result = await identity_store.merge_patients(session, uow.dialect, keep_id, merge_id, who.id)
        session.add(AuditLog(staff_id=who.id, action="merge_patients",
                             subject=f"patient:{keep_id}<-patient:{merge_id}", created_at=utcnow(),
                             patient_id=keep_id, data={"merged_patient_id": merge_id}))
        view = {"merge_id": result.merge_id, "kept_patient_id": keep_id, "merged_patient_id": merge_id,
                "moved": result.moved, "conversation_ids": result.conversation_ids}
        events.add(STAFF_TOPIC, {"type": "patient_merged", "queue": None, "agent_id": None, **view})
    return view
