"""SQL side of "one patient across channels": finding the patient behind a new channel identity
and merging two patient records.

A new channel identity whose id is a phone number or an e-mail address (rules in
`handoff.domain.identity_match`) joins the patient already known by that number or address —
on `patients.phone`/`patients.email` or on another phone channel's identity — instead of
creating a new patient. Links made by CPF (`patient_links`) are followed, so the identity joins
the record that holds the clinic data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    Base,
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    Patient,
    PatientLink,
    PatientMerge,
)
from handoff.domain.errors import Conflict, Invalid, NotFound
from handoff.domain.identity_match import PHONE_CHANNELS, MatchKeys, keys_for_identity, phone_variants

PATIENT_MERGED = "patient_merged"  # conversation event on every conversation a merge moved
_SPECIAL = {"patients", "patient_links", "patient_merges"}
# Append-only logs are never rewritten (database triggers refuse it): the merged record's link to
# the kept one makes them count for the person (consent follows links: clinic_store._consent).
_APPEND_ONLY = {"consents"}


async def canonical_id(session: AsyncSession, patient_id: int) -> int:
    """The record a patient is linked to by CPF or merge (itself when not linked)."""
    link = await session.get(PatientLink, patient_id)
    return link.linked_to_id if link is not None else patient_id


async def find_patient(session: AsyncSession, keys: MatchKeys) -> Patient | None:
    """The patient already known by this phone or e-mail (the oldest such record), if any."""
    if not keys:
        return None
    candidates: set[int] = set()
    conditions: list[Any] = []
    if keys.phone:
        variants = list(phone_variants(keys.phone))
        conditions.append(Patient.phone.in_(variants))
        rows = await session.execute(
            select(ChannelIdentity.patient_id).where(
                ChannelIdentity.channel.in_(PHONE_CHANNELS), ChannelIdentity.external_id.in_(variants)
            )
        )
        candidates.update(rows.scalars().all())
    if keys.email:
        conditions.append(func.lower(Patient.email) == keys.email)
    candidates.update((await session.execute(select(Patient.id).where(or_(*conditions)))).scalars().all())
    if not candidates:
        return None
    return await session.get(Patient, await canonical_id(session, min(candidates)))


async def patient_for_new_identity(
    session: AsyncSession, channel: str, external_id: str, display_name: str | None, now: datetime
) -> Patient:
    """The patient a first message on a new channel identity belongs to (created if unknown)."""
    keys = keys_for_identity(channel, external_id)
    patient = await find_patient(session, keys)
    if patient is None:
        patient = Patient(display_name=display_name, phone=keys.phone, email=keys.email, created_at=now)
        session.add(patient)
        await session.flush()
        return patient
    if not patient.display_name and display_name:
        patient.display_name = display_name
    if not patient.phone and keys.phone:
        patient.phone = keys.phone
    if not patient.email and keys.email:
        patient.email = keys.email
    return patient


# --- merge ------------------------------------------------------------------------------------


@dataclass
class MergeResult:
    """What a merge did (counts only: no personal data)."""

    merge_id: int
    kept_patient_id: int
    merged_patient_id: int
    moved: dict[str, int] = field(default_factory=dict)
    conversation_ids: list[str] = field(default_factory=list)


def _patient_references() -> list[tuple[Table, Column[Any]]]:
    """Every column pointing at `patients.id`, except the identity bookkeeping tables."""
    refs: list[tuple[Table, Column[Any]]] = []
    for table in Base.metadata.sorted_tables:
        if table.name in _SPECIAL or table.name in _APPEND_ONLY:
            continue
        for column in table.columns:
            if any(fk.column.table.name == "patients" and fk.column.name == "id" for fk in column.foreign_keys):
                refs.append((table, column))
    return refs


def _pick(kept: Any, merged: Any) -> Any:
    return kept if kept not in (None, "") else merged


async def merge_patients(
    session: AsyncSession, dialect: str, keep_id: int, merge_id: int, staff_id: int | None
) -> MergeResult:
    """Move everything of `merge_id` (identities, conversations, appointments, exams, bills,
    links…) to `keep_id`, fill the kept record's blanks, link the merged record to the kept one
    and record the merge. The append-only consent log stays and counts through that link.
    Raises MergeError (nothing changed)."""
    if keep_id == merge_id:
        raise Invalid("same_patient", "escolha dois cadastros diferentes")
    q = select(Patient).where(Patient.id.in_([keep_id, merge_id])).order_by(Patient.id)
    if dialect == "postgresql":
        q = q.with_for_update()
    rows = {p.id: p for p in (await session.execute(q)).scalars().all()}
    keep, merged = rows.get(keep_id), rows.get(merge_id)
    if keep is None or merged is None:
        raise NotFound("not_found", "cadastro não encontrado")
    if (await session.execute(select(PatientMerge.id).where(PatientMerge.merged_patient_id == merge_id))).first():
        raise Conflict("already_merged", "este cadastro já foi unificado a outro")
    keep_link = await session.get(PatientLink, keep_id)
    if keep_link is not None and keep_link.linked_to_id != merge_id:
        raise Conflict("keep_is_linked",
                         f"o cadastro {keep_id} está vinculado ao cadastro {keep_link.linked_to_id}; mantenha aquele")
    if keep.cpf and merged.cpf and keep.cpf != merged.cpf:
        raise Conflict("cpf_conflict", "os cadastros têm CPFs diferentes: são pessoas diferentes")
    if keep.birth_date and merged.birth_date and keep.birth_date != merged.birth_date:
        raise Conflict("birth_date_conflict", "os cadastros têm datas de nascimento diferentes")

    now = utcnow()
    moved: dict[str, int] = {}
    conv_ids = list((await session.execute(
        select(Conversation.id).where(Conversation.patient_id == merge_id).order_by(Conversation.created_at)
    )).scalars().all())
    for table, column in _patient_references():
        res = await session.execute(update(table).where(column == merge_id).values({column.name: keep_id}))
        count = int(res.rowcount)  # type: ignore[attr-defined]
        if count:
            moved[table.name] = moved.get(table.name, 0) + count

    # Links: the kept record becomes the person's record; whoever pointed at the merged one
    # (CPF links of other channel patients) now points at the kept one.
    if keep_link is not None:
        await session.delete(keep_link)
    await session.execute(delete(PatientLink).where(PatientLink.patient_id == merge_id))
    relinked = await session.execute(
        update(PatientLink).where(PatientLink.linked_to_id == merge_id).values(linked_to_id=keep_id)
    )
    if relinked.rowcount:  # type: ignore[attr-defined]
        moved["patient_links"] = int(relinked.rowcount)  # type: ignore[attr-defined]
    await session.flush()
    session.add(PatientLink(patient_id=merge_id, linked_to_id=keep_id, created_at=now))

    # The kept record keeps its own data and takes the merged one's where it has none.
    cpf = _pick(keep.cpf, merged.cpf)
    birth: date | None = _pick(keep.birth_date, merged.birth_date)
    if cpf != keep.cpf:
        merged.cpf = None  # the CPF column is unique: free it before moving it
        await session.flush()
    keep.cpf, keep.birth_date = cpf, birth
    keep.display_name = _pick(keep.display_name, merged.display_name)
    keep.phone = _pick(keep.phone, merged.phone)
    keep.email = _pick(keep.email, merged.email)

    actor = f"agent:{staff_id}" if staff_id is not None else "system"
    data = {"kept_patient_id": keep_id, "merged_patient_id": merge_id}
    for conv_id in conv_ids:
        session.add(ConversationEvent(conversation_id=conv_id, type=PATIENT_MERGED, actor=actor, data=data,
                                      created_at=now))
    record = PatientMerge(kept_patient_id=keep_id, merged_patient_id=merge_id, staff_id=staff_id, moved=moved,
                          created_at=now)
    session.add(record)
    await session.flush()
    return MergeResult(record.id, keep_id, merge_id, moved, conv_ids)
