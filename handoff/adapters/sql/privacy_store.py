"""SQL side of data-subject requests: who "the patient" is across linked records, and consent.

A person may have several `patients` rows: channel patients linked by CPF to the record holding
the clinic data (`patient_links`), or records merged by staff (which leave a link behind). The
person is the canonical record plus every record linked to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.identity_store import canonical_id
from handoff.adapters.sql.models import ConsentRow, Conversation, PatientLink


async def person_ids(session: AsyncSession, patient_id: int) -> list[int]:
    """Every record of the person behind `patient_id`, the canonical one first."""
    canonical = await canonical_id(session, patient_id)
    linked = (await session.execute(
        select(PatientLink.patient_id).where(PatientLink.linked_to_id == canonical).order_by(PatientLink.patient_id)
    )).scalars().all()
    return [canonical, *[p for p in linked if p != canonical]]


async def consent_revoked(session: AsyncSession, patient_id: int) -> bool:
    """True when the person's latest consent decision (on any linked record) is a refusal or a
    revocation: non-essential processing (satisfaction surveys, bot training) stops."""
    ids = await person_ids(session, patient_id)
    latest = (await session.execute(
        select(ConsentRow.granted).where(ConsentRow.patient_id.in_(ids))
        .order_by(ConsentRow.created_at.desc(), ConsentRow.id.desc()).limit(1)
    )).scalar_one_or_none()
    return latest is False


async def revoked_conversations(session: AsyncSession, conversation_ids: Iterable[str]) -> set[str]:
    """The conversations (of these) whose patient revoked or refused consent."""
    ids = list(set(conversation_ids))
    if not ids:
        return set()
    owners = (await session.execute(
        select(Conversation.id, Conversation.patient_id).where(Conversation.id.in_(ids)))).all()
    verdict: dict[int, bool] = {}
    out: set[str] = set()
    for conv_id, patient_id in owners:
        if patient_id not in verdict:
            verdict[patient_id] = await consent_revoked(session, patient_id)
        if verdict[patient_id]:
            out.add(conv_id)
    return out
