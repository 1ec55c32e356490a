"""The patient simulator (`CHANNEL_SANDBOX=true`, the `make run` default).

A person chats as a WhatsApp (Twilio or Cloud API), Instagram, Messenger or SMS user, or calls
the phone menu, through the SAME webhooks as production: the simulator builds the request each
provider documents, signs it with the configured secrets and posts it to our own webhook route
over HTTP. Replies leave through the real senders to a provider API; when a provider's
credentials are unset, that API is the hub's own stand-in (`/sandbox/providers/twilio`,
`/sandbox/providers/meta`), which answers like Twilio's `Messages.json`/`Calls.json` and the
Graph API's `/messages`, keeps what it received for the page and reports delivery back through
the status webhooks, as the provider would.

E-mail has no webhook. When no mail server is configured (`EMAIL_SMTP_HOST` and
`EMAIL_IMAP_HOST` unset), the stand-in mail provider is `SandboxMailServer`: a real SMTP
submission server (aiosmtpd) in the hub's own event loop on 127.0.0.1 and a free port, started
and stopped with the hub, requiring AUTH with per-process credentials; the hub's real
`EmailSender` submits replies to it and it keeps them for the page. A simulated patient's mail
is a real RFC 5322 message (`patient_email`: From the patient, To the clinic, its own
Message-ID, and In-Reply-To/References naming the last reply received, quoted below as a mail
client does) handed to the same parse + persist path the IMAP poller uses for every fetched mail
(`services.email_channel.EmailInbox.ingest`): only the IMAP transport is skipped.

State lives in the hub process (bounded): the simulator is a single-process demo tool. The
stand-in credentials are random per process (nobody outside it can sign a webhook with them). It
must be off in production (then every /sandbox route answers 404).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
import uuid
import warnings
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from twilio.request_validator import RequestValidator

from connectors import meta
from connectors.email import ThreadRef, bare_id, id_list, normalize_address, reference_chain, reply_subject
from handoff.domain.identity_match import normalize_phone
from handoff.settings import Settings

log = logging.getLogger(__name__)

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
MAX_MAIL_BYTES = 1024 * 1024
MAX_RECIPIENTS = 10
MAX_TIMELINES = 500
MAX_ENTRIES = 300
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
        # The stand-in SMTP server picks its port when it starts (`SandboxMailServer.start`).
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


# --- what the stand-in provider APIs received, as the patient's phone shows it ----------------


@dataclass
class Entry:
    """One bubble of a simulated chat."""

    seq: int
    direction: str  # "in" (the simulated patient) or "out" (the clinic)
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)  # WhatsApp reply buttons (id, title)
    rows: list[dict[str, str]] = field(default_factory=list)  # WhatsApp list rows (id, title, description)
    list_button: str | None = None
    quick_replies: list[dict[str, str]] = field(default_factory=list)  # Messenger/Instagram (title, payload)
    image: str | None = None
    template: str | None = None
    call: bool = False
    status: str = "sent"
    provider_id: str | None = None  # e-mail: the bare Message-ID
    subject: str | None = None  # e-mail
    references: list[str] = field(default_factory=list)  # e-mail: the mail's References (bare ids)
    at: float = field(default_factory=time.time)

    def view(self) -> dict[str, Any]:
        """JSON for the page."""
        return asdict(self)


def render_twilio(form: dict[str, str]) -> dict[str, Any]:
    """A Messages.json request as the phone shows it (options arrive as numbered lines)."""
    out: dict[str, Any] = {"text": form.get("Body") or ""}
    if form.get("MediaUrl"):
        out["image"] = form["MediaUrl"]
    if form.get("ContentSid"):
        variables = form.get("ContentVariables") or ""
        out["template"] = form["ContentSid"]
        out["text"] = f"[modelo aprovado {form['ContentSid']}] {variables}".strip()
    return out


def render_whatsapp(body: dict[str, Any]) -> dict[str, Any]:
    """A Cloud API /messages request as WhatsApp shows it."""
    kind = body.get("type")
    if kind == "text":
        return {"text": body["text"]["body"]}
    if kind == "image":
        return {"text": body["image"].get("caption") or "", "image": body["image"].get("link")}
    if kind == "template":
        return {"text": f"[modelo aprovado {body['template'].get('name')}]", "template": body["template"].get("name")}
    inter = body["interactive"]
    out: dict[str, Any] = {"text": inter["body"]["text"]}
    if inter.get("header", {}).get("type") == "image":
        out["image"] = inter["header"]["image"].get("link")
    if inter["type"] == "button":
        out["buttons"] = [{"id": b["reply"]["id"], "title": b["reply"]["title"]} for b in inter["action"]["buttons"]]
    else:
        out["list_button"] = inter["action"]["button"]
        out["rows"] = [{"id": r["id"], "title": r["title"], "description": r.get("description", "")}
                       for s in inter["action"]["sections"] for r in s["rows"]]
    return out


def render_messaging(body: dict[str, Any]) -> dict[str, Any]:
    """A Send API request as Messenger/Instagram shows it."""
    message = body["message"]
    attachment = message.get("attachment")
    if attachment:
        return {"text": "", "image": attachment.get("payload", {}).get("url")}
    quick = message.get("quick_replies") or []
    return {"text": message.get("text") or "", "quick_replies": [{"title": q["title"], "payload": q["payload"]}
                                                                 for q in quick]}


def whatsapp_problems(body: dict[str, Any]) -> list[str]:
    """What the Cloud API would refuse in a /messages request (its documented limits)."""
    problems = []
    kind = body.get("type")
    if body.get("messaging_product") != "whatsapp" or not body.get("to"):
        problems.append("messaging_product/to")
    if kind == "text" and not 0 < len(body["text"]["body"]) <= meta.WA_TEXT_BODY:
        problems.append("text.body")
    elif kind == "interactive":
        inter = body["interactive"]
        if not 0 < len(inter["body"]["text"]) <= meta.WA_INTERACTIVE_BODY:
            problems.append("interactive.body.text")
        if inter["type"] == "button":
            buttons = inter["action"]["buttons"]
            if not 1 <= len(buttons) <= meta.WA_MAX_BUTTONS or any(
                    not 0 < len(b["reply"]["title"]) <= meta.WA_BUTTON_TITLE for b in buttons):
                problems.append("buttons")
        elif inter["type"] == "list":
            rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
            if not 1 <= len(rows) <= meta.WA_MAX_ROWS or any(not 0 < len(r["title"]) <= meta.WA_ROW_TITLE
                                                              for r in rows):
                problems.append("rows")
        else:
            problems.append("interactive.type")
    elif kind not in ("text", "interactive", "image", "template"):
        problems.append("type")
    return problems


def messaging_problems(body: dict[str, Any]) -> list[str]:
    """What the Send API would refuse (quick replies ≤ 13 with titles ≤ 20, text ≤ 2000)."""
    problems = []
    if not body.get("recipient", {}).get("id"):
        problems.append("recipient.id")
    mtype = body.get("messaging_type")
    if mtype not in ("RESPONSE", "UPDATE", "MESSAGE_TAG") or (mtype == "MESSAGE_TAG") != bool(body.get("tag")):
        problems.append("messaging_type/tag")
    message = body.get("message", {})
    if not message.get("text") and not message.get("attachment"):
        problems.append("message")
    if len(message.get("text") or "") > 2000:
        problems.append("text length")
    quick = message.get("quick_replies") or []
    if len(quick) > meta.MAX_QUICK_REPLIES or any(not 0 < len(q["title"]) <= meta.QUICK_REPLY_TITLE for q in quick):
        problems.append("quick_replies")
    return problems


class SandboxState:
    """Every simulated chat: what the simulated people sent and what the stand-in APIs received."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._timelines: OrderedDict[tuple[str, str], list[Entry]] = OrderedDict()
        self.scoped: dict[str, str] = {}  # page-scoped id -> instagram | messenger (one /me/messages API)
        self.read_reported: set[int] = set()

    def add(self, channel: str, user: str, direction: str, **fields: Any) -> Entry:
        """Append a bubble to the chat of (`channel`, `user`)."""
        key = (channel, user)
        timeline = self._timelines.setdefault(key, [])
        self._timelines.move_to_end(key)
        while len(self._timelines) > MAX_TIMELINES:
            self._timelines.popitem(last=False)
        entry = Entry(seq=next(self._seq), direction=direction, **fields)
        timeline.append(entry)
        del timeline[:-MAX_ENTRIES]
        return entry

    def timeline(self, channel: str, user: str, after: int = 0) -> list[Entry]:
        """The chat's bubbles after `after` (sequence number)."""
        return [e for e in self._timelines.get((channel, user), []) if e.seq > after]

    def last_mail(self, user: str) -> Entry | None:
        """The latest mail the clinic sent this simulated address (what the patient answers)."""
        return next((e for e in reversed(self._timelines.get(("email", user), []))
                     if e.direction == "out" and e.provider_id), None)

    def find(self, provider_id: str) -> tuple[str, str, Entry] | None:
        """The bubble of a message the stand-in API accepted."""
        for (channel, user), entries in self._timelines.items():
            for e in entries:
                if e.provider_id == provider_id:
                    return channel, user, e
        return None


def dumps(body: dict[str, Any]) -> bytes:
    """JSON bytes as Meta sends them (compact, UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- e-mail: the stand-in mail provider and the simulated patient's mail ----------------------


def render_email(raw: bytes) -> dict[str, Any]:
    """A submitted mail as the patient's mail client shows it: subject and plain text (options
    arrive as numbered lines), plus its Message-ID and References for the patient's answer."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text = ""
    body = msg.get_body(preferencelist=("plain",)) if isinstance(msg, EmailMessage) else None
    if body is not None:
        with contextlib.suppress(LookupError, UnicodeError, ValueError, KeyError):
            text = str(body.get_content())
    return {"text": text.replace("\r\n", "\n").strip(), "subject": str(msg.get("Subject") or ""),
            "provider_id": bare_id(str(msg.get("Message-ID") or "")),
            "references": id_list(str(msg.get("References") or ""))}


def _first_line(text: str, limit: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "") or "Atendimento"
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def patient_email(settings: Settings, address: str, name: str | None, text: str,
                  answering: Entry | None) -> tuple[str, bytes]:
    """(bare Message-ID, raw bytes) of the mail a simulated patient writes, as a mail client
    writes it: a reply to the clinic's last mail carries In-Reply-To/References and quotes it."""
    clinic = settings.email_from or CLINIC_EMAIL
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = Address(display_name=name or "", addr_spec=address)
    mail["To"] = clinic
    now = datetime.now(UTC)
    mail["Date"] = format_datetime(now)
    msg_id = make_msgid(domain=address.split("@", 1)[1])
    mail["Message-ID"] = msg_id
    mail["X-Mailer"] = "atende simulador de pacientes"
    body = text
    if answering is not None and answering.provider_id:
        thread = ThreadRef(answering.provider_id, tuple(answering.references), answering.subject or "")
        mail["Subject"] = reply_subject(thread.subject)
        mail["In-Reply-To"] = f"<{thread.message_id}>"
        mail["References"] = " ".join(f"<{i}>" for i in reference_chain(thread))
        quoted = "\n".join("> " + line if line else ">" for line in answering.text.splitlines())
        sent = datetime.fromtimestamp(answering.at, UTC)
        body = f"{text}\n\nEm {sent:%d/%m/%Y} às {sent:%H:%M}, {clinic} escreveu:\n{quoted}\n"
    else:
        mail["Subject"] = _first_line(text)
    mail.set_content(body)
    return msg_id.strip("<>"), mail.as_bytes()


MailReceived = Callable[[str, list[str], bytes], None]


class SandboxMailServer:
    """The stand-in mail provider: an SMTP submission server (aiosmtpd) in the hub's event loop.

    Listens on 127.0.0.1 (a free port, chosen by the OS), requires AUTH with `user`/`password`
    (PLAIN/LOGIN; no TLS on loopback), accepts mail only from `sender` and hands every accepted
    message to `received(mail_from, recipients, raw)`. aiosmtpd's own log (addresses at INFO) is
    kept to errors: logs never carry personal data.
    """

    def __init__(self, *, user: str, password: str, sender: str, received: MailReceived) -> None:
        self.user, self.password = user, password
        self.sender = sender
        self.received = received
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, MAIL_HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("sandbox: stand-in SMTP server on %s:%d", MAIL_HOST, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: deliberate, loopback only
            warnings.simplefilter("ignore")
            return SMTP(_MailHandler(self), hostname="sandbox.atende.localhost", authenticator=self._authenticate,
                        auth_required=True, auth_require_tls=False, data_size_limit=MAX_MAIL_BYTES,
                        timeout=60)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and secrets.compare_digest(auth_data.login, self.user.encode())
              and secrets.compare_digest(auth_data.password, self.password.encode()))
        return AuthResult(success=ok, handled=False)


class _MailHandler:
    """aiosmtpd hooks: refuse what a submission server refuses, keep what it accepts."""

    def __init__(self, owner: SandboxMailServer) -> None:
        self.owner = owner

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd)
                          mail_options: list[str]) -> str:
        if normalize_address(f"<{address}>") != normalize_address(self.owner.sender):
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd)
                          rcpt_options: list[str]) -> str:
        if normalize_address(f"<{address}>") is None:
            return "553 5.1.3 Bad recipient address syntax"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            return "554 5.6.0 Message content rejected"
        self.owner.received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], raw)
        return "250 2.0.0 OK: queued"
