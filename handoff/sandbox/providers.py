"""The stand-in providers: sandbox credentials, who a simulated person is, provider-shaped requests.

In sandbox mode (`CHANNEL_SANDBOX=true`), providers without credentials get random per-process
credentials and the hub's own stand-in API as their base URL (`with_sandbox_providers`); the
simulator builds each inbound request the way the provider documents it (Twilio's webhook forms,
Meta's webhook bodies, signed with the configured secrets) and reads the TwiML the Voice webhook
answers as a caller hears it. The stand-in APIs themselves are routes of `handoff.sandbox.api`.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from twilio.request_validator import RequestValidator

from connectors import meta
from connectors.email_common import normalize_address
from handoff.domain.identity_match import normalize_phone
from handoff.settings import Settings

TWILIO_PREFIX = "/sandbox/providers/twilio"
META_PREFIX = "/sandbox/providers/meta"
TWILIO_API_VERSION = "2010-04-01"

WHATSAPP_FROM = "whatsapp:+5511930000000"
SMS_FROM = "+5511930000001"
VOICE_FROM = "+5511930000002"
PHONE_NUMBER_ID = "100000000000001"
WABA_ID = "100000000000002"
PAGE_ID = "100000000000003"
INSTAGRAM_ACCOUNT_ID = "17841400000000004"

# channel -> (label, provider, how the person is identified)
CHANNELS: dict[str, tuple[str, str, str]] = {
    "whatsapp": ("WhatsApp (Twilio)", "twilio", "phone"),
    "whatsapp_meta": ("WhatsApp (API oficial da Meta)", "meta", "phone"),
    "instagram": ("Instagram Direct", "meta", "scoped"),
    "messenger": ("Messenger", "meta", "scoped"),
    "sms": ("SMS (Twilio)", "twilio", "phone"),
    "phone": ("Telefone (ligação para a URA)", "twilio", "phone"),
    "email": ("E-mail", "email", "email"),
}
MAIL_HOST = "127.0.0.1"
MAIL_USER = "atende-simulador"  # the stand-in SMTP server's login (the password is random per process)
CLINIC_EMAIL = "Clínica Exemplo <atendimento@clinica.example>"
TWILIO_MAX_BODY = 1600
MAX_TWIML = 64 * 1024


# --- settings ---------------------------------------------------------------------------------


def internal_base(settings: Settings) -> str:
    """Where this hub process answers HTTP on this machine."""
    wildcard = ("", "0.0.0.0", "::")  # noqa: S104 (recognising a wildcard listen address, not binding)
    host = settings.hub_host if settings.hub_host not in wildcard else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.hub_port}"


def _secret(length: int = 32) -> str:
    return secrets.token_hex(length // 2)


def with_sandbox_providers(settings: Settings) -> Settings:
    """In sandbox mode, providers without credentials get the hub's own stand-in API and
    sandbox credentials (so their webhooks are signed and their senders run); others as given."""
    if not settings.channel_sandbox:
        return settings
    base = internal_base(settings)
    update: dict[str, Any] = {}
    if not settings.twilio_account_sid and not settings.twilio_auth_token:
        update.update(
            twilio_account_sid="AC" + _secret(),
            twilio_auth_token=_secret(),
            twilio_api_base=base + TWILIO_PREFIX,
            twilio_whatsapp_from=settings.twilio_whatsapp_from or WHATSAPP_FROM,
            twilio_sms_from=settings.twilio_sms_from or SMS_FROM,
            twilio_voice_from=settings.twilio_voice_from or VOICE_FROM,
        )
    if not settings.meta_access_token and not settings.meta_app_secret:
        update.update(
            meta_app_secret=_secret(),
            meta_access_token="EAAsandbox" + _secret(),
            meta_verify_token=settings.meta_verify_token or _secret(16),
            meta_graph_api_base=base + META_PREFIX,
            whatsapp_phone_number_id=settings.whatsapp_phone_number_id or PHONE_NUMBER_ID,
        )
    if not settings.email_smtp_host and not settings.email_imap_host:
        # The stand-in SMTP server picks its port when it starts (`mail_stand_in.SandboxMailServer.start`).
        update.update(
            email_smtp_host=MAIL_HOST, email_smtp_port=0, email_smtp_user=MAIL_USER, email_smtp_password=_secret(),
            email_smtp_starttls=False, email_smtp_ssl=False, email_from=settings.email_from or CLINIC_EMAIL,
        )
    return settings.model_copy(update=update) if update else settings


def captured(settings: Settings) -> set[str]:
    """Providers whose API is the hub's own stand-in (their replies show on the page)."""
    base = internal_base(settings)
    out = set()
    if settings.twilio_api_base.rstrip("/") == base + TWILIO_PREFIX:
        out.add("twilio")
    if settings.meta_graph_api_base.rstrip("/") == base + META_PREFIX:
        out.add("meta")
    if settings.email_smtp_host == MAIL_HOST and settings.email_smtp_user == MAIL_USER:
        out.add("email")
    return out


def channel_list(settings: Settings) -> list[dict[str, Any]]:
    """The channels the page offers: usable when the webhook secret is known."""
    stand_ins = captured(settings)
    out = []
    for channel, (label, provider, id_kind) in CHANNELS.items():
        if provider == "twilio":
            usable = bool(settings.twilio_auth_token)
            if channel == "whatsapp":
                usable = usable and bool(settings.twilio_whatsapp_from)
            elif channel == "sms":
                usable = usable and bool(settings.twilio_sms_from)
        elif provider == "email":  # replies need an SMTP server: the stand-in once it listens, or a real one
            usable = bool(settings.email_smtp_host and settings.email_smtp_port and settings.email_from)
        else:
            usable = bool(settings.meta_app_secret)
            if channel == "whatsapp_meta":
                usable = usable and bool(settings.whatsapp_phone_number_id)
        out.append({"channel": channel, "label": label, "provider": provider, "identity": id_kind,
                    "available": usable, "captured": provider in stand_ins})
    return out


# --- who the simulated person is on each channel ---------------------------------------------


def external_id(channel: str, user: str) -> str | None:
    """The id the hub sees for `user` (a phone number or a page-scoped id) on `channel`.

    The Cloud API names Brazilian mobiles by their `wa_id`: digits, and for many accounts
    without the ninth digit — the simulator does the same, so the hub's matching is exercised.
    E-mail: the address, lower-cased.
    """
    if CHANNELS[channel][2] == "email":
        return normalize_address(user)
    if CHANNELS[channel][2] == "scoped":
        return user if user.isdigit() and 5 <= len(user) <= 32 else None
    phone = normalize_phone(user)
    if phone is None:
        return None
    if channel == "whatsapp_meta":
        digits = phone[1:]
        if digits.startswith("55") and len(digits) == 13 and digits[4] == "9" and digits[5] in "6789":
            digits = digits[:4] + digits[5:]
        return digits
    return phone


# --- provider-shaped webhook requests ---------------------------------------------------------


def twilio_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """`X-Twilio-Signature` of a POST of `form` to `url` (the twilio library's own algorithm)."""
    return str(RequestValidator(auth_token).compute_signature(url, form))


def twilio_message_form(settings: Settings, channel: str, phone: str, name: str | None, text: str,
                        sid: str) -> dict[str, str]:
    """Twilio's inbound-message webhook form (WhatsApp adds ProfileName/WaId/MessageType)."""
    whatsapp = channel == "whatsapp"
    to = (settings.twilio_whatsapp_from if whatsapp else settings.twilio_sms_from) or ""
    form = {"ToCountry": "BR", "ToState": "SP", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": sid, "FromState": "SP", "SmsStatus": "received", "FromCity": "",
            "Body": text, "FromCountry": "BR", "To": to, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": settings.twilio_account_sid or "", "From": ("whatsapp:" if whatsapp else "") + phone,
            "ApiVersion": TWILIO_API_VERSION}
    if whatsapp:
        form.update(ProfileName=name or "", WaId=phone.lstrip("+"), MessageType="text", ReferralNumMedia="0")
        for key in ("ToState", "ToCity", "FromZip", "FromState", "FromCity", "FromCountry", "ToZip", "ToCountry"):
            form.pop(key, None)
    return form


def twilio_voice_form(settings: Settings, phone: str, call_sid: str, digits: str | None) -> dict[str, str]:
    """Twilio's Voice webhook form (the <Gather> action adds `Digits`)."""
    to = settings.twilio_voice_from or VOICE_FROM
    form = {"AccountSid": settings.twilio_account_sid or "", "ApiVersion": TWILIO_API_VERSION, "CallSid": call_sid,
            "CallStatus": "in-progress", "Called": to, "Caller": phone, "Direction": "inbound", "From": phone,
            "To": to, "CallerCountry": "BR", "CalledCountry": "BR"}
    if digits is not None:
        form.update(Digits=digits, FinishedOnKey="", msg="Gather End")
    return form


def twilio_status_form(settings: Settings, sid: str, status: str, to: str, from_: str) -> dict[str, str]:
    """A Messages status callback form."""
    return {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": to, "MessageSid": sid,
            "AccountSid": settings.twilio_account_sid or "", "From": from_, "ApiVersion": TWILIO_API_VERSION}


def _ms() -> int:
    return int(time.time() * 1000)


def meta_message_body(channel: str, user: str, name: str | None, text: str, *, kind: str = "text",
                      payload: str | None = None, mid: str) -> dict[str, Any]:
    """A Meta webhook body for one patient message (`kind`: text, button, list, quick_reply, postback)."""
    if channel == "whatsapp_meta":
        message: dict[str, Any] = {"from": user, "id": mid, "timestamp": str(int(time.time()))}
        if kind == "button" and payload:
            message.update(type="interactive", interactive={"type": "button_reply",
                                                            "button_reply": {"id": payload, "title": text}})
        elif kind == "list" and payload:
            message.update(type="interactive", interactive={"type": "list_reply",
                                                            "list_reply": {"id": payload, "title": text}})
        else:
            message.update(type="text", text={"body": text})
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "551130000000", "phone_number_id": PHONE_NUMBER_ID},
                 "contacts": [{"profile": {"name": name or ""}, "wa_id": user}], "messages": [message]}
        return {"object": "whatsapp_business_account",
                "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}]}
    page = INSTAGRAM_ACCOUNT_ID if channel == "instagram" else PAGE_ID
    event: dict[str, Any] = {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": _ms()}
    if kind == "postback" and payload:
        event["postback"] = {"mid": mid, "title": text, "payload": payload}
    else:
        msg: dict[str, Any] = {"mid": mid, "text": text}
        if kind == "quick_reply" and payload:
            msg["quick_reply"] = {"payload": payload}
        event["message"] = msg
    return {"object": "instagram" if channel == "instagram" else "page",
            "entry": [{"id": page, "time": _ms(), "messaging": [event]}]}


def meta_status_body(channel: str, user: str, mid: str, status: str) -> dict[str, Any]:
    """A delivery/read report for one of our messages, as Meta sends it."""
    if channel == "whatsapp_meta":
        st = {"id": mid, "status": status, "timestamp": str(int(time.time())), "recipient_id": user}
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "551130000000", "phone_number_id": PHONE_NUMBER_ID},
                 "statuses": [st]}
        return {"object": "whatsapp_business_account",
                "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}]}
    page = INSTAGRAM_ACCOUNT_ID if channel == "instagram" else PAGE_ID
    receipt: dict[str, Any]
    if status == "delivered":
        receipt = {"mids": [mid], "watermark": _ms()}
    elif channel == "instagram":
        receipt = {"mid": mid}  # Instagram reads name the message
    else:
        receipt = {"watermark": _ms()}  # Messenger reads: everything up to now
    event = {"sender": {"id": user}, "recipient": {"id": page}, "timestamp": _ms(),
             "delivery" if status == "delivered" else "read": receipt}
    return {"object": "instagram" if channel == "instagram" else "page",
            "entry": [{"id": page, "time": _ms(), "messaging": [event]}]}


def new_id(channel: str) -> str:
    """A provider-shaped id for a simulated message."""
    if channel in ("whatsapp", "sms"):
        return "SM" + uuid.uuid4().hex
    if channel == "phone":
        return "CA" + uuid.uuid4().hex
    if channel == "whatsapp_meta":
        return "wamid.sandbox" + uuid.uuid4().hex
    return ("aWdf" if channel == "instagram" else "m_") + uuid.uuid4().hex


def meta_sign(settings: Settings, raw: bytes) -> str:
    """`X-Hub-Signature-256` of `raw` with the configured app secret."""
    return meta.sign(settings.meta_app_secret or "", raw)


# --- TwiML, as the caller hears it -------------------------------------------------------------


def read_twiml(xml: str) -> dict[str, Any]:
    """What a TwiML answer does: `says` (before any input), whether it waits for a key
    (`gather`), `after` (said when nobody answers), `redirect` and `hangup`."""
    out: dict[str, Any] = {"says": [], "gather": False, "after": [], "redirect": None, "hangup": False, "dial": None}
    if len(xml) > MAX_TWIML:
        return out
    try:
        # TwiML written by this hub (our Voice webhook, our call back); expat resolves no external entities.
        root = ET.fromstring(xml)  # noqa: S314
    except ET.ParseError:
        return out
    target = "says"
    for node in root:
        if node.tag == "Gather":
            out["gather"] = True
            out["says"].extend((s.text or "").strip() for s in node if s.tag == "Say")
            target = "after"
        elif node.tag == "Say":
            out[target].append((node.text or "").strip())
        elif node.tag == "Redirect":
            out["redirect"] = (node.text or "").strip()
        elif node.tag == "Hangup":
            out["hangup"] = True
        elif node.tag == "Dial":
            number = node.find("Number")
            out["dial"] = (number.text or "").strip() if number is not None else (node.text or "").strip()
    return out



def dumps(body: dict[str, Any]) -> bytes:
    """JSON bytes as Meta sends them (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
