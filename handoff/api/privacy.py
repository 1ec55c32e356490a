"""Data-subject requests over HTTP (docs/CONTRACTS.md, "Data-subject requests").

Staff (`/api/privacy/requests…`): who may is decided by the access matrix
(`handoff.domain.access`, category `privacy_requests`: managers, admins and any account with the
`privacy_officer` grant). The bot (`POST /api/clinic/privacy-requests`): the clinic API's
service token, acting for the patient of the conversation.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw

from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.tracker_store import TrackerStore
from handoff.api.auth import error, parse_body, require_access
from handoff.api.clinic import require_service_or_staff
from handoff.domain import access
from handoff.services.email_channel import attachments_root
from handoff.services.privacy_erasure import PrivacyErasure
from handoff.services.privacy_export import ExportPlan, PrivacyExport
from handoff.services.privacy_requests import PrivacyService
from handoff.services.staff import StaffIdentity

bp = Blueprint("privacy", url_prefix="/api/privacy")
bot_bp = Blueprint("privacy_bot", url_prefix="/api/clinic")
log = logging.getLogger(__name__)

Kind = Literal["access", "export", "correction", "erasure", "revoke_consent"]
CATEGORY = "privacy_requests"


def can_handle_privacy(staff: StaffIdentity | None, action: str = "view") -> bool:
    """The one check: the access matrix's `privacy_requests` category (role + grants)."""
    return access.can(staff, action, CATEGORY)


class BotRequestBody(BaseModel):
    """`POST /api/clinic/privacy-requests`."""

    conversation_id: str = Field(min_length=1, max_length=64)
    kind: Kind
    cpf: str | None = Field(default=None, max_length=20)
    birth_date: date | None = None
    details: str | None = Field(default=None, max_length=2000)


class StaffRequestBody(BaseModel):
    """`POST /api/privacy/requests`: a request made to staff for a patient."""

    patient_id: int = Field(gt=0)
    kind: Kind
    details: str | None = Field(default=None, max_length=2000)


class TransitionBody(BaseModel):
    """`POST /api/privacy/requests/<id>/transition`."""

    status: Literal["in_progress", "answered", "rejected"]
    note: str | None = Field(default=None, max_length=1000)


class NoteBody(BaseModel):
    """`answer` / `reject`."""

    note: str | None = Field(default=None, max_length=1000)


class AssignBody(BaseModel):
    """`POST /api/privacy/requests/<id>/assign`."""

    staff_id: int = Field(gt=0)


class CorrectionBody(BaseModel):
    """`POST /api/privacy/requests/<id>/correction`: the fields to correct."""

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    birth_date: date | None = None


class ErasureBody(BaseModel):
    """`POST /api/privacy/requests/<id>/erasure`: an explicit confirmation."""

    confirm: Literal[True]


def build(app: Any) -> None:
    """Attach the services (called from `create_app`'s start-up listener, after the runtime)."""
    runtime = app.ctx.runtime
    s = runtime.settings
    store = AttachmentStore(attachments_root(s))
    app.ctx.privacy = PrivacyService(runtime.uow, s.privacy_escalate_days, s.public_base_url,
                                     s.privacy_export_link_days)
    app.ctx.privacy_export = PrivacyExport(runtime.uow, store)
    app.ctx.privacy_erasure = PrivacyErasure(runtime.uow, store, TrackerStore(s.rasa_tracker_store_url or None))


def _svc(request: Request) -> PrivacyService:
    if getattr(request.app.ctx, "privacy", None) is None:
        build(request.app)
    service: PrivacyService = request.app.ctx.privacy
    return service


# -- the bot ---------------------------------------------------------------------------------------


@bot_bp.post("/privacy-requests")
@require_service_or_staff()
async def bot_open(request: Request) -> HTTPResponse:
    """The bot opens a request for the patient of its conversation (service token only: a staff
    token must use `/api/privacy/requests`)."""
    if request.ctx.staff is not None:
        return error(403, "forbidden", "use /api/privacy/requests")
    body = parse_body(request, BotRequestBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, BotRequestBody)
    view = await _svc(request).open_from_conversation(body.conversation_id, body.kind, body.cpf, body.birth_date,
                                                      body.details)
    log.info("privacy request %d opened by the bot (%s)", view["id"], view["kind"])
    return json(view, status=201)


# -- staff -----------------------------------------------------------------------------------------


def _who(request: Request) -> StaffIdentity:
    who: StaffIdentity = request.ctx.staff
    return who


@bp.get("/requests")
@require_access("view", CATEGORY)
async def list_requests(request: Request) -> HTTPResponse:
    """`?status=&kind=&patient_id=&overdue=1`."""
    args = request.args
    patient = args.get("patient_id")
    if patient is not None and not patient.isdigit():
        return error(400, "invalid_patient_id", "patient_id deve ser um número")
    items = await _svc(request).list_requests(
        _who(request), status=args.get("status") or None, kind=args.get("kind") or None,
        patient_id=int(patient) if patient else None, overdue=args.get("overdue") in ("1", "true"))
    return json({"items": items})


@bp.post("/requests")
@require_access("change", CATEGORY)
async def create_request(request: Request) -> HTTPResponse:
    """A request registered by staff for a patient."""
    body = parse_body(request, StaffRequestBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, StaffRequestBody)
    return json(await _svc(request).open_for_patient(_who(request), body.patient_id, body.kind, body.details),
                status=201)


@bp.get("/requests/<request_id:int>")
@require_access("view", CATEGORY)
async def get_request(request: Request, request_id: int) -> HTTPResponse:
    """A request with the patient's verified identity, what is held and the legal holds."""
    return json(await _svc(request).detail(_who(request), request_id))


@bp.post("/requests/<request_id:int>/transition")
@require_access("change", CATEGORY)
async def transition(request: Request, request_id: int) -> HTTPResponse:
    """Move along open -> in_progress -> answered | rejected."""
    body = parse_body(request, TransitionBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, TransitionBody)
    return json(await _svc(request).transition(_who(request), request_id, body.status, body.note))


async def _close(request: Request, request_id: int, status: str) -> HTTPResponse:
    body = parse_body(request, NoteBody) if request.body else NoteBody()
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, NoteBody)
    return json(await _svc(request).transition(_who(request), request_id, status, body.note))


@bp.post("/requests/<request_id:int>/answer")
@require_access("change", CATEGORY)
async def answer(request: Request, request_id: int) -> HTTPResponse:
    """The complete answer was given (`note`: what was answered)."""
    return await _close(request, request_id, "answered")


@bp.post("/requests/<request_id:int>/reject")
@require_access("change", CATEGORY)
async def reject(request: Request, request_id: int) -> HTTPResponse:
    """Refuse the request (`note`: the reason given to the patient)."""
    return await _close(request, request_id, "rejected")


@bp.post("/requests/<request_id:int>/assign")
@require_access("change", CATEGORY)
async def assign(request: Request, request_id: int) -> HTTPResponse:
    """Give the request to a staff member."""
    body = parse_body(request, AssignBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, AssignBody)
    return json(await _svc(request).assign(_who(request), request_id, body.staff_id))


@bp.post("/requests/<request_id:int>/correction")
@require_access("change", CATEGORY)
async def correction(request: Request, request_id: int) -> HTTPResponse:
    """Correct name, e-mail, phone and/or birth date (validated; audit-logged)."""
    body = parse_body(request, CorrectionBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, CorrectionBody)
    return json(await _svc(request).correct(_who(request), request_id, body.model_dump(exclude_none=True)))


@bp.post("/requests/<request_id:int>/erasure")
@require_access("change", CATEGORY)
async def erasure(request: Request, request_id: int) -> HTTPResponse:
    """Erase/anonymise the patient (body `{"confirm": true}`); legal holds are kept and listed."""
    body = parse_body(request, ErasureBody)
    if isinstance(body, HTTPResponse):
        return body
    _svc(request)
    result = await request.app.ctx.privacy_erasure.erase(_who(request), request_id)
    log.info("privacy request %d: erasure done", request_id)
    return json(result)


# -- the patient's capability link (sent with the answer; the link itself is the credential) ---------

_LINK_TOKEN = re.compile(r"^[A-Za-z0-9_-]{40,64}$")
_LINK_GONE = "link inválido ou expirado: peça um novo link à clínica"


_EXPORT_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The patient's links also keep the token out of the Referer of anything the file links to.
_LINK_HEADERS = {**_EXPORT_HEADERS, "Referrer-Policy": "no-referrer"}


async def _send_zip(request: Request, plan: ExportPlan, headers: dict[str, str]) -> None:
    """Stream the export ZIP of `plan` as the response."""
    exporter: PrivacyExport = request.app.ctx.privacy_export
    response = await request.respond(content_type="application/zip", headers=headers)
    async for chunk in exporter.zip_stream(plan):
        if chunk:
            await response.send(chunk)
    await response.eof()


async def _pdf(request: Request, plan: ExportPlan) -> bytes:
    """The readable PDF of `plan`, titled with the clinic's name."""
    exporter: PrivacyExport = request.app.ctx.privacy_export
    clinic = getattr(request.app.ctx, "clinic", None)
    info = await clinic.info() if clinic is not None else None
    return await exporter.pdf(plan, getattr(info, "name", None) or "Clínica")


async def _link_plan(request: Request, request_id: int, token: str, fmt: str) -> ExportPlan | None:
    _svc(request)
    exporter: PrivacyExport = request.app.ctx.privacy_export
    return await exporter.plan_for_link(request_id, token, fmt) if _LINK_TOKEN.match(token) else None


@bp.get("/exportacao/<request_id:int>/<token:str>/dados.zip")
async def link_zip(request: Request, request_id: int, token: str) -> HTTPResponse | None:
    """The export ZIP, opened from the link sent to the patient (no login; audit-logged)."""
    plan = await _link_plan(request, request_id, token, "zip")
    if plan is None:
        return error(404, "link_not_found", _LINK_GONE)
    await _send_zip(request, plan, {"Content-Disposition": 'attachment; filename="meus-dados.zip"', **_LINK_HEADERS})
    return None


@bp.get("/exportacao/<request_id:int>/<token:str>/dados.pdf")
async def link_pdf(request: Request, request_id: int, token: str) -> HTTPResponse:
    """The readable PDF, opened from the link sent to the patient (no login; audit-logged)."""
    plan = await _link_plan(request, request_id, token, "pdf")
    if plan is None:
        return error(404, "link_not_found", _LINK_GONE)
    return raw(await _pdf(request, plan), content_type="application/pdf",
               headers={"Content-Disposition": 'attachment; filename="meus-dados.pdf"', **_LINK_HEADERS})


@bp.get("/requests/<request_id:int>/export.zip")
@require_access("export", CATEGORY)
async def export_zip(request: Request, request_id: int) -> HTTPResponse | None:
    """Everything held about the patient: `data.json` + `attachments/…`, streamed."""
    _svc(request)
    exporter: PrivacyExport = request.app.ctx.privacy_export
    plan = await exporter.plan(_who(request), request_id, "zip")
    await _send_zip(request, plan, {"Content-Disposition": f'attachment; filename="dados-solicitacao-{request_id}.zip"',
                                    **_EXPORT_HEADERS})
    return None


@bp.get("/requests/<request_id:int>/export.pdf")
@require_access("export", CATEGORY)
async def export_pdf(request: Request, request_id: int) -> HTTPResponse:
    """A readable copy of the same data."""
    _svc(request)
    exporter: PrivacyExport = request.app.ctx.privacy_export
    plan = await exporter.plan(_who(request), request_id, "pdf")
    return raw(await _pdf(request, plan), content_type="application/pdf",
               headers={"Content-Disposition": f'attachment; filename="dados-solicitacao-{request_id}.pdf"',
                        **_EXPORT_HEADERS})
