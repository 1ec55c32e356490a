"""Reminders over HTTP (issue 15; docs/CONTRACTS.md, "Reminders").

- `GET /api/reminders?appointment_id=`: one appointment's reminder history (patient records).
- `GET /api/reminders/stats?from=&to=`: sent, delivered, read, confirmed, cancelled with lead
  time, by specialty, doctor and weekday (metrics).
- Settings (/lembretes; access category "reminder_settings", managers and admins; changes are
  audit-logged): `GET|PUT /api/reminders/rules` (schedule per specialty + the default),
  `GET|PUT /api/reminders/texts` (the clinic's text per kind; unknown placeholders -> 400),
  `POST /api/reminders/preview` {kind, channel, body?} (the text as that channel shows it, for a
  sample appointment), `POST /api/reminders/test` {kind, body?} (that e-mail reminder to the
  caller's own address; 409 when the e-mail channel is not configured).
- `GET|POST /lembrete/<token>/confirmar`: the public page of an e-mail reminder's confirm link.
  The token is a capability (only its SHA-256 is stored); GET shows the appointment and a button,
  POST confirms it through the clinic service. Nothing here logs personal data.
"""

from __future__ import annotations

import json as jsonlib
import logging
from datetime import timedelta
from html import escape
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, json

from connectors.base import ChannelError
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AppointmentRow
from handoff.api.auth import error, require_access
from handoff.api.clinic import _audit, _parse_when, _patient_scope
from handoff.api.errors import render
from handoff.domain.errors import Unavailable
from handoff.services.clinic import ClinicError, ClinicService, not_found
from handoff.services.reminders import (
    ReminderService,
    ReminderSettingsError,
    check_body,
    check_kind,
    check_rule,
    when_text,
)

staff_bp = Blueprint("reminders_staff", url_prefix="/api/reminders")
public_bp = Blueprint("reminders_public", url_prefix="/lembrete")

PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
MAX_STATS_DAYS = 370
log = logging.getLogger(__name__)


def _service(request: Request) -> ReminderService:
    return ReminderService(request.app.ctx.uow, request.app.ctx.settings)


def _body(request: Request) -> dict[str, Any]:
    """The JSON object of a request (a pt-BR 400 otherwise)."""
    try:
        data = jsonlib.loads(request.body or b"")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ReminderSettingsError("invalid_body", "Envie os dados como um objeto JSON.")
    return data


@staff_bp.get("/rules")
@require_access("view", "reminder_settings")
async def get_rules(request: Request) -> HTTPResponse:
    """The default schedule and each specialty's (null = follows the default)."""
    return json(await _service(request).rules_view())


@staff_bp.put("/rules")
@require_access("change", "reminder_settings")
async def put_rule(request: Request) -> HTTPResponse:
    """Set one schedule: {specialty_id: null|id, offsets_hours, morning_of, enabled}, or
    {specialty_id: id, inherit: true} to make the specialty follow the default again."""
    data = _body(request)
    raw = data.get("specialty_id")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise ReminderSettingsError("invalid_body", "specialty_id deve ser o número da especialidade ou null.")
    rule = None if data.get("inherit") is True and raw is not None else check_rule(data)
    await _service(request).save_rule(raw, rule, utcnow())
    await _audit(request, "reminders.rules_change", f"specialty:{raw if raw is not None else 'default'}")
    return json(await _service(request).rules_view())


@staff_bp.get("/texts")
@require_access("view", "reminder_settings")
async def get_texts(request: Request) -> HTTPResponse:
    """The text of every reminder kind (null = built-in), placeholders, the WhatsApp template."""
    return json(await _service(request).texts_view())


@staff_bp.put("/texts")
@require_access("change", "reminder_settings")
async def put_text(request: Request) -> HTTPResponse:
    """Save {kind, body}; a null or blank body returns the kind to the built-in text."""
    data = _body(request)
    kind, body = check_kind(data.get("kind")), check_body(data.get("body"))
    who = getattr(request.ctx, "staff", None)
    await _service(request).save_text(kind, body, who.id if who is not None else None, utcnow())
    await _audit(request, "reminders.text_change", f"reminder_text:{kind}")
    return json(await _service(request).texts_view())


@staff_bp.post("/preview")
@require_access("view", "reminder_settings")
async def preview(request: Request) -> HTTPResponse:
    """{kind, channel, body?}: the reminder as the channel shows it, for a sample appointment
    (`body` = the draft being edited; absent = the saved text)."""
    data = _body(request)
    kind = check_kind(data.get("kind"))
    body = check_body(data.get("body")) if "body" in data else None
    channel = data.get("channel")
    return json(await _service(request).preview(kind, str(channel), body, utcnow(), use_stored="body" not in data))


@staff_bp.post("/test")
@require_access("change", "reminder_settings")
async def send_test(request: Request) -> HTTPResponse:
    """{kind, body?}: send that e-mail reminder (sample data) to the caller's own address."""
    data = _body(request)
    kind = check_kind(data.get("kind"))
    body = check_body(data.get("body")) if "body" in data else None
    runtime = request.app.ctx.runtime
    sender = runtime.senders.get("email")
    who = request.ctx.staff
    if sender is None:
        return error(409, "email_not_configured",
                     "O canal de e-mail não está configurado (EMAIL_SMTP_HOST e EMAIL_FROM); "
                     "não há como enviar o teste.")
    if who is None or not getattr(who, "email", None):
        return error(409, "no_staff_email", "Sua conta não tem e-mail cadastrado.")
    try:
        await _service(request).send_test(sender, who.email, kind, body, utcnow())
    except ChannelError as exc:
        log.warning("reminder test e-mail failed: %s", type(exc).__name__)
        return error(502, "send_failed", "O servidor de e-mail recusou o envio do teste. Tente de novo mais tarde.")
    await _audit(request, "reminders.test_send", f"reminder_text:{kind}")
    return json({"sent_to": who.email})


@staff_bp.get("")
@require_access("view", "patient_record")
async def history(request: Request) -> HTTPResponse:
    """The reminders of `appointment_id`, oldest first, with delivery status and derived reply.
    Within the caller's patient scope (an attendant: a patient whose conversation they see), as
    the rest of the patient record; the access is audited."""
    raw = request.args.get("appointment_id") or ""
    if not raw.isdigit():
        return error(400, "invalid_query", "appointment_id is required")
    appointment_id = int(raw)
    async with request.app.ctx.uow() as (session, _):
        appt = await session.get(AppointmentRow, appointment_id)
        patient_id = appt.patient_id if appt is not None else None
    if patient_id is None:
        return render(not_found("appointment"))
    refused = await _patient_scope(request, patient_id, "appointment")
    if refused is not None:
        return refused
    await _audit(request, "reminders.history", f"appointment:{appointment_id}", patient_id=patient_id)
    return json({"reminders": await _service(request).history(appointment_id)})


@staff_bp.get("/stats")
@require_access("view", "metrics")
async def stats(request: Request) -> HTTPResponse:
    """Counts of reminders sent in [from, to) (default: the last 7 days)."""
    end = _parse_when(request.args.get("to"), "to") or utcnow()
    start = _parse_when(request.args.get("from"), "from") or end - timedelta(days=7)
    if start >= end or end - start > timedelta(days=MAX_STATS_DAYS):
        return error(400, "invalid_query", f"from must be before to, at most {MAX_STATS_DAYS} days apart")
    return json({"from": start.isoformat(), "to": end.isoformat(), **await _service(request).stats(start, end)})


def _page(title: str, body: str, status: int = 200) -> HTTPResponse:
    doc = ("<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return html(doc, status=status, headers=PAGE_HEADERS)


_GONE = "Este link não é mais válido. Se precisar, fale com a clínica pelos canais de atendimento."


@public_bp.get("/<token:str>/confirmar")
async def confirm_page(request: Request, token: str) -> HTTPResponse:
    """The appointment the link is about and a button that confirms it."""
    row = await _service(request).by_token(token)
    start = as_utc(row.appointment_start) if row is not None else None
    if row is None or start is None or start <= utcnow():
        return _page("Link inválido", f"<p>{_GONE}</p>", 404)
    day, clock = when_text(start)
    return _page("Confirmar presença",
                 f"<p>Sua consulta está marcada para {escape(day)}, às {escape(clock)}.</p>"
                 "<form method=\"post\"><button type=\"submit\">Confirmar presença</button></form>"
                 "<p>Para cancelar ou remarcar, responda o e-mail do lembrete ou fale com a clínica.</p>")


@public_bp.post("/<token:str>/confirmar")
async def confirm(request: Request, token: str) -> HTTPResponse:
    """Confirm the reminded appointment (the same rules as the bot's confirmation)."""
    row = await _service(request).by_token(token)
    start = as_utc(row.appointment_start) if row is not None else None
    if row is None or start is None or start <= utcnow():
        return _page("Link inválido", f"<p>{_GONE}</p>", 404)
    clinic: ClinicService = request.app.ctx.clinic
    try:
        appt = await clinic.confirm(row.appointment_id, row.patient_id)
    except ClinicError as exc:
        if isinstance(exc, Unavailable):
            return _page("Tente novamente", "<p>Não foi possível confirmar agora. Tente de novo em instantes.</p>",
                         503)
        return _page("Não foi possível confirmar",
                     "<p>Esta consulta não pode mais ser confirmada (ela foi cancelada, remarcada ou já passou). "
                     "Fale com a clínica se precisar.</p>", 409)
    day, clock = when_text(as_utc(appt.start) or start)
    return _page("Presença confirmada", f"<p>Obrigado! Sua consulta de {escape(day)}, às {escape(clock)}, "
                                        "está confirmada.</p>")
