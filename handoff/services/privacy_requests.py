"""Data-subject requests (LGPD Art. 18/19): opening with identity checks, the simplified answer,
staff handling (list, detail, assign, answer, reject, correction), consent revocation and the
15-day clock's escalation loop.

Export lives in `privacy_export.py`, erasure in `privacy_erasure.py`, the clock's loop in
`privacy_clock.py`, shared views and queries in `privacy_common.py`; the rules (kinds, status
table, clock, identity, corrections, legal holds) in `handoff/domain/privacy.py`.

- The bot opens a request for the patient of a conversation (`open_from_conversation`): the
  channel identity is proof enough when it is the person's only identity and the record is not
  linked or merged; otherwise CPF + birth date must match the record. An unverifiable request
  raises a DomainError and writes nothing. The simplified answer (kinds of data held and counts)
  is returned at once and `simplified_answer_at` set.
- Staff open one for a patient (`open_for_patient`, verified_by "staff").
- revoke_consent is applied at once: a refusal row is appended to the consent log (the inbox no
  longer asks CSAT/NPS, the bot review no longer offers the person's messages for training).
- Every staff read or change of a request is audit-logged with the patient id and a reason.
- `PrivacyMonitor.tick` alerts managers once per request whose clock is short or overdue; the
  conditional `escalated_at IS NULL` update makes that once across hub replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    AuditLog,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    ConversationEvent,
    Patient,
    PrivacyRequest,
    StaffUser,
)
from handoff.adapters.sql.privacy_store import person_ids
from handoff.domain import privacy as rules
from handoff.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from handoff.domain.privacy import RequestKind, RequestStatus
from handoff.services.privacy_answer import tell_patient
from handoff.services.privacy_clock import PrivacyMonitor
from handoff.services.privacy_common import (
    audit,
    hold_view,
    iso,
    legal_holds_of,
    request_view,
    staff_event,
    summary,
)
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import Events, UnitOfWork

__all__ = ["PrivacyMonitor", "PrivacyService"]

PRIVACY_EVENT = "privacy_request"  # conversation event {request_id, kind}
REVOCATION_VERSION = "revogacao-titular"
DETAILS_MAX = 1000


@dataclass
class PrivacyService:
    """Use cases of data-subject requests (the api layer checks who may call them)."""

    uow: UnitOfWork
    warn_days: float = 3.0
    public_base_url: str = "http://127.0.0.1:8000"
    export_link_days: float = 7.0

    # -- opening ------------------------------------------------------------------------------------

    async def open_from_conversation(self, conversation_id: str, kind: str, cpf: str | None,
                                     birth_date: date | None, details: str | None) -> dict[str, Any]:
        """The bot asks for the patient of `conversation_id`. Raises NotFound (unknown
        conversation), Unprocessable `needs_identity`, Forbidden `identity_mismatch` (nothing is written)."""
        kind = RequestKind(kind).value
        async with self.uow() as (session, events):
            conv = await session.get(Conversation, conversation_id)
            if conv is None:
                raise NotFound("conversation_not_found", "conversa não encontrada")
            ids = await person_ids(session, conv.patient_id)
            identities = int((await session.execute(select(func.count()).select_from(ChannelIdentity).where(
                ChannelIdentity.patient_id.in_(ids)))).scalar_one())
            verified_by = "channel"
            if rules.needs_strong_identity(identities, len(ids)):
                if not cpf or birth_date is None:
                    raise Unprocessable("needs_identity",
                                        "informe CPF e data de nascimento para confirmarmos sua identidade",
                                        fields=["cpf", "birth_date"])
                records = [p for p in (await session.execute(
                    select(Patient).where(Patient.id.in_(ids)))).scalars().all() if p.cpf]
                record = next((p for p in records if p.id == ids[0]), records[0] if records else None)
                if record is None or not rules.identity_matches(record.cpf, record.birth_date, cpf, birth_date):
                    raise Forbidden("identity_mismatch",
                                    "não foi possível confirmar sua identidade com os dados informados")
                verified_by = "cpf_birth_date"
            existing = (await session.execute(
                select(PrivacyRequest).where(PrivacyRequest.patient_id == ids[0], PrivacyRequest.kind == kind,
                                             PrivacyRequest.status.in_([s.value for s in rules.PENDING]))
                .order_by(PrivacyRequest.id).limit(1))).scalar_one_or_none()
            if existing is not None and kind != RequestKind.REVOKE_CONSENT:
                return self._bot_view(existing)  # a retry of the same request
            row = await self._create(session, events, ids, kind, verified_by, details, conv)
            if kind == RequestKind.REVOKE_CONSENT:
                await self._revoke(session, row, conv.patient_id, None)
            return self._bot_view(row)

    async def open_for_patient(self, who: StaffIdentity, patient_id: int, kind: str,
                               details: str | None) -> dict[str, Any]:
        """Staff register a request made in person, by phone, e-mail… (verified by staff)."""
        kind = RequestKind(kind).value
        async with self.uow() as (session, events):
            if await session.get(Patient, patient_id) is None:
                raise NotFound("patient_not_found", "paciente não encontrado")
            ids = await person_ids(session, patient_id)
            row = await self._create(session, events, ids, kind, "staff", details, None, who)
            if kind == RequestKind.REVOKE_CONSENT:
                await self._revoke(session, row, patient_id, who)
            return request_view(row, utcnow(), self.warn_days)

    async def _create(self, session: AsyncSession, events: Events, ids: Sequence[int], kind: str, verified_by: str,
                      details: str | None, conv: Conversation | None, who: StaffIdentity | None = None
                      ) -> PrivacyRequest:
        now = utcnow()
        counts = await summary(session, ids)
        result: dict[str, Any] = {"summary": counts}
        if kind == RequestKind.ERASURE:
            result["legal_holds"] = [hold_view(h) for h in await legal_holds_of(session, ids, now.date())]
        text = (details or "").strip()[:DETAILS_MAX]
        row = PrivacyRequest(
            patient_id=ids[0], conversation_id=conv.id if conv else None, channel=conv.channel if conv else None,
            kind=kind, status=RequestStatus.OPEN.value, verified_by=verified_by,
            details={"text": text} if text else None, result=result, created_at=now, due_at=rules.due_at(now),
            simplified_answer_at=now, updated_at=now,
        )
        session.add(row)
        await session.flush()
        if conv is not None:
            session.add(ConversationEvent(conversation_id=conv.id, type=PRIVACY_EVENT, actor="bot",
                                          data={"request_id": row.id, "kind": kind}, created_at=now))
        audit(session, who, "privacy.request.open", ids[0], row.id, {"kind": kind, "verified_by": verified_by})
        staff_event(events, "privacy_request", row)
        return row

    async def _revoke(self, session: AsyncSession, row: PrivacyRequest, patient_id: int,
                      who: StaffIdentity | None) -> None:
        now = utcnow()
        session.add(ConsentRow(patient_id=patient_id, granted=False, version=REVOCATION_VERSION, created_at=now))
        row.status = RequestStatus.ANSWERED.value
        row.answered_at = now
        row.answered_by = who.id if who is not None else None
        row.result = {**(row.result or {}), "consent_revoked": True}
        row.updated_at = now
        audit(session, who, "privacy.consent.revoke", row.patient_id, row.id)

    def _bot_view(self, row: PrivacyRequest) -> dict[str, Any]:
        result = row.result or {}
        view = {"id": row.id, "kind": row.kind, "status": row.status, "due_at": iso(row.due_at),
                "summary": result.get("summary", {})}
        if "legal_holds" in result:
            view["legal_holds"] = result["legal_holds"]
        return view

    # -- staff --------------------------------------------------------------------------------------

    async def list_requests(self, who: StaffIdentity, *, status: str | None = None, kind: str | None = None,
                            patient_id: int | None = None, overdue: bool = False,
                            limit: int = 200) -> list[dict[str, Any]]:
        """Requests, pending ones by due date first."""
        now = utcnow()
        q = select(PrivacyRequest, Patient).outerjoin(Patient, Patient.id == PrivacyRequest.patient_id)
        if status:
            q = q.where(PrivacyRequest.status == status)
        if kind:
            q = q.where(PrivacyRequest.kind == kind)
        if patient_id:
            q = q.where(PrivacyRequest.patient_id == patient_id)
        if overdue:
            q = q.where(PrivacyRequest.status.in_([s.value for s in rules.PENDING]), PrivacyRequest.due_at < now)
        q = q.order_by(PrivacyRequest.status.in_([s.value for s in rules.PENDING]).desc(),
                       PrivacyRequest.due_at, PrivacyRequest.id).limit(limit)
        async with self.uow() as (session, _):
            rows = (await session.execute(q)).all()
            session.add(AuditLog(staff_id=who.id, action="privacy.request.list", subject=None, created_at=now,
                                 data={"count": len(rows)}))
        return [request_view(r, now, self.warn_days, p) for r, p in rows]

    async def _load(self, session: AsyncSession, request_id: int, *, lock: bool = False) -> PrivacyRequest:
        q = select(PrivacyRequest).where(PrivacyRequest.id == request_id)
        if lock and self.uow.dialect == "postgresql":
            q = q.with_for_update()
        row = (await session.execute(q)).scalar_one_or_none()
        if row is None:
            raise NotFound("not_found", "solicitação não encontrada")
        return row

    async def detail(self, who: StaffIdentity, request_id: int) -> dict[str, Any]:
        """A request with the patient's verified identity, what is held, and the legal holds."""
        now = utcnow()
        async with self.uow() as (session, _):
            row = await self._load(session, request_id)
            patient = await session.get(Patient, row.patient_id) if row.patient_id else None
            view = request_view(row, now, self.warn_days, patient)
            if patient is not None:
                ids = await person_ids(session, patient.id)
                identities = (await session.execute(
                    select(ChannelIdentity).where(ChannelIdentity.patient_id.in_(ids)).order_by(ChannelIdentity.id)
                )).scalars().all()
                view["patient"] = {
                    "id": patient.id, "name": patient.display_name, "phone": patient.phone, "email": patient.email,
                    "cpf": rules.mask_cpf(patient.cpf), "birth_date": iso(patient.birth_date),
                    "erased_at": iso(patient.erased_at), "linked_records": ids[1:],
                    "identities": [{"channel": i.channel, "external_id": i.external_id} for i in identities],
                }
                view["held"] = await summary(session, ids)
                view["legal_holds"] = [hold_view(h) for h in await legal_holds_of(session, ids, now.date())]
            if row.answered_by:
                answerer = await session.get(StaffUser, row.answered_by)
                view["answered_by_name"] = answerer.name if answerer else None
            audit(session, who, "privacy.request.read", row.patient_id, row.id)
        return view

    async def transition(self, who: StaffIdentity, request_id: int, status: str,
                         note: str | None = None) -> dict[str, Any]:
        """Move a request along the status table (answered/rejected are final)."""
        try:
            target = RequestStatus(status)
        except ValueError as exc:
            raise Invalid("invalid_status", "situação inválida") from exc
        async with self.uow() as (session, events):
            row = await self._load(session, request_id, lock=True)
            self._move(row, target, who, note)
            audit(session, who, f"privacy.request.{target.value}", row.patient_id, row.id)
            if target == RequestStatus.ANSWERED:
                told = await tell_patient(session, events, row, utcnow(), self.public_base_url,
                                          self.export_link_days)
                if told is not None:
                    row.result = {**(row.result or {}), "answer_message_id": told.id}
            staff_event(events, "privacy_request_changed", row)
            return request_view(row, utcnow(), self.warn_days)

    @staticmethod
    def _move(row: PrivacyRequest, target: RequestStatus, who: StaffIdentity, note: str | None) -> None:
        current = RequestStatus(row.status)
        if current == RequestStatus.OPEN and target == RequestStatus.ANSWERED:
            current = RequestStatus.IN_PROGRESS  # answering takes it through in_progress
        try:
            rules.next_status(current, target)
        except rules.IllegalRequestTransition as exc:
            raise Conflict("illegal_transition",
                           f"não é possível passar de {row.status} para {target.value}") from exc
        now = utcnow()
        row.status = target.value
        row.updated_at = now
        result = dict(row.result or {})
        if target == RequestStatus.IN_PROGRESS and result.get("assignee_id") is None:
            result["assignee_id"] = who.id
        if target in (RequestStatus.ANSWERED, RequestStatus.REJECTED):
            row.answered_at = now
            row.answered_by = who.id
            if note:
                result["note" if target == RequestStatus.ANSWERED else "rejection_reason"] = note.strip()[:1000]
        row.result = result

    async def assign(self, who: StaffIdentity, request_id: int, staff_id: int) -> dict[str, Any]:
        """Give the request to a staff member (it moves to in_progress)."""
        async with self.uow() as (session, events):
            row = await self._load(session, request_id, lock=True)
            target = await session.get(StaffUser, staff_id)
            if target is None or not target.active:
                raise NotFound("staff_not_found", "pessoa da equipe não encontrada")
            if row.status not in (RequestStatus.OPEN, RequestStatus.IN_PROGRESS):
                raise Conflict("illegal_transition", "a solicitação já foi encerrada")
            row.result = {**(row.result or {}), "assignee_id": staff_id}
            if row.status == RequestStatus.OPEN:
                row.status = RequestStatus.IN_PROGRESS.value
            row.updated_at = utcnow()
            audit(session, who, "privacy.request.assign", row.patient_id, row.id, {"assignee_id": staff_id})
            staff_event(events, "privacy_request_changed", row)
            return request_view(row, utcnow(), self.warn_days)

    async def correct(self, who: StaffIdentity, request_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Correct the patient's name, e-mail, phone and/or birth date (validated, audit-logged
        with the field names, never the values)."""
        today = utcnow().date()
        cleaned: dict[str, Any] = {}
        try:
            if changes.get("name") is not None:
                cleaned["display_name"] = rules.clean_name(str(changes["name"]))
            if changes.get("email") is not None:
                cleaned["email"] = rules.clean_email(str(changes["email"]))
            if changes.get("phone") is not None:
                cleaned["phone"] = rules.clean_phone(str(changes["phone"]))
            if changes.get("birth_date") is not None:
                cleaned["birth_date"] = rules.clean_birth_date(changes["birth_date"], today)
        except rules.InvalidCorrection as exc:
            raise Invalid("invalid_" + exc.field, exc.message, field=exc.field) from exc
        if not cleaned:
            raise Invalid("nothing_to_correct", "informe ao menos um campo para corrigir")
        async with self.uow() as (session, events):
            row = await self._load(session, request_id, lock=True)
            if row.status not in (RequestStatus.OPEN, RequestStatus.IN_PROGRESS):
                raise Conflict("illegal_transition", "a solicitação já foi encerrada")
            patient = await session.get(Patient, row.patient_id) if row.patient_id else None
            if patient is None or patient.erased_at is not None:
                raise Conflict("patient_erased", "os dados deste paciente foram eliminados")
            for key, value in cleaned.items():
                setattr(patient, key, value)
            fields = sorted("name" if k == "display_name" else k for k in cleaned)
            result = dict(row.result or {})
            result["corrected_fields"] = sorted(set(result.get("corrected_fields", [])) | set(fields))
            result.setdefault("assignee_id", who.id)
            row.result = result
            if row.status == RequestStatus.OPEN:
                row.status = RequestStatus.IN_PROGRESS.value
            row.updated_at = utcnow()
            audit(session, who, "privacy.correction", patient.id, row.id, {"fields": fields})
            staff_event(events, "privacy_request_changed", row)
            return request_view(row, utcnow(), self.warn_days, patient)
