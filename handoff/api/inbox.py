"""Staff API: queue, conversations, inbox actions, agents, staff accounts and the live socket.

Contract: docs/CONTRACTS.md ("Issue 4 … Staff API"). Auth: bearer token or the session cookie
(`handoff/api/auth.py`); each endpoint checks the role; patient-data reads are audit-logged by
the inbox service. Errors are `{"error": {"code", "message"}}`: 400 bad body, 401, 403 role or
queue, 404, 409 lifecycle (`illegal_transition`) or ownership/capacity conflicts.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic.server.websockets.impl import WebsocketImplProtocol

from handoff.adapters.tasks import cancel_and_wait
from handoff.api.auth import credentials, error, parse_body, reason_of, require_access, require_staff, same_origin
from handoff.api.sockets import LockedSocket
from handoff.domain import access
from handoff.domain.routing import Presence
from handoff.runtime import HubRuntime
from handoff.services import staff
from handoff.services.handoff_config import clean_attributes
from handoff.services.inbox import Inbox
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC

bp = Blueprint("inbox", url_prefix="/api")
log = logging.getLogger(__name__)

_CONV_ID = re.compile(r"^[0-9a-fA-F-]{8,36}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


# -- bodies -----------------------------------------------------------------------------------


class ButtonBody(BaseModel):
    """A quick-reply button."""

    title: str = Field(min_length=1, max_length=40)
    payload: str = Field(min_length=1, max_length=200)


class ReplyBody(BaseModel):
    """`POST /api/conversations/<id>/reply`."""

    text: str = Field(min_length=1, max_length=4000)
    buttons: list[ButtonBody] = Field(default_factory=list, max_length=10)


class TemplateBody(BaseModel):
    """`POST /api/conversations/<id>/template`: an approved WhatsApp template and its variables."""

    template_id: str = Field(min_length=1, max_length=64)
    variables: list[str] = Field(default_factory=list, max_length=20)


class NoteBody(BaseModel):
    """`POST /api/conversations/<id>/notes`."""

    text: str = Field(min_length=1, max_length=4000)


class TagsBody(BaseModel):
    """`POST /api/conversations/<id>/tags`."""

    tags: list[str] = Field(max_length=20)


class ReasonBody(BaseModel):
    """`POST /api/conversations/<id>/reason`: the right reason tag (feeds the bot review)."""

    reason: str = Field(min_length=1, max_length=24)


class TransferBody(BaseModel):
    """`POST /api/conversations/<id>/transfer`: a queue or an agent."""

    queue: str | None = Field(default=None, max_length=32)
    agent_id: int | None = None


class ResolveBody(BaseModel):
    """`POST /api/conversations/<id>/resolve`."""

    outcome: Literal["resolved", "booked", "not_resolved"]


class PresenceBody(BaseModel):
    """`PUT /api/agents/me/presence`."""

    status: Literal["online", "away", "offline"]


class StaffBody(BaseModel):
    """`POST /api/staff`: a new attendant/manager/admin account."""

    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["attendant", "manager", "admin"]
    password: str = Field(min_length=10, max_length=200)
    skills: list[str] = Field(default_factory=list, max_length=100)
    queues: list[str] = Field(default_factory=list, max_length=20)
    max_concurrent: int = Field(default=4, ge=1, le=50)
    max_per_channel: dict[str, int] = Field(default_factory=dict)
    grants: list[Literal["privacy_officer", "all_queues"]] = Field(default_factory=list, max_length=2)


class StaffPatchBody(BaseModel):
    """`PATCH /api/staff/<id>`: only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["attendant", "manager", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    skills: list[str] | None = Field(default=None, max_length=100)
    queues: list[str] | None = Field(default=None, max_length=20)
    max_concurrent: int | None = Field(default=None, ge=1, le=50)
    max_per_channel: dict[str, int] | None = None
    grants: list[Literal["privacy_officer", "all_queues"]] | None = Field(default=None, max_length=2)


# -- helpers ----------------------------------------------------------------------------------


async def _inbox(request: Request) -> Inbox:
    runtime: HubRuntime = request.app.ctx.runtime
    await runtime.load_handoff()
    assert runtime.inbox is not None
    return runtime.inbox


def _who(request: Request) -> StaffIdentity:
    who: StaffIdentity = request.ctx.staff
    return who


def _check_id(conv_id: str) -> HTTPResponse | None:
    return None if _CONV_ID.match(conv_id) else error(404, "not_found", "conversa não encontrada")


# -- queue and conversations ----------------------------------------------------------------------


@bp.get("/queue")
@require_staff()
async def queue(request: Request) -> HTTPResponse:
    """Waiting conversations, most urgent first (attendants: their queues; `?queue=` filters)."""
    inbox = await _inbox(request)
    return json(await inbox.queue(_who(request), request.args.get("queue")))


@bp.get("/conversations")
@require_staff()
async def conversations(request: Request) -> HTTPResponse:
    """`?scope=mine|queued|all&state=`."""
    inbox = await _inbox(request)
    scope = request.args.get("scope") or "mine"
    return json(await inbox.conversations(_who(request), scope, request.args.get("state")))


@bp.get("/conversations/<conv_id:str>")
@require_staff()
async def conversation(request: Request, conv_id: str) -> HTTPResponse:
    """Everything about a conversation (audited)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    inbox = await _inbox(request)
    return json(await inbox.detail(_who(request), conv_id, getattr(request.app.ctx, "clinic", None),
                                   reason_of(request)))


@bp.get("/conversations/<conv_id:str>/patient")
@require_staff()
async def patient_card(request: Request, conv_id: str) -> HTTPResponse:
    """The conversation's patient card (audited)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    inbox = await _inbox(request)
    return json(await inbox.patient_card(_who(request), conv_id, getattr(request.app.ctx, "clinic", None),
                                         reason_of(request)))


@bp.post("/conversations/<conv_id:str>/claim")
@require_staff()
async def claim(request: Request, conv_id: str) -> HTTPResponse:
    """Manual pick from the queue."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    return json(await (await _inbox(request)).claim(_who(request), conv_id))


@bp.post("/conversations/<conv_id:str>/reply")
@require_staff()
async def reply(request: Request, conv_id: str) -> HTTPResponse:
    """A reply to the patient on their channel."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, ReplyBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, ReplyBody)
    buttons = [b.model_dump() for b in body.buttons]
    return json(await (await _inbox(request)).reply(_who(request), conv_id, body.text, buttons), status=201)


@bp.post("/conversations/<conv_id:str>/template")
@require_staff()
async def send_template(request: Request, conv_id: str) -> HTTPResponse:
    """An approved WhatsApp template (the only thing allowed outside the 24-hour window)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, TemplateBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, TemplateBody)
    runtime: HubRuntime = request.app.ctx.runtime
    template = next((t for t in runtime.settings.whatsapp_templates if t.id == body.template_id and t.for_agents),
                    None)
    if template is None:
        return error(404, "unknown_template", "modelo não encontrado")
    inbox = await _inbox(request)
    result = await inbox.send_template(_who(request), conv_id, template.model_dump(), body.variables)
    return json(result, status=201)


@bp.get("/templates")
@require_staff()
async def templates(request: Request) -> HTTPResponse:
    """The approved WhatsApp templates (WHATSAPP_TEMPLATES) attendants may send (not the hub's own)."""
    runtime: HubRuntime = request.app.ctx.runtime
    return json([t.model_dump() for t in runtime.settings.whatsapp_templates if t.for_agents])


@bp.post("/conversations/<conv_id:str>/notes")
@require_staff()
async def notes(request: Request, conv_id: str) -> HTTPResponse:
    """An internal note (never sent to the patient)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, NoteBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, NoteBody)
    return json(await (await _inbox(request)).note(_who(request), conv_id, body.text), status=201)


@bp.post("/conversations/<conv_id:str>/tags")
@require_staff()
async def tags(request: Request, conv_id: str) -> HTTPResponse:
    """Replace the tags."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, TagsBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, TagsBody)
    return json(await (await _inbox(request)).set_tags(_who(request), conv_id, body.tags))


@bp.post("/conversations/<conv_id:str>/reason")
@require_staff()
async def correct_reason(request: Request, conv_id: str) -> HTTPResponse:
    """Correct the bot's reason tag (audited; a `reason_corrected` event the bot review reads)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, ReasonBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, ReasonBody)
    return json(await (await _inbox(request)).correct_reason(_who(request), conv_id, body.reason))


@bp.post("/conversations/<conv_id:str>/transfer")
@require_staff()
async def transfer(request: Request, conv_id: str) -> HTTPResponse:
    """`{"queue"}` or `{"agent_id"}`."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, TransferBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, TransferBody)
    inbox = await _inbox(request)
    return json(await inbox.transfer(_who(request), conv_id, queue=body.queue, agent_id=body.agent_id))


@bp.post("/conversations/<conv_id:str>/wait")
@require_staff()
async def wait(request: Request, conv_id: str) -> HTTPResponse:
    """Waiting on the patient."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    return json(await (await _inbox(request)).wait(_who(request), conv_id))


@bp.post("/conversations/<conv_id:str>/resolve")
@require_staff()
async def resolve(request: Request, conv_id: str) -> HTTPResponse:
    """Resolve with an outcome (asks the patient CSAT 1–5)."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    body = parse_body(request, ResolveBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, ResolveBody)
    return json(await (await _inbox(request)).resolve(_who(request), conv_id, body.outcome))


@bp.post("/conversations/<conv_id:str>/reopen")
@require_staff()
async def reopen(request: Request, conv_id: str) -> HTTPResponse:
    """A resolved conversation back to its queue."""
    if (bad := _check_id(conv_id)) is not None:
        return bad
    return json(await (await _inbox(request)).reopen(_who(request), conv_id))


# -- agents and staff accounts ----------------------------------------------------------------------


@bp.get("/agents/me/presence")
@require_staff()
async def my_presence(request: Request) -> HTTPResponse:
    """`{"status", "at"}`."""
    me = await (await _inbox(request)).me(_who(request))
    return json({"status": me["presence"], "at": me["presence_at"]})


@bp.put("/agents/me/presence")
@require_staff()
async def set_my_presence(request: Request) -> HTTPResponse:
    """Choose online/away/offline (without an open staff socket, the sweep sets offline again)."""
    body = parse_body(request, PresenceBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, PresenceBody)
    runtime: HubRuntime = request.app.ctx.runtime
    assert runtime.presence is not None
    await runtime.presence.set_status(_who(request).id, Presence(body.status))
    me = await (await _inbox(request)).me(_who(request))
    return json({"status": me["presence"], "at": me["presence_at"]})


@bp.get("/agents")
@require_access("view", "metrics")
async def agents(request: Request) -> HTTPResponse:
    """Every active staff member with presence and occupancy."""
    return json(await (await _inbox(request)).agents())


@bp.post("/staff")
@require_access("change", "staff_admin")
async def create_staff(request: Request) -> HTTPResponse:
    """Create an attendant/manager/admin account with skills, queues and capacity."""
    body = parse_body(request, StaffBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, StaffBody)
    inbox = await _inbox(request)
    if not _EMAIL.match(body.email):
        return error(400, "invalid_body", "invalid or missing fields: email")
    refused = _routing_fields_error(inbox, body.queues, body.skills, body.max_per_channel)
    if refused is not None:
        return refused
    skills = clean_attributes(body.skills)
    try:
        new_id = await staff.create_staff(
            request.app.ctx.uow, body.email, body.name, body.role, body.password, skills=skills,
            queues=body.queues, max_concurrent=body.max_concurrent, max_per_channel=body.max_per_channel,
            grants=body.grants,
        )
    except staff.StaffExists:
        return error(409, "email_taken", "já existe uma conta com este e-mail")
    created = next(a for a in await inbox.agents() if a["id"] == new_id)
    return json(created, status=201)


def _routing_fields_error(inbox: Inbox, queues: list[str] | None, skills: list[str] | None,
                          max_per_channel: dict[str, int] | None) -> HTTPResponse | None:
    """The checks `POST` and `PATCH /api/staff` share (unknown queues, malformed skills, caps)."""
    unknown = sorted(set(queues or ()) - set(inbox.config.queue_names))
    if unknown:
        return error(400, "unknown_queue", f"unknown queues: {', '.join(unknown)}")
    if skills is not None and len(clean_attributes(skills)) != len(set(skills)):
        return error(400, "invalid_skills", "skills are kind:value with kind specialty, insurer or unit")
    if any(v < 1 for v in (max_per_channel or {}).values()):
        return error(400, "invalid_body", "invalid or missing fields: max_per_channel")
    return None


@bp.get("/staff")
@require_access("view", "staff_admin")
async def list_staff(request: Request) -> HTTPResponse:
    """Every account, deactivated ones included."""
    return json(await (await _inbox(request)).staff_accounts())


@bp.patch("/staff/<staff_id:int>")
@require_access("change", "staff_admin")
async def update_staff(request: Request, staff_id: int) -> HTTPResponse:
    """Change role, routing (queues, skills, capacity), password or deactivate an account."""
    body = parse_body(request, StaffPatchBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, StaffPatchBody)
    inbox = await _inbox(request)
    refused = _routing_fields_error(inbox, body.queues, body.skills, body.max_per_channel)
    if refused is not None:
        return refused
    changes = staff.StaffChanges(
        name=body.name, role=body.role, active=body.active, password=body.password,
        skills=clean_attributes(body.skills) if body.skills is not None else None, queues=body.queues,
        max_concurrent=body.max_concurrent, max_per_channel=body.max_per_channel, grants=body.grants,
    )
    return json(await inbox.update_staff(_who(request), staff_id, changes))  # refusals: handoff/api/errors.py


# -- the live socket --------------------------------------------------------------------------------


def visible(event: dict[str, Any], who: StaffIdentity, queues: frozenset[str]) -> bool:
    """Managers see everything; attendants their own conversations and their queues' ones."""
    if access.is_supervisor(who):
        return True
    agent_id = event.get("agent_id")
    if agent_id is not None and agent_id == who.id:
        return True
    if event.get("audience") == "managers" or agent_id is not None:
        return False
    return event.get("queue") in queues


@bp.websocket("/staff/ws")  # type: ignore[untyped-decorator]  # sanic types websocket routes loosely
async def staff_socket(request: Request, ws: WebsocketImplProtocol) -> None:
    """Live staff events; the socket's life sets the agent's presence (docs/CONTRACTS.md)."""
    runtime: HubRuntime = request.app.ctx.runtime
    token, via_cookie = credentials(request)
    if not token:
        token, via_cookie = (request.args.get("token") or "").strip(), False
    who = await staff.identify(runtime.uow, token) if token else None
    if who is None:
        await ws.close(code=4401, reason="unauthorized")
        return
    if via_cookie and request.headers.get("origin") and not same_origin(request):
        await ws.close(code=4403, reason="cross-site")
        return
    inbox = await _inbox(request)
    presence = runtime.presence
    assert presence is not None
    me = await inbox.me(who)
    queues = frozenset(me["queues"])
    sock = LockedSocket(ws, default=str)
    tasks: list[asyncio.Task[Any]] = []
    conn_id: str | None = None
    try:
        async with runtime.bus.subscribe(STAFF_TOPIC) as sub:
            conn_id = await presence.connected(who.id)
            me = await inbox.me(who)
            await sock.send({"type": "hello", "me": me})

            async def pump() -> None:
                nonlocal queues
                async for event in sub:
                    event.pop("topic", None)
                    if event.get("type") == "account_changed" and event.get("agent_id") == who.id:
                        # An admin changed this account: a deactivated one stops receiving at
                        # once (its tokens are already revoked); otherwise its queues may differ.
                        if not event.get("active"):
                            await ws.close(code=4401, reason="account disabled")
                            return
                        queues = frozenset((await inbox.me(who))["queues"])
                    if visible(event, who, queues):
                        await sock.send(event)

            async def heartbeat() -> None:
                assert conn_id is not None
                period = max(min(runtime.connections.ttl / 3 if runtime.connections else 15.0, 15.0), 1.0)
                while True:
                    await asyncio.sleep(period)
                    await presence.heartbeat(who.id, conn_id)

            tasks = [asyncio.create_task(pump()), asyncio.create_task(heartbeat())]
            while True:
                raw = await ws.recv()
                if raw is None:
                    break
                try:
                    frame = jsonlib.loads(raw)
                except ValueError:
                    await sock.send({"type": "error", "code": "bad_frame"})
                    continue
                kind = frame.get("type") if isinstance(frame, dict) else None
                if kind == "ping":
                    await sock.send({"type": "pong"})
                elif kind == "presence" and frame.get("status") in ("online", "away"):
                    await presence.set_status(who.id, Presence(frame["status"]))
    finally:
        await cancel_and_wait(tasks)
        if conn_id is not None:
            await presence.disconnected(who.id, conn_id)
