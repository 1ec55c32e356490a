"""Phone: the Twilio Voice webhooks (pt-BR menu, call back requests, call statuses) and the
attendant's "ligar de volta" (`POST /api/conversations/<id>/call`).

The Voice webhooks are signed like the messaging ones (`X-Twilio-Signature` over
PUBLIC_BASE_URL + path + query + every form parameter): 403 otherwise, 503 when Twilio is not
configured. Logs carry call ids and outcomes, never numbers.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic.response import json as json_response

from connectors import twilio_voice as voice
from handoff.api.auth import parse_body, require_staff
from handoff.api.channels import _error, _twilio_form
from handoff.domain.identity_match import normalize_phone
from handoff.services import callbacks
from handoff.services.clinic import ClinicError

bp = Blueprint("voice")
log = logging.getLogger(__name__)

VOICE_PATH = "/channels/twilio/voice"
DEFAULT_CLINIC = "a clínica"


def _twiml(body: str) -> HTTPResponse:
    return text(body, content_type="text/xml; charset=utf-8")


def _url(request: Request, path: str) -> str:
    base: str = request.app.ctx.settings.public_base_url
    return base.rstrip("/") + path


async def _clinic(request: Request) -> tuple[str, str | None]:
    """The clinic's name and WhatsApp number, for what the menu says."""
    clinic = getattr(request.app.ctx, "clinic", None)
    if clinic is None:
        return DEFAULT_CLINIC, None
    try:
        info = await clinic.info()
    except ClinicError:
        return DEFAULT_CLINIC, None
    return info.name or DEFAULT_CLINIC, info.whatsapp or None


@bp.post(VOICE_PATH)
async def incoming_call(request: Request) -> HTTPResponse:
    """A call to the clinic's number: the menu (1 consulta, 2 retorno, 9 emergência)."""
    form = _twilio_form(request)
    if isinstance(form, HTTPResponse):
        return form
    try:
        voice.parse_call(form)
    except voice.PayloadError as exc:
        return _error(400, "malformed", str(exc))
    retry = None if request.args.get("tentativa") else _url(request, VOICE_PATH + "?tentativa=2")
    name, _ = await _clinic(request)
    return _twiml(voice.menu_twiml(clinic_name=name, action_url=_url(request, VOICE_PATH + "/menu"), retry_url=retry))


@bp.post(VOICE_PATH + "/menu")
async def menu(request: Request) -> HTTPResponse:
    """The caller's option (key or speech)."""
    form = _twilio_form(request)
    if isinstance(form, HTTPResponse):
        return form
    try:
        call = voice.parse_call(form)
    except voice.PayloadError as exc:
        return _error(400, "malformed", str(exc))
    choice = voice.menu_choice(form)
    log.info("voice menu: call %s chose %s", call.call_sid, choice or "nothing valid")
    if choice == voice.EMERGENCY:
        return _twiml(voice.emergency_twiml())
    if choice == voice.BOOK:
        _, whatsapp = await _clinic(request)
        return _twiml(voice.booking_twiml(whatsapp=whatsapp, action_url=_url(request, VOICE_PATH + "/menu")))
    if choice == voice.CALLBACK:
        caller = normalize_phone(call.caller) if call.caller else None
        if caller is None:
            return _twiml(voice.no_caller_twiml())
        runtime = request.app.ctx.runtime
        config = await runtime.load_handoff()
        result = await callbacks.request_callback(request.app.ctx.uow, config, caller, call.call_sid)
        log.info("voice: call back requested (conversation %s%s)", result.conversation_id,
                 ", duplicate" if result.duplicate else "")
        return _twiml(voice.callback_twiml())
    return _twiml(voice.invalid_twiml(_url(request, VOICE_PATH + "?tentativa=2")))


@bp.post(VOICE_PATH + "/status")
async def call_status(request: Request) -> HTTPResponse:
    """Final status of a call we placed (the conversation is named in the signed URL)."""
    form = _twilio_form(request)
    if isinstance(form, HTTPResponse):
        return form
    conv_id = request.args.get("conversation")
    sid = (form.get("CallSid") or [""])[0]
    status = (form.get("CallStatus") or [""])[0]
    if not conv_id or not sid or not status:
        return _error(400, "malformed", "conversation, CallSid and CallStatus are required")
    duration = (form.get("CallDuration") or [""])[0] or None
    recorded = await callbacks.record_call_status(request.app.ctx.uow, conv_id, sid, status, duration)
    return json_response({"status": "ok", "recorded": recorded})


class CallBody(BaseModel):
    """`POST /api/conversations/<id>/call`: the attendant's own phone, rung once the patient answers."""

    agent_phone: str = Field(min_length=8, max_length=32)


@bp.post("/api/conversations/<conv_id:str>/call")
@require_staff("attendant", "manager", "admin")
async def call_patient(request: Request, conv_id: str) -> HTTPResponse:
    """Call the patient back through Twilio and connect them to the attendant's phone."""
    body = parse_body(request, CallBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, CallBody)
    runtime = request.app.ctx.runtime
    await runtime.load_handoff()
    inbox = runtime.inbox
    name, _ = await _clinic(request)
    result = await callbacks.place_call(
        request.app.ctx.uow, request.app.ctx.settings, request.ctx.staff, conv_id, body.agent_phone,
        queues_of=inbox.queues_of if inbox is not None else None, clinic_name=name,
    )
    log.info("voice: call placed for conversation %s (%s)", conv_id, result["call_sid"])
    return json_response(result, status=201)
