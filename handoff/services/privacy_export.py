"""Export of everything held about a person (LGPD Art. 18 II and V): a ZIP streamed in chunks
(`data.json` + `attachments/…`) and a readable PDF.

The ZIP is produced while it is sent: messages are read in keyset batches (`BATCH` rows per
short transaction, so SQLite's single connection is never held across a network write) and
written into a deflated `data.json` entry whose compressed bytes are handed out after each
batch; attachments are copied from the `AttachmentStore` in chunks. Memory stays bounded by a
batch, whatever the number of messages. Every export writes an audit row (`privacy.export`,
patient id, reason = the request) before the first byte.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.attachments import PREFIX as LOCAL_PREFIX
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.pdf import PdfDocument
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    AppointmentRow,
    AuditLog,
    BoletoRow,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    CsatResponse,
    ExamResultRow,
    ExamRow,
    LegalHold,
    Message,
    Patient,
    PrivacyRequest,
    StaffUser,
)
from handoff.adapters.sql.privacy_store import person_ids
from handoff.domain import privacy as rules
from handoff.domain.errors import NotFound
from handoff.domain.privacy import RequestStatus
from handoff.services.attachments import OCTET_STREAM, safe_filename
from handoff.services.privacy_answer import EXPORT_KINDS, link_valid
from handoff.services.privacy_common import (
    audit,
    conversation_ids,
    hold_view,
    iso,
    legal_holds_of,
    summary,
)
from handoff.services.unit_of_work import UnitOfWork

BATCH = 500
FILE_CHUNK = 256 * 1024
FORMAT_VERSION = 1


class _Sink:
    """A write-only, unseekable file for `zipfile` (streaming mode: data descriptors)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def write(self, data: bytes) -> int:
        self._buf += data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


@dataclass
class _Attachment:
    message_id: int
    index: int
    reference: str | None
    name: str
    content_type: str
    path: str | None = None  # inside the ZIP


@dataclass
class ExportPlan:
    """What an export covers (ids only), decided and audited before streaming."""

    request_id: int
    patient_id: int
    ids: list[int]
    conversation_ids: list[str]
    attachments: list[_Attachment] = field(default_factory=list)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_iso_default)


def _iso_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _message_view(m: Message, plan: ExportPlan) -> dict[str, Any]:
    payload = dict(m.payload or {})
    files = []
    for index, entry in enumerate(payload.get("attachments") or []):
        if not isinstance(entry, dict):
            continue
        url = entry.get("url")
        local = url if isinstance(url, str) and url.startswith(LOCAL_PREFIX) else None
        content_type = str(entry.get("content_type") or OCTET_STREAM)
        name = safe_filename(entry.get("filename"), content_type, index)
        att = _Attachment(m.id, index, local, name, content_type)
        plan.attachments.append(att)
        files.append({"index": index, "filename": name, "content_type": content_type, "size": entry.get("size"),
                      "file": f"attachments/{m.id}-{index + 1}-{name}" if local else None,
                      "stored_here": local is not None})
    return {"id": m.id, "direction": m.direction, "sender": m.sender, "channel": m.channel, "text": m.text,
            "payload": {k: v for k, v in payload.items() if k != "attachments"}, "attachments": files,
            "status": m.status, "intent": m.intent, "reason": m.reason, "created_at": iso(m.created_at),
            "redacted_at": iso(m.redacted_at)}


class PrivacyExport:
    """Builds the export of a request's patient."""

    def __init__(self, uow: UnitOfWork, store: AttachmentStore) -> None:
        self.uow = uow
        self.store = store

    async def plan(self, who: Any, request_id: int, fmt: str) -> ExportPlan:
        """Check the request, write the audit row (before any byte leaves) and return the plan."""
        async with self.uow() as (session, _):
            row = await session.get(PrivacyRequest, request_id)
            if row is None or row.patient_id is None:
                raise NotFound("not_found", "solicitação não encontrada")
            ids = await person_ids(session, row.patient_id)
            convs = await conversation_ids(session, ids)
            audit(session, who, "privacy.export", ids[0], row.id, {"format": fmt, "conversations": len(convs)})
            if row.status == RequestStatus.OPEN:
                row.status = RequestStatus.IN_PROGRESS.value
            row.result = {**(row.result or {}), "exported_at": iso(utcnow()),
                          "assignee_id": (row.result or {}).get("assignee_id") or getattr(who, "id", None)}
            row.updated_at = utcnow()
        return ExportPlan(request_id, ids[0], ids, convs)

    async def plan_for_link(self, request_id: int, token: str, fmt: str) -> ExportPlan | None:
        """The export opened by the patient's capability link (`privacy_answer`): None when the
        token is unknown or expired; otherwise audited as `privacy.export.download` (no staff)."""
        now = utcnow()
        async with self.uow() as (session, _):
            row = await session.get(PrivacyRequest, request_id)
            if row is None or row.patient_id is None or row.kind not in EXPORT_KINDS \
                    or not link_valid(row, token, now):
                return None
            patient = await session.get(Patient, row.patient_id)
            if patient is None or patient.erased_at is not None:
                return None
            ids = await person_ids(session, row.patient_id)
            convs = await conversation_ids(session, ids)
            audit(session, None, "privacy.export.download", ids[0], row.id,
                  {"format": fmt, "conversations": len(convs)})
        return ExportPlan(request_id, ids[0], ids, convs)

    # -- sections ---------------------------------------------------------------------------------

    async def _head(self, session: AsyncSession, plan: ExportPlan) -> dict[str, Any]:
        ids = plan.ids
        patients = (await session.execute(select(Patient).where(Patient.id.in_(ids)).order_by(Patient.id))
                    ).scalars().all()
        identities = (await session.execute(select(ChannelIdentity).where(ChannelIdentity.patient_id.in_(ids))
                                            .order_by(ChannelIdentity.id))).scalars().all()
        appointments = (await session.execute(select(AppointmentRow).where(AppointmentRow.patient_id.in_(ids))
                                              .order_by(AppointmentRow.starts_at))).scalars().all()
        exams = (await session.execute(select(ExamResultRow, ExamRow).join(ExamRow, ExamRow.id == ExamResultRow.exam_id)
                                       .where(ExamResultRow.patient_id.in_(ids)).order_by(ExamResultRow.collected_at))
                 ).all()
        boletos = (await session.execute(select(BoletoRow).where(BoletoRow.patient_id.in_(ids))
                                         .order_by(BoletoRow.due_date))).scalars().all()
        consents = (await session.execute(select(ConsentRow).where(ConsentRow.patient_id.in_(ids))
                                          .order_by(ConsentRow.id))).scalars().all()
        csat = (await session.execute(select(CsatResponse).where(CsatResponse.conversation_id.in_(
            plan.conversation_ids or [""])).order_by(CsatResponse.id))).scalars().all() if plan.conversation_ids else []
        requests = (await session.execute(select(PrivacyRequest).where(PrivacyRequest.patient_id.in_(ids))
                                          .order_by(PrivacyRequest.id))).scalars().all()
        holds = (await session.execute(select(LegalHold).where(LegalHold.patient_id.in_(ids)))).scalars().all()
        today = utcnow().date()
        return {
            "format": "atende-lgpd-export", "version": FORMAT_VERSION, "generated_at": iso(utcnow()),
            "request_id": plan.request_id,
            "patient": [{"id": p.id, "name": p.display_name, "phone": p.phone, "email": p.email, "cpf": p.cpf,
                         "birth_date": iso(p.birth_date), "created_at": iso(p.created_at),
                         "erased_at": iso(p.erased_at)} for p in patients],
            "identities": [{"channel": i.channel, "external_id": i.external_id, "created_at": iso(i.created_at)}
                           for i in identities],
            "appointments": [{"id": a.id, "doctor_id": a.doctor_id, "starts_at": iso(a.starts_at),
                              "ends_at": iso(a.ends_at), "status": a.status, "created_at": iso(a.created_at)}
                             for a in appointments],
            "exam_results": [{"id": r.id, "exam": e.slug, "exam_name": e.name, "status": r.status,
                              "collected_at": iso(r.collected_at), "ready_at": iso(r.ready_at)} for r, e in exams],
            "boletos": [{"id": b.id, "description": b.description, "amount_cents": b.amount_cents,
                         "due_date": iso(b.due_date), "paid_at": iso(b.paid_at), "barcode": b.barcode,
                         "created_at": iso(b.created_at)} for b in boletos],
            "consents": [{"granted": c.granted, "version": c.version, "at": iso(c.created_at)} for c in consents],
            "csat": [{"conversation_id": c.conversation_id, "score": c.score, "nps": c.nps,
                      "at": iso(c.created_at)} for c in csat],
            "privacy_requests": [{"id": r.id, "kind": r.kind, "status": r.status, "created_at": iso(r.created_at),
                                  "due_at": iso(r.due_at), "answered_at": iso(r.answered_at)} for r in requests],
            "legal_holds": [hold_view(h) for h in await legal_holds_of(session, ids, today)],
            "legal_hold_records": [{"category": h.category, "basis": h.basis, "until": iso(h.until),
                                    "released_at": iso(h.released_at)} for h in holds],
            "summary": await summary(session, ids),
        }

    async def _conversation(self, session: AsyncSession, conv_id: str) -> dict[str, Any]:
        c = await session.get(Conversation, conv_id)
        assert c is not None
        return {"id": c.id, "channel": c.channel, "state": c.state, "reason": c.reason,
                "created_at": iso(c.created_at), "resolved_at": iso(c.resolved_at),
                "outcome": c.outcome, "tags": c.tags}

    async def _messages(self, conv_id: str, after: int) -> list[Message]:
        async with self.uow() as (session, _):
            return list((await session.execute(
                select(Message).where(Message.conversation_id == conv_id, Message.id > after)
                .order_by(Message.id).limit(BATCH))).scalars().all())

    async def _accesses(self, plan: ExportPlan) -> list[dict[str, Any]]:
        subjects = [f"patient:{i}" for i in plan.ids] + [f"conversation:{c}" for c in plan.conversation_ids]
        subjects += [f"message:{a.message_id}/attachment:{a.index}" for a in plan.attachments]
        async with self.uow() as (session, _):
            rows = (await session.execute(
                select(AuditLog, StaffUser).outerjoin(StaffUser, StaffUser.id == AuditLog.staff_id)
                .where(or_(AuditLog.patient_id.in_(plan.ids), AuditLog.subject.in_(subjects)))
                .order_by(AuditLog.id))).all()
        return [{"at": iso(a.created_at), "action": a.action, "staff": s.name if s else None,
                 "staff_role": s.role if s else None, "subject": a.subject, "reason": a.reason} for a, s in rows]

    # -- the ZIP ----------------------------------------------------------------------------------

    async def zip_stream(self, plan: ExportPlan) -> AsyncIterator[bytes]:
        """The ZIP, chunk by chunk (`data.json`, then every stored attachment)."""
        sink = _Sink()
        zf = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)  # type: ignore[call-overload]
        with zf:
            with zf.open("data.json", "w", force_zip64=True) as out:
                async with self.uow() as (session, _):
                    head = await self._head(session, plan)
                out.write(_dump(head)[:-1].encode())
                out.write(b', "conversations": [')
                for n, conv_id in enumerate(plan.conversation_ids):
                    async with self.uow() as (session, _):
                        conv = await self._conversation(session, conv_id)
                    out.write((", " if n else "").encode() + _dump(conv)[:-1].encode() + b', "messages": [')
                    after, first = 0, True
                    while True:
                        batch = await self._messages(conv_id, after)
                        if not batch:
                            break
                        for m in batch:
                            out.write((b"" if first else b", ") + _dump(_message_view(m, plan)).encode())
                            first = False
                        after = batch[-1].id
                        chunk = sink.take()
                        if chunk:
                            yield chunk
                    out.write(b"]}")
                out.write(b"], \"staff_accesses\": " + _dump(await self._accesses(plan)).encode() + b"}")
            yield sink.take()
            for att in plan.attachments:
                path = self.store.path_of(att.reference) if att.reference else None
                if path is None:
                    continue
                with zf.open(f"attachments/{att.message_id}-{att.index + 1}-{att.name}", "w",
                             force_zip64=True) as out, path.open("rb") as fh:
                    while True:
                        data = await asyncio.to_thread(fh.read, FILE_CHUNK)
                        if not data:
                            break
                        out.write(data)
                        yield sink.take()
        yield sink.take()  # the central directory

    # -- the PDF ----------------------------------------------------------------------------------

    async def pdf(self, plan: ExportPlan, clinic_name: str = "Clínica") -> bytes:
        """A readable copy: identification, what is held, clinic data, consents, accesses and the
        conversations (messages read in batches)."""
        async with self.uow() as (session, _):
            head = await self._head(session, plan)
        doc = PdfDocument(f"Seus dados - {clinic_name}")
        doc.line(f"{clinic_name} - Relatório de dados pessoais (LGPD, art. 18)", 14, "bold")
        doc.line(f"Solicitação nº {plan.request_id} - gerado em {head['generated_at']}", 9)
        doc.space()

        def section(title: str) -> None:
            doc.space(6)
            doc.line(title, 12, "bold")

        section("Identificação")
        for p in head["patient"]:
            doc.line(f"Nome: {p['name'] or '-'}  Telefone: {p['phone'] or '-'}  E-mail: {p['email'] or '-'}")
            doc.line(f"CPF: {rules.mask_cpf(p['cpf']) or '-'}  Nascimento: {p['birth_date'] or '-'}")
        for i in head["identities"]:
            doc.line(f"Canal {i['channel']}: {i['external_id']}", 9)
        section("Dados mantidos (quantidades)")
        for key, value in head["summary"].items():
            doc.line(f"{key}: {', '.join(value) if isinstance(value, list) else value}", 9)
        section("Consultas")
        for a in head["appointments"] or [{"starts_at": "nenhuma", "status": ""}]:
            doc.line(f"{a['starts_at']} {a['status']}", 9)
        section("Exames")
        for r in head["exam_results"] or [{"exam_name": "nenhum", "collected_at": "", "status": ""}]:
            doc.line(f"{r['exam_name']} - coleta {r['collected_at']} - {r['status']}", 9)
        section("Boletos")
        for b in head["boletos"] or [{"description": "nenhum", "amount_cents": 0, "due_date": "", "paid_at": None}]:
            doc.line(f"{b['description']} - R$ {b['amount_cents'] / 100:.2f} - vencimento {b['due_date']}"
                     f" - {'pago' if b['paid_at'] else 'em aberto'}", 9)
        section("Consentimentos")
        for c in head["consents"] or [{"granted": None, "version": "-", "at": ""}]:
            state = {True: "concedido", False: "recusado/revogado", None: "nenhum registro"}[c["granted"]]
            doc.line(f"{c['at']} {state} (versão {c['version']})", 9)
        section("Dados sob guarda legal")
        for h in head["legal_holds"] or [{"label": "nenhum", "until": "", "basis": ""}]:
            doc.line(f"{h['label']} até {h['until']} - {h['basis']}", 9)
        section("Quem acessou seus dados")
        for a in await self._accesses(plan):
            doc.line(f"{a['at']} {a['staff'] or 'sistema'} ({a['staff_role'] or '-'}): {a['action']}", 8)
        section("Conversas")
        for conv_id in plan.conversation_ids:
            async with self.uow() as (session, _):
                conv = await self._conversation(session, conv_id)
            doc.line(f"Conversa {conv['id']} ({conv['channel']}) iniciada em {conv['created_at']}", 10, "bold")
            after = 0
            while True:
                batch = await self._messages(conv_id, after)
                if not batch:
                    break
                for m in batch:
                    who = {"patient": "Você", "bot": "Assistente", "agent": "Atendente"}.get(m.sender, m.sender)
                    doc.line(f"[{iso(m.created_at)}] {who}: {m.text or '(sem texto)'}", 8, indent=8)
                after = batch[-1].id
        return doc.to_bytes()
