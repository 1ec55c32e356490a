"""Provider webhooks: Twilio (WhatsApp, SMS) and Meta (WhatsApp Cloud API, Instagram, Messenger).

Every request is authenticated by the provider's signature before anything is read into the
database (403 otherwise). Inbound messages are persisted through `services.ingest.accept_inbound`
(deduped on channel + provider id) before the 200 goes back, so a crash makes the provider
retry and the retry is stored once. Delivery reports only move a message's status forward.
Channel names: `whatsapp` and `sms` (Twilio), `whatsapp_meta`, `instagram`, `messenger` (Meta).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, text
from sanic.response import json as json_response

from connectors import meta, twilio
from connectors.base import InboundMessage
from handoff.adapters.sql import channel_store
from handoff.domain.messages import OutboundStatus
from handoff.services.ingest import accept_inbound
from handoff.services.outbox import record_status_change
from handoff.services.unit_of_work import UnitOfWork

bp = Blueprint("channels", url_prefix="/channels")
log = logging.getLogger(__name__)

_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def _error(status: int, code: str, message: str, **extra: Any) -> HTTPResponse:
    return json_response({"error": {"code": code, "message": message, **extra}}, status=status)


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def refuse_body(request: Request, expected_type: str) -> HTTPResponse | None:
    """413 past WEBHOOK_MAX_BYTES, 415 unless the body is `expected_type` (what the provider
    sends); None when the body may go on to the signature check."""
    limit = request.app.ctx.settings.webhook_max_bytes
    if len(request.body or b"") > limit:
        log.warning("webhook refused: body larger than %d bytes", limit)
        return _error(413, "too_large", f"body larger than {limit} bytes")
    content_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != expected_type:
        log.warning("webhook refused: content type is not %s", expected_type)
        return _error(415, "unsupported_media_type", f"the body must be {expected_type}")
    return None


def _public_url(request: Request) -> str:
    """The URL the provider called, as configured at the provider (PUBLIC_BASE_URL + path)."""
    url = request.app.ctx.settings.public_base_url.rstrip("/") + request.path
    return f"{url}?{request.query_string}" if request.query_string else url


async def _with_choice(uow: UnitOfWork, msg: InboundMessage) -> InboundMessage:
    """A reply like "2" to options sent as numbered lines becomes that option's payload,
    exactly as if the button had been tapped (text = the option's title)."""
    match = _CHOICE.match(msg.text)
    if match is None or msg.payload or msg.attachments:
        return msg
    async with uow() as (session, _):
        buttons = await channel_store.last_offered_buttons(session, msg.channel, msg.external_user_id)
    index = int(match.group(1)) - 1
    if not 0 <= index < len(buttons) or not buttons[index].get("payload"):
        return msg
    chosen = buttons[index]
    metadata = {**msg.raw_metadata, "typed_choice": match.group(1)}
    return dataclasses.replace(msg, text=str(chosen.get("title") or msg.text), payload=str(chosen["payload"]),
                               raw_metadata=metadata)


async def _store(uow: UnitOfWork, messages: list[InboundMessage]) -> tuple[int, int]:
    """Persist in arrival order; returns (stored, duplicates)."""
    stored = duplicates = 0
    for msg in messages:
        result = await accept_inbound(uow, await _with_choice(uow, msg))
        if result.duplicate:
            duplicates += 1
        else:
            stored += 1
    return stored, duplicates


async def _apply_statuses(uow: UnitOfWork, reports: list[tuple[tuple[str, ...], str, str, str | None]]) -> int:
    """Apply (channels, provider id, status, error code) reports; returns how many moved."""
    moved = 0
    for channels, provider_id, status, code in reports:
        async with uow() as (session, events):
            change = await channel_store.apply_provider_status(
                session, uow.dialect, channels, provider_id, OutboundStatus(status),
                f"provider error {code}" if code else None, error_code=code,
            )
            if change is not None:
                moved += 1
                await record_status_change(session, events, change, code)
    return moved


# --- Twilio -----------------------------------------------------------------------------


def _twilio_form(request: Request) -> twilio.Form | HTTPResponse:
    """The signed form, or the response refusing it (503 unconfigured, 403 bad signature)."""
    token = request.app.ctx.settings.twilio_auth_token
    if not token:
        return _error(503, "not_configured", "Twilio is not configured on this hub")
    refused = refuse_body(request, FORM)
    if refused is not None:
        return refused
    try:
        form = twilio.parse_form(request.body)
    except twilio.PayloadError:
        return _error(403, "invalid_signature", "invalid or missing X-Twilio-Signature")
    if not twilio.valid_signature(token, _public_url(request), form, request.headers.get("X-Twilio-Signature")):
        log.warning("twilio webhook refused: invalid or missing signature")
        return _error(403, "invalid_signature", "invalid or missing X-Twilio-Signature")
    return form


@bp.post("/twilio/messages")
async def twilio_messages(request: Request) -> HTTPResponse:
    """Inbound WhatsApp/SMS message (form-encoded, signed). Stored once, then TwiML 200."""
    form = _twilio_form(request)
    if isinstance(form, HTTPResponse):
        return form
    try:
        msg = twilio.parse_inbound(form)
    except twilio.PayloadError as exc:
        log.warning("twilio webhook refused: malformed message (%s)", exc)
        return _error(400, "malformed", str(exc))
    await _store(request.app.ctx.uow, [msg])
    return text(twilio.empty_twiml(), content_type="text/xml")


@bp.post("/twilio/status")
async def twilio_status(request: Request) -> HTTPResponse:
    """Status callback of one of our messages (signed); moves its status forward only."""
    form = _twilio_form(request)
    if isinstance(form, HTTPResponse):
        return form
    try:
        report = twilio.parse_status(form)
    except twilio.PayloadError as exc:
        return _error(400, "malformed", str(exc))
    moved = 0
    if report is not None:
        moved = await _apply_statuses(request.app.ctx.uow, [
            (twilio.CHANNELS, report.provider_message_id, report.status, report.error_code)])
    return json_response({"status": "ok", "applied": moved})


# --- Meta -------------------------------------------------------------------------------


@bp.get("/meta")
async def meta_verify(request: Request) -> HTTPResponse:
    """Webhook subscription handshake: echo `hub.challenge` when the verify token matches."""
    params = {k: v[0] for k, v in request.get_args(keep_blank_values=True).items() if v}
    challenge = meta.verify_subscription(params, request.app.ctx.settings.meta_verify_token)
    if challenge is None:
        return _error(403, "verification_failed", "hub.mode/hub.verify_token do not match")
    return text(challenge)


@bp.post("/meta")
async def meta_events(request: Request) -> HTTPResponse:
    """A batch of WhatsApp/Instagram/Messenger events (signed JSON).

    Every valid item is applied before answering. If some items are malformed the answer is
    400 naming them by path; Meta then retries the batch and the valid items dedupe.
    """
    ctx = request.app.ctx
    secret = ctx.settings.meta_app_secret
    if not secret:
        return _error(503, "not_configured", "Meta is not configured on this hub")
    refused = refuse_body(request, JSON)
    if refused is not None:
        return refused
    body = request.body or b""
    if not meta.valid_signature(secret, body, request.headers.get("X-Hub-Signature-256")):
        log.warning("meta webhook refused: invalid or missing signature")
        return _error(403, "invalid_signature", "invalid or missing X-Hub-Signature-256")
    try:
        batch = meta.parse_webhook(json.loads(body))
    except ValueError as exc:  # JSON errors and meta.PayloadError
        reason = str(exc) if isinstance(exc, meta.PayloadError) else "body is not valid JSON"
        log.warning("meta webhook refused: %s", reason)
        return _error(400, "malformed", reason)
    stored, duplicates = await _store(ctx.uow, batch.messages)
    moved = await _apply_statuses(ctx.uow, [
        ((s.channel,), s.provider_message_id, s.status, s.error_code) for s in batch.statuses])
    for mark in batch.watermarks:
        async with ctx.uow() as (session, events):
            changes = await channel_store.apply_status_until(
                session, ctx.uow.dialect, mark.channel, mark.external_user_id, OutboundStatus(mark.status), mark.until)
            for change in changes:
                await record_status_change(session, events, change, None)
        moved += len(changes)
    summary = {"stored": stored, "duplicates": duplicates, "statuses": moved, "echoes": batch.echoes,
               "ignored": batch.ignored}
    if batch.errors:
        log.warning("meta webhook: %d malformed item(s) refused, %d message(s) stored", len(batch.errors), stored)
        return _error(400, "malformed", "some items of the batch are malformed; the others were applied",
                      rejected=batch.errors, **summary)
    return json_response({"status": "ok", **summary})
