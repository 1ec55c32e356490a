"""The patient simulator's page and API, and the stand-in provider APIs (CHANNEL_SANDBOX only).

This blueprint is registered (by `handoff.sandbox.install`) only when `CHANNEL_SANDBOX` is
true: otherwise every /sandbox route answers 404. What a simulated patient sends goes, signed,
through the production webhooks over HTTP; what the hub sends back reaches
`/sandbox/providers/{twilio,meta}` when those providers have no credentials configured
(`providers.with_sandbox_providers`). E-mail has no webhook: the simulated patient's mail (a
real RFC 5322 message) goes through the same parse + persist path as every mail the IMAP poller
fetches, and the replies reach the stand-in SMTP server (`mail_stand_in.SandboxMailServer`,
started with the hub by `mail_stand_in.start_mail_stand_in`). Logs carry ids and counts, never
message text, numbers or addresses.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json as jsonlib
import logging
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from pydantic import BaseModel, Field
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, file, json

from connectors import meta
from connectors.email_inbound import PayloadError
from handoff.api.auth import error, parse_body
from handoff.domain.identity_match import normalize_phone
from handoff.sandbox import mail_stand_in as mail
from handoff.sandbox import providers as pv
from handoff.sandbox import timeline as tl
from handoff.sandbox.demo_clinic import DEMO_PATIENTS
from handoff.services.email_channel import EmailInbox
from handoff.settings import Settings

bp = Blueprint("sandbox", url_prefix="/sandbox")
log = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"  # the page's template and assets stay in handoff/web
REPORT_DELAY = 1.0  # seconds before the stand-in reports "delivered" (after the outbox committed the id)
_CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
_DIGITS = re.compile(r"^[0-9*#]$")
_NOT_FOUND = {"code": 20404, "message": "The requested resource was not found", "status": 404}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.ctx.settings
    return settings


async def _post_internal(settings: Settings, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    """Call one of our own webhook routes over HTTP, as the provider would."""
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(pv.internal_base(settings) + path, content=content, headers=headers)


async def _post_twilio(settings: Settings, path: str, form: dict[str, str]) -> httpx.Response:
    """A form-encoded Twilio webhook, signed over PUBLIC_BASE_URL + path (+ query)."""
    public_url = settings.public_base_url.rstrip("/") + path
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
               "X-Twilio-Signature": pv.twilio_signature(settings.twilio_auth_token or "", public_url, form)}
    return await _post_internal(settings, path, urlencode(form).encode(), headers)


async def _post_meta(settings: Settings, body: dict[str, Any]) -> httpx.Response:
    """A Meta webhook, signed with X-Hub-Signature-256."""
    raw = pv.dumps(body)
    headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
               "X-Hub-Signature-256": pv.meta_sign(settings, raw)}
    return await _post_internal(settings, "/channels/meta", raw, headers)


def _later(app: Sanic[Any, Any], coro: Any) -> None:
    async def run() -> None:
        try:
            await coro
        except (httpx.HTTPError, OSError, ValueError) as exc:  # a demo report lost is not worth a crash
            log.warning("sandbox: status report failed (%s)", type(exc).__name__)

    app.add_task(run())


def _email_inbox(app: Sanic[Any, Any], settings: Settings) -> EmailInbox:
    inbox = getattr(app.ctx, "sandbox_email_inbox", None)
    if inbox is None:
        inbox = app.ctx.sandbox_email_inbox = EmailInbox(app.ctx.uow, settings)
    assert isinstance(inbox, EmailInbox)
    return inbox


# --- the page -------------------------------------------------------------------------------


@bp.get("/", strict_slashes=False)
async def page(request: Request) -> HTTPResponse:
    """The patient simulator (pt-BR)."""
    return await file(WEB / "templates" / "sandbox.html", mime_type="text/html; charset=utf-8",
                      headers={"Cache-Control": "no-cache"})


@bp.get("/sandbox.css")
async def stylesheet(request: Request) -> HTTPResponse:
    """The simulator's stylesheet (no inline style under the page's CSP)."""
    return await file(WEB / "static" / "sandbox.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache"})


@bp.get("/sandbox.js")
async def script(request: Request) -> HTTPResponse:
    """The simulator's script."""
    return await file(WEB / "static" / "sandbox.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache"})


@bp.get("/api/channels")
async def channels(request: Request) -> HTTPResponse:
    """The channels the simulator offers and the demo patients one may pretend to be."""
    settings = _settings(request)
    people: list[dict[str, str]] = []
    if settings.seed_demo_clinic:
        people = [{"name": p.name, "phone": p.phone} for p in DEMO_PATIENTS]
    return json({"channels": pv.channel_list(settings), "demo_patients": people})


class SendBody(BaseModel):
    """A simulated patient's message. `kind`: text, button / list (WhatsApp Cloud API replies),
    quick_reply / postback (Messenger, Instagram) — then `payload` is the option's id."""

    channel: str
    user: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=100)
    text: str = Field(min_length=1, max_length=2000)
    kind: str = "text"
    payload: str | None = Field(default=None, max_length=1000)


@bp.post("/api/send")
async def send(request: Request) -> HTTPResponse:
    """Deliver a simulated message through the channel's production webhook."""
    body = parse_body(request, SendBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, SendBody)
    settings = _settings(request)
    if body.channel not in pv.CHANNELS or body.channel == "phone":
        return error(400, "unknown_channel", "canal desconhecido")
    if body.kind not in ("text", "button", "list", "quick_reply", "postback"):
        return error(400, "invalid_kind", "tipo de mensagem desconhecido")
    user = pv.external_id(body.channel, body.user)
    if user is None:
        return error(400, "invalid_user", "telefone ou id inválido para este canal")
    provider = pv.CHANNELS[body.channel][1]
    text = body.text.strip() or body.text
    mid = pv.new_id(body.channel)
    state = tl.sandbox_state(request.app)
    if provider == "email":
        return await _send_email(request, settings, state, user, body.name, text, body.kind)
    if provider == "twilio":
        if not settings.twilio_auth_token:
            return error(409, "not_configured", "o Twilio não está configurado")
        form = pv.twilio_message_form(settings, body.channel, user, body.name, text, mid)
        resp = await _post_twilio(settings, "/channels/twilio/messages", form)
    else:
        if not settings.meta_app_secret:
            return error(409, "not_configured", "a Meta não está configurada")
        if body.channel in ("instagram", "messenger"):
            state.scoped[user] = body.channel
        resp = await _post_meta(settings, pv.meta_message_body(body.channel, user, body.name, text, kind=body.kind,
                                                               payload=body.payload, mid=mid))
    ok = resp.status_code == 200
    state.add(body.channel, user, "in", text=text, provider_id=mid, status="sent" if ok else "refused")
    log.info("sandbox: %s message %s -> webhook %d", body.channel, mid, resp.status_code)
    return json({"ok": ok, "webhook_status": resp.status_code, "id": mid, "user": user})


async def _send_email(request: Request, settings: Settings, state: tl.SandboxState, user: str, name: str | None,
                      text: str, kind: str) -> HTTPResponse:
    """A simulated patient's mail: built as a mail client writes it (answering the clinic's last
    mail), then parsed and persisted exactly as the IMAP poller does with a fetched mail."""
    if kind != "text":
        return error(400, "invalid_kind", "e-mail só tem texto")
    if not next((c["available"] for c in pv.channel_list(settings) if c["channel"] == "email"), False):
        return error(409, "not_configured", "o e-mail não está configurado")
    msg_id, raw = mail.patient_email(settings, user, name, text, state.last_mail(user))
    try:
        result = await _email_inbox(request.app, settings).ingest(raw)
    except PayloadError:
        return error(400, "invalid_user", "endereço de e-mail inválido")
    ok = result is not None
    subject = mail.render_email(raw)["subject"]
    state.add("email", user, "in", text=text, provider_id=msg_id, subject=subject, status="sent" if ok else "refused")
    log.info("sandbox: email message stored=%s", ok)
    return json({"ok": ok, "webhook_status": None, "id": msg_id, "user": user})


class CallBody(BaseModel):
    """A simulated phone call: `start` rings, `menu` presses `digits`, `retry` stays silent."""

    user: str = Field(min_length=8, max_length=32)
    call_sid: str
    step: str = "start"
    digits: str | None = None


@bp.post("/api/call")
async def call(request: Request) -> HTTPResponse:
    """Drive the Voice webhooks as Twilio does during a call; answer what the caller hears."""
    body = parse_body(request, CallBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, CallBody)
    settings = _settings(request)
    phone = normalize_phone(body.user)
    if phone is None or not _CALL_SID.match(body.call_sid):
        return error(400, "invalid_call", "telefone ou identificador de ligação inválido")
    if body.step not in ("start", "menu", "retry") or (body.step == "menu" and not _DIGITS.match(body.digits or "")):
        return error(400, "invalid_step", "passo da ligação inválido")
    if not settings.twilio_auth_token:
        return error(409, "not_configured", "o Twilio não está configurado")
    state = tl.sandbox_state(request.app)
    path = {"start": "/channels/twilio/voice", "retry": "/channels/twilio/voice?tentativa=2",
            "menu": "/channels/twilio/voice/menu"}[body.step]
    state.add("phone", phone, "in", text={"start": "☎ Ligando para a clínica…", "retry": "(silêncio)",
                                          "menu": f"Tecla {body.digits}"}[body.step], provider_id=body.call_sid)
    resp = await _post_twilio(settings, path, pv.twilio_voice_form(
        settings, phone, body.call_sid, body.digits if body.step == "menu" else None))
    heard = pv.read_twiml(resp.text) if resp.status_code == 200 else pv.read_twiml("")
    says = list(heard["says"])
    if not heard["gather"] and heard["redirect"]:  # Twilio follows a bare <Redirect> at once
        target = urlsplit(heard["redirect"])
        if target.path.startswith("/channels/twilio/voice"):
            resp = await _post_twilio(settings, target.path + (f"?{target.query}" if target.query else ""),
                                      pv.twilio_voice_form(settings, phone, body.call_sid, None))
            heard = pv.read_twiml(resp.text) if resp.status_code == 200 else heard
            says += heard["says"]
    if says:
        state.add("phone", phone, "out", text=" ".join(s for s in says if s), call=True)
    ended = heard["hangup"] or not heard["gather"]
    if ended:
        state.add("phone", phone, "out", text="Ligação encerrada.", call=True)
    return json({"webhook_status": resp.status_code, "gather": heard["gather"], "ended": ended,
                 "after": heard["after"], "user": phone})


@bp.get("/api/timeline")
async def timeline(request: Request) -> HTTPResponse:
    """The simulated chat (after sequence `after`); what is shown is reported as read."""
    settings = _settings(request)
    channel = request.args.get("channel") or ""
    raw_user = request.args.get("user") or ""
    if channel not in pv.CHANNELS:
        return error(400, "unknown_channel", "canal desconhecido")
    user = pv.external_id(channel, raw_user)
    if user is None:
        return json({"user": None, "entries": []})
    try:
        after = int(request.args.get("after") or 0)
    except ValueError:
        after = 0
    state = tl.sandbox_state(request.app)
    entries = state.timeline(channel, user, after)
    for entry in state.timeline(channel, user, 0):
        if entry.direction == "out" and entry.provider_id and entry.seq not in state.read_reported \
                and entry.status == "delivered" and channel not in ("sms", "phone", "email"):
            state.read_reported.add(entry.seq)
            entry.status = "read"
            _later(request.app, _report(settings, channel, user, entry, "read"))
    return json({"user": user, "entries": [e.view() for e in entries]})


async def _report(settings: Settings, channel: str, user: str, entry: tl.Entry, status: str,
                  callback: str | None = None, delay: float = 0.0) -> None:
    """Tell the hub's status webhook what happened to one of its messages, as the provider does."""
    if delay:
        await asyncio.sleep(delay)
    if not entry.provider_id or pv.CHANNELS[channel][1] == "email":
        return  # e-mail has no delivery reports
    if pv.CHANNELS[channel][1] == "twilio":
        url = callback or settings.public_base_url.rstrip("/") + "/channels/twilio/status"
        parts = urlsplit(url)
        if not parts.path.startswith("/channels/twilio/"):
            return
        from_ = (settings.twilio_whatsapp_from if channel == "whatsapp" else settings.twilio_sms_from) or ""
        to = ("whatsapp:" if channel == "whatsapp" else "") + user
        form = pv.twilio_status_form(settings, entry.provider_id, status, to, from_)
        await _post_twilio(settings, parts.path + (f"?{parts.query}" if parts.query else ""), form)
    else:
        await _post_meta(settings, pv.meta_status_body(channel, user, entry.provider_id, status))


async def _delivered(settings: Settings, channel: str, user: str, entry: tl.Entry, callback: str | None) -> None:
    await asyncio.sleep(REPORT_DELAY)
    entry.status = "delivered"
    await _report(settings, channel, user, entry, "delivered", callback)


# --- the stand-in provider APIs ----------------------------------------------------------------


def _twilio_json(status: int, data: dict[str, Any]) -> HTTPResponse:
    return json(data, status=status)


def _twilio_auth(request: Request, sid: str) -> HTTPResponse | None:
    settings = _settings(request)
    if not settings.twilio_account_sid or sid != settings.twilio_account_sid:
        return _twilio_json(404, _NOT_FOUND)
    expected = "Basic " + base64.b64encode(f"{sid}:{settings.twilio_auth_token}".encode()).decode()
    if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected.encode()):
        return _twilio_json(401, {"code": 20003, "message": "Authenticate", "status": 401})
    return None


def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((request.body or b"").decode("utf-8", "replace"),
                                         keep_blank_values=True).items()}


@bp.post("/providers/twilio/2010-04-01/Accounts/<sid:str>/Messages.json")
async def twilio_messages(request: Request, sid: str) -> HTTPResponse:
    """Twilio's Messages resource: accept, keep for the page, report delivery to StatusCallback."""
    refused = _twilio_auth(request, sid)
    if refused is not None:
        return refused
    form = _form(request)
    to, from_ = form.get("To") or "", form.get("From") or ""
    if not to or not from_:
        return _twilio_json(400, {"code": 21604, "message": "A 'To' and 'From' are required.", "status": 400})
    if not (form.get("Body") or form.get("ContentSid") or form.get("MediaUrl")):
        return _twilio_json(400, {"code": 21619, "message": "A text message body or media urls must be specified.",
                                  "status": 400})
    if len(form.get("Body") or "") > pv.TWILIO_MAX_BODY:
        return _twilio_json(400, {"code": 21617, "message": "The concatenated message body exceeds the 1600 "
                                  "character limit.", "status": 400})
    channel = "whatsapp" if to.startswith("whatsapp:") else "sms"
    user = to.removeprefix("whatsapp:")
    msid = "SM" + uuid.uuid4().hex
    entry = tl.sandbox_state(request.app).add(channel, user, "out", provider_id=msid, **tl.render_twilio(form))
    if form.get("StatusCallback"):
        _later(request.app, _delivered(_settings(request), channel, user, entry, form["StatusCallback"]))
    return _twilio_json(201, {
        "sid": msid, "account_sid": sid, "to": to, "from": from_, "body": form.get("Body") or "", "status": "queued",
        "num_media": "1" if form.get("MediaUrl") else "0", "num_segments": "1", "direction": "outbound-api",
        "api_version": pv.TWILIO_API_VERSION, "price": None, "error_code": None, "error_message": None,
        "uri": f"/2010-04-01/Accounts/{sid}/Messages/{msid}.json",
    })


@bp.post("/providers/twilio/2010-04-01/Accounts/<sid:str>/Calls.json")
async def twilio_calls(request: Request, sid: str) -> HTTPResponse:
    """Twilio's Calls resource: the clinic calling a patient back shows on the phone's screen."""
    refused = _twilio_auth(request, sid)
    if refused is not None:
        return refused
    form = _form(request)
    to, from_ = form.get("To") or "", form.get("From") or ""
    if not to or not from_ or not (form.get("Twiml") or form.get("Url")):
        return _twilio_json(400, {"code": 21205, "message": "To, From and Url or Twiml are required.",
                                  "status": 400})
    csid = "CA" + uuid.uuid4().hex
    heard = pv.read_twiml(form.get("Twiml") or "")
    text = "📞 A clínica está ligando para você."
    if heard["says"]:
        text += " Ao atender: " + " ".join(heard["says"])
    phone = normalize_phone(to) or to
    tl.sandbox_state(request.app).add("phone", phone, "out", text=text, call=True, provider_id=csid)
    log.info("sandbox: call %s placed", csid)
    return _twilio_json(201, {"sid": csid, "account_sid": sid, "to": to, "from": from_, "status": "queued",
                              "direction": "outbound-api", "api_version": pv.TWILIO_API_VERSION,
                              "uri": f"/2010-04-01/Accounts/{sid}/Calls/{csid}.json"})


def _graph_error(status: int, code: int, message: str) -> HTTPResponse:
    return json({"error": {"message": message, "type": "OAuthException", "code": code,
                           "fbtrace_id": uuid.uuid4().hex[:11]}}, status=status)


@bp.post("/providers/meta/<version:str>/<node:str>/messages")
async def graph_messages(request: Request, version: str, node: str) -> HTTPResponse:
    """The Graph API's WhatsApp `/{phone-number-id}/messages` and Send API `/me/messages`."""
    settings = _settings(request)
    if version != meta.GRAPH_API_VERSION:
        return _graph_error(400, 2635, "Unsupported API version")
    if node == (settings.whatsapp_phone_number_id or ""):
        kind = "whatsapp"
    elif node == "me":
        kind = "messaging"
    else:
        return _graph_error(404, 803, "Unknown path components")
    expected = f"Bearer {settings.meta_access_token}"
    if not settings.meta_access_token or not hmac.compare_digest(
            request.headers.get("authorization", "").encode(), expected.encode()):
        return _graph_error(401, 190, "Invalid OAuth access token.")
    try:
        body = jsonlib.loads(request.body or b"")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _graph_error(400, 100, "Invalid JSON")
    try:
        problems = tl.whatsapp_problems(body) if kind == "whatsapp" else tl.messaging_problems(body)
        rendered = tl.render_whatsapp(body) if kind == "whatsapp" else tl.render_messaging(body)
    except (KeyError, TypeError, AttributeError):
        problems, rendered = ["shape"], {}
    if problems:
        log.info("sandbox: graph request refused (%s)", ", ".join(problems))
        return _graph_error(400, 131009 if kind == "whatsapp" else 100, "Parameter value is not valid")
    state = tl.sandbox_state(request.app)
    if kind == "whatsapp":
        user, channel = str(body["to"]), "whatsapp_meta"
        mid = "wamid.sandbox" + uuid.uuid4().hex
        answer: dict[str, Any] = {"messaging_product": "whatsapp", "contacts": [{"input": user, "wa_id": user}],
                                  "messages": [{"id": mid}]}
    else:
        user = str(body["recipient"]["id"])
        channel = state.scoped.get(user, "messenger")
        mid = pv.new_id(channel)
        answer = {"recipient_id": user, "message_id": mid}
    entry = state.add(channel, user, "out", provider_id=mid, **rendered)
    _later(request.app, _delivered(settings, channel, user, entry, None))
    return json(answer)
