"""The simulated chats: what the simulated people sent and what the stand-in APIs received.

Each request a stand-in provider API accepts becomes a bubble (`Entry`) rendered as the
patient's phone shows it (`render_*`), after the checks the real API would refuse it for
(`*_problems`: the documented limits). State lives in the hub process, bounded: the simulator is a
single-process demo tool.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from sanic import Sanic

from connectors import meta

MAX_TIMELINES = 500
MAX_ENTRIES = 300


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


def sandbox_state(app: Sanic[Any, Any]) -> SandboxState:
    """The simulated chats of this hub process (created on first use)."""
    state = getattr(app.ctx, "sandbox_state", None)
    if state is None:
        state = app.ctx.sandbox_state = SandboxState()
    assert isinstance(state, SandboxState)
    return state
