"""Security walk: every route of the hub × every kind of caller, and IDOR on every id in a path.

The expectation table `EXPECT` lists every route of `create_app` (method + path as Sanic names
it). A route added to the app without a row here fails `test_every_route_has_an_expectation`, so
the walk cannot silently miss one. Adding a route is one line: `"METHOD /path": "a o t m d s"`,
the expected answer of each caller in the order of `CALLERS`:

    anon  no credentials           other  an attendant of another queue (exams only)
    att   an attendant of the conversation's queue (reception)
    mgr   a manager   adm  an admin   svc  the clinic service token (the bot's actions)

Tokens: `401`, `403`, `404`, `503` exact; `deny` 403 or 404; `ok` 2xx; `3xx` a redirect (staff pages
without a session); `pass` authorization let the caller through (not 401/403, not a server error —
a 400/404/409 on the sample body or state is fine); `pub` a public route (webhooks, patient-facing
pages, the sandbox): any answer but a server error; `-` not exercised here (see `SKIPPED`).

Every path parameter is filled with a real id: each request on a conversation, message or patient
gets a fresh patient with a conversation waiting in the reception queue and one message carrying
an attachment, so requests cannot disturb each other. For the `other` attendant every such
request must be refused and its body must carry none of the patient's values (IDOR).

Runs in-process (httpx ASGI transport on the real app, like tests/clinic) on SQLite.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import AuditLog, ChannelIdentity, Conversation, Message, Patient, StaffUser
from handoff.app import create_app
from handoff.services import staff as staff_service
from tests.clinic.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, start_hub
from tests.conftest import Backend

CALLERS = ("anon", "other", "att", "mgr", "adm", "svc")
DEMO_PASSWORD = "equipe-senha-" + "z" * 10
OTHER_EMAIL, OTHER_PASSWORD = "dora@clinica.example", "dora-senha-" + "w" * 10

# method + path (Sanic's form) -> expected answer per caller (anon other att mgr adm svc)
EXPECT: dict[str, str] = {
    # -- public: health, patient-facing pages and assets, the web chat, login ---------------------
    "GET /healthz": "pub pub pub pub pub pub",
    "GET /": "ok ok ok ok ok ok",
    "GET /webchat/widget.js": "ok ok ok ok ok ok",
    "GET /webchat/widget_transport.js": "ok ok ok ok ok ok",
    "GET /webchat/widget_ui.js": "ok ok ok ok ok ok",
    "GET /webchat/widget.css": "ok ok ok ok ok ok",
    "GET /webchat/ws": "- - - - - -",
    "GET /login": "ok ok ok ok ok ok",
    "GET /inbox/login.js": "ok ok ok ok ok ok",
    "GET /inbox/inbox.js": "ok ok ok ok ok ok",
    "GET /static/<path:path>": "ok ok ok ok ok ok",
    "GET /inbox/inbox.css": "ok ok ok ok ok ok",
    "GET /equipe/team.js": "ok ok ok ok ok ok",
    "GET /equipe/team.css": "ok ok ok ok ok ok",
    "GET /bot/bot.js": "ok ok ok ok ok ok",
    "GET /bot/bot.css": "ok ok ok ok ok ok",
    "GET /dashboard/dashboard.js": "ok ok ok ok ok ok",
    "GET /dashboard/dashboard.css": "ok ok ok ok ok ok",
    "GET /auditoria/audit.js": "ok ok ok ok ok ok",
    "GET /auditoria/audit.css": "ok ok ok ok ok ok",
    "POST /api/auth/login": "pub pub pub pub pub pub",
    # -- staff pages: a session or /login; a 403 page for another role -----------------------------
    "GET /inbox": "3xx ok ok ok ok 3xx",
    "GET /equipe": "3xx 403 403 403 ok 3xx",
    "GET /bot": "3xx ok ok ok ok 3xx",
    "GET /dashboard": "3xx 403 403 ok ok 3xx",
    "GET /auditoria": "3xx 403 403 403 ok 3xx",
    # -- provider webhooks (signatures: tests/channels; fuzzing: helper E) --------------------------
    "GET /channels/meta": "pub pub pub pub pub pub",
    "POST /channels/meta": "pub pub pub pub pub pub",
    "POST /channels/twilio/messages": "pub pub pub pub pub pub",
    "POST /channels/twilio/status": "pub pub pub pub pub pub",
    "POST /channels/twilio/voice": "pub pub pub pub pub pub",
    "POST /channels/twilio/voice/status": "pub pub pub pub pub pub",
    "POST /channels/twilio/voice/menu": "pub pub pub pub pub pub",
    # -- the patient simulator (CHANNEL_SANDBOX; off in production = every /sandbox route 404) ----
    "GET /sandbox": "pub pub pub pub pub pub",
    "GET /sandbox/sandbox.js": "pub pub pub pub pub pub",
    "GET /sandbox/api/channels": "pub pub pub pub pub pub",
    "GET /sandbox/api/timeline": "pub pub pub pub pub pub",
    "POST /sandbox/api/send": "pub pub pub pub pub pub",
    "POST /sandbox/api/call": "pub pub pub pub pub pub",
    "POST /sandbox/providers/meta/<version:str>/<node:str>/messages": "pub pub pub pub pub pub",
    "POST /sandbox/providers/twilio/2010-04-01/Accounts/<sid:str>/Messages.json": "pub pub pub pub pub pub",
    "POST /sandbox/providers/twilio/2010-04-01/Accounts/<sid:str>/Calls.json": "pub pub pub pub pub pub",
    # -- staff session -----------------------------------------------------------------------------
    "GET /api/auth/me": "401 ok ok ok ok 401",
    "POST /api/auth/logout": "- - - - - -",
    "POST /api/triage": "401 pass pass pass pass 401",
    # -- inbox: lists, conversations (per-conversation scope), agents, staff accounts ----------------
    "GET /api/queue": "401 ok ok ok ok 401",
    "GET /api/conversations": "401 ok ok ok ok 401",
    "GET /api/templates": "401 ok ok ok ok 401",
    "GET /api/conversations/<conv_id:str>": "401 deny ok ok ok 401",
    "GET /api/conversations/<conv_id:str>/patient": "401 deny ok ok ok 401",
    "POST /api/conversations/<conv_id:str>/claim": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/reply": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/template": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/notes": "401 deny ok ok ok 401",
    "POST /api/conversations/<conv_id:str>/tags": "401 deny ok ok ok 401",
    "POST /api/conversations/<conv_id:str>/reason": "401 deny ok ok ok 401",
    "POST /api/conversations/<conv_id:str>/transfer": "401 deny pass ok ok 401",
    "POST /api/conversations/<conv_id:str>/wait": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/resolve": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/reopen": "401 deny pass pass pass 401",
    "POST /api/conversations/<conv_id:str>/call": "401 deny pass pass pass 401",
    "GET /api/messages/<message_id:int>/attachments/<index:int>": "401 deny pass pass pass 401",
    "GET /api/agents/me/presence": "401 ok ok ok ok 401",
    "PUT /api/agents/me/presence": "401 ok ok ok ok 401",
    "GET /api/agents": "401 403 403 ok ok 401",
    "GET /api/staff": "401 403 403 403 ok 401",
    "POST /api/staff": "401 403 403 403 pass 401",
    "PATCH /api/staff/<staff_id:int>": "401 403 403 403 ok 401",
    "GET /api/staff/ws": "- - - - - -",
    "POST /api/patients/merge": "401 deny pass pass pass 401",
    # -- metrics -------------------------------------------------------------------------------------
    "GET /api/metrics": "401 403 403 ok ok 401",
    "GET /api/metrics.csv": "401 403 403 ok ok 401",
    # -- the audit viewer ------------------------------------------------------------------------------
    "GET /api/audit": "401 403 403 403 ok 401",
    "GET /api/audit.csv": "401 403 403 403 ok 401",
    # -- clinic API: the bot's service token or staff; patient data within the caller's scope ---------
    "GET /api/clinic/info": "401 ok ok ok ok ok",
    "GET /api/clinic/specialties": "401 ok ok ok ok ok",
    "GET /api/clinic/doctors": "401 ok ok ok ok ok",
    "GET /api/clinic/slots": "401 ok ok ok ok ok",
    "GET /api/clinic/exams": "401 ok ok ok ok ok",
    "GET /api/clinic/exams/<slug:str>": "401 pass pass pass pass pass",
    "GET /api/clinic/prices": "401 ok ok ok ok ok",
    "GET /api/clinic/insurers": "401 ok ok ok ok ok",
    "GET /api/clinic/patients/<patient_id:int>": "401 deny ok ok ok ok",
    "POST /api/clinic/patients/<patient_id:int>/identify": "401 deny pass pass pass pass",
    "POST /api/clinic/patients/<patient_id:int>/consent": "401 deny ok ok ok ok",
    "GET /api/clinic/patients/<patient_id:int>/appointments": "401 deny ok ok ok ok",
    "GET /api/clinic/patients/<patient_id:int>/exam-results": "401 deny ok ok ok ok",
    "GET /api/clinic/patients/<patient_id:int>/boletos": "401 deny ok ok ok ok",
    "POST /api/clinic/appointments": "401 deny pass pass pass pass",
    "POST /api/clinic/appointments/<appointment_id:int>/confirm": "401 deny pass pass pass pass",
    "POST /api/clinic/appointments/<appointment_id:int>/cancel": "401 deny pass pass pass pass",
    "POST /api/clinic/appointments/<appointment_id:int>/reschedule": "401 deny pass pass pass pass",
    # capability links opened by the patient's browser: the unguessable token is the credential
    "GET /api/clinic/boletos/<token:str>/segunda-via.pdf": "404 404 404 404 404 404",
    "GET /api/clinic/exam-results/<token:str>/laudo.pdf": "404 404 404 404 404 404",
    # -- teaching the bot ------------------------------------------------------------------------------
    "GET /api/bot/review": "401 ok ok ok ok 401",
    "POST /api/bot/review/<message_id:int>": "401 pass pass pass pass 401",
    "GET /api/bot/intents": "401 ok ok ok ok 401",
    "POST /api/bot/intents": "401 403 403 pass pass 401",
    "GET /api/bot/intents/<name:str>": "401 pass pass pass pass 401",
    "PATCH /api/bot/intents/<name:str>": "401 403 403 pass pass 401",
    "DELETE /api/bot/intents/<name:str>": "401 403 403 pass pass 401",
    "GET /api/bot/answers": "401 ok ok ok ok 401",
    "PUT /api/bot/answers/<utter:str>": "401 403 403 pass pass 401",
    "DELETE /api/bot/answers/<utter:str>": "401 403 403 pass pass 401",
    "GET /api/bot/layer": "401 403 403 ok ok 401",
    "GET /api/bot/models": "401 403 403 ok ok 401",
    "POST /api/bot/models": "401 403 403 - - 401",
    "GET /api/bot/models/<model_id:int>": "401 403 403 404 404 401",
    "DELETE /api/bot/models/<model_id:int>": "401 403 403 404 404 401",
    "POST /api/bot/models/<model_id:int>/deploy": "401 403 403 404 404 401",
    "POST /api/bot/rollback": "401 403 403 pass pass 401",
    # -- privacy by design (issue 13): public notice, data-subject requests, retention, incidents ------
    "GET /site.css": "ok ok ok ok ok ok",
    "GET /site.js": "ok ok ok ok ok ok",
    "GET /sandbox/sandbox.css": "pub pub pub pub pub pub",
    "GET /privacidade/aviso": "ok ok ok ok ok ok",
    "GET /privacidade/aviso.css": "ok ok ok ok ok ok",
    "GET /privacidade/privacy.js": "ok ok ok ok ok ok",
    "GET /privacidade/privacy.css": "ok ok ok ok ok ok",
    "GET /privacidade/privacy_records.css": "ok ok ok ok ok ok",
    "GET /privacidade/privacy_retention.js": "ok ok ok ok ok ok",
    "GET /privacidade/privacy_incidents.js": "ok ok ok ok ok ok",
    "GET /privacidade": "3xx 403 403 403 ok 3xx",
    "GET /privacidade/retencao": "3xx 403 403 403 ok 3xx",
    "GET /privacidade/incidentes": "3xx 403 403 403 ok 3xx",
    "POST /api/clinic/privacy-requests": "401 403 403 403 403 pass",
    "GET /api/privacy/requests": "401 403 403 403 ok 401",
    "POST /api/privacy/requests": "401 403 403 403 pass 401",
    "GET /api/privacy/requests/<request_id:int>": "401 403 403 403 ok 401",
    "GET /api/privacy/requests/<request_id:int>/export.zip": "401 403 403 403 pass 401",
    "GET /api/privacy/requests/<request_id:int>/export.pdf": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/transition": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/assign": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/correction": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/answer": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/reject": "401 403 403 403 pass 401",
    "POST /api/privacy/requests/<request_id:int>/erasure": "401 403 403 403 pass 401",
    # the export link sent to the patient with the answer: the token is the credential (unknown -> 404)
    "GET /api/privacy/exportacao/<request_id:int>/<token:str>/dados.zip": "404 404 404 404 404 404",
    "GET /api/privacy/exportacao/<request_id:int>/<token:str>/dados.pdf": "404 404 404 404 404 404",
    "GET /api/privacy/retention": "401 403 403 403 ok 401",
    "PUT /api/privacy/retention": "401 403 403 403 pass 401",
    "GET /api/privacy/disposal-runs": "401 403 403 403 ok 401",
    "POST /api/privacy/disposal-runs": "401 403 403 403 pass 401",
    "GET /api/privacy/incidents": "401 403 403 403 ok 401",
    "POST /api/privacy/incidents": "401 403 403 403 pass 401",
    "PATCH /api/privacy/incidents/<incident_id:int>": "401 403 403 403 pass 401",
    # -- interaction records (issue 14): the delivery log and replay, managers and admins ------------
    "GET /integracoes": "3xx 403 403 ok ok 3xx",
    "GET /integracoes/integrations.js": "ok ok ok ok ok ok",
    "GET /integracoes/integrations.css": "ok ok ok ok ok ok",
    "GET /api/integrations/deliveries": "401 403 403 ok ok 401",
    "POST /api/integrations/deliveries/<delivery_id:int>/replay": "401 403 403 pass pass 401",
    # -- the clinic's own agenda (issue 14): doctors' calendars and a sync pass; builtin here -> 409 --
    "GET /api/agenda": "401 403 403 ok ok 401",
    "PUT /api/agenda/doctors/<doctor_id:int>": "401 403 403 pass pass 401",
    "POST /api/agenda/sync": "401 403 403 pass pass 401",
    # -- waitlist (issue 15): the bot's side (service token or staff in scope) and the staff side --
    "POST /api/clinic/waitlist": "401 pass pass pass pass pass",
    "DELETE /api/clinic/waitlist/<entry_id:int>": "401 deny pass pass pass pass",
    "POST /api/clinic/waitlist/offers/<offer_id:int>/accept": "401 deny pass pass pass pass",
    "POST /api/clinic/waitlist/offers/<offer_id:int>/decline": "401 deny pass pass pass pass",
    "GET /api/waitlist": "401 403 403 ok ok 401",
    "GET /api/waitlist/stats": "401 403 403 ok ok 401",
    # -- reminders (issue 15): history (patient records), stats (metrics), the e-mail confirm link --
    # (without ?appointment_id= every staff caller gets 400; the patient scope is tested in tests/reminders)
    "GET /api/reminders": "401 pass pass pass pass 401",
    "GET /api/reminders/stats": "401 403 403 ok ok 401",
    # the settings page /lembretes (access "reminder_settings"; without a body the changes are a 400)
    "GET /lembretes": "3xx 403 403 ok ok 3xx",
    "GET /lembretes/reminders.js": "ok ok ok ok ok ok",
    "GET /lembretes/reminders.css": "ok ok ok ok ok ok",
    "GET /api/reminders/rules": "401 403 403 ok ok 401",
    "PUT /api/reminders/rules": "401 403 403 pass pass 401",
    "GET /api/reminders/texts": "401 403 403 ok ok 401",
    "PUT /api/reminders/texts": "401 403 403 pass pass 401",
    "POST /api/reminders/preview": "401 403 403 pass pass 401",
    "POST /api/reminders/test": "401 403 403 pass pass 401",
    "GET /lembrete/<token:str>/confirmar": "pub pub pub pub pub pub",
    "POST /lembrete/<token:str>/confirmar": "pub pub pub pub pub pub",
}

# Why a cell is `-`: what covers it instead.
SKIPPED = {
    "GET /webchat/ws": "WebSocket: tests/unit/test_webchat_frames.py and tests/e2e/test_webchat_browser.py",
    "GET /api/staff/ws": "WebSocket: 4401 without a token, tests/handoff/test_inbox_api.py",
    "POST /api/auth/logout": "revokes the caller's token (the walk reuses them): tests/handoff/test_inbox_api.py",
    "POST /api/bot/models": "starts a real training run: tests/e2e/test_bot_models.py",
}

# Sample bodies: valid where possible, so the request reaches the per-object check.
BODIES: dict[str, Any] = {
    "PUT /api/agenda/doctors/<doctor_id:int>": {"agenda_ref": "/atende/cal-cardio/"},
    "POST /api/triage": {"text": "quero marcar consulta"},
    "POST /api/conversations/<conv_id:str>/reply": {"text": "Olá, em que posso ajudar?"},
    "POST /api/conversations/<conv_id:str>/template": {"template_id": "nao-existe"},
    "POST /api/conversations/<conv_id:str>/notes": {"text": "nota interna"},
    "POST /api/conversations/<conv_id:str>/tags": {"tags": ["retorno"]},
    "POST /api/conversations/<conv_id:str>/reason": {"reason": "booking"},
    "POST /api/conversations/<conv_id:str>/transfer": {"queue": "exams"},
    "POST /api/conversations/<conv_id:str>/resolve": {"outcome": "resolved"},
    "POST /api/conversations/<conv_id:str>/call": {"agent_phone": "+5511999990000"},
    "PUT /api/agents/me/presence": {"status": "away"},
    "POST /api/staff": {},
    "PATCH /api/staff/<staff_id:int>": {},
    "POST /api/patients/merge": "merge",
    "POST /api/clinic/patients/<patient_id:int>/identify": {"cpf": "00000000000"},
    "POST /api/clinic/patients/<patient_id:int>/consent": {"granted": True, "version": "2026-01"},
    "POST /api/clinic/appointments": "book",
    "POST /api/clinic/appointments/<appointment_id:int>/reschedule": {"slot_id": "x"},
    "POST /api/bot/review/<message_id:int>": {"ignore": True},
    "POST /api/bot/intents": {},
    "PATCH /api/bot/intents/<name:str>": {},
    "PUT /api/bot/answers/<utter:str>": {},
    "POST /sandbox/api/send": {},
    "POST /sandbox/api/call": {},
}


@dataclass
class Subject:
    """A fresh patient with a conversation waiting in reception and one message with a file."""

    patient_id: int
    conv_id: str
    message_id: int
    secrets: tuple[str, ...]


@dataclass
class World:
    hub: Hub
    headers: dict[str, dict[str, str]]
    ids: dict[str, int]
    appointment: int
    appointment_secrets: tuple[str, ...]
    slot_id: str
    request_id: int


async def new_subject(hub: Hub, queue: str = "reception") -> Subject:
    return await insert_subject(hub.app.ctx.db, queue)


async def insert_subject(db: Any, queue: str = "reception") -> Subject:
    """The rows the channel pipeline would have written (tests/e2e/test_audit_browser.py uses it too)."""
    tag = uuid.uuid4().hex[:10]
    name, phone, text = f"Paciente Sigilo {tag}", f"+55119{secrets.randbelow(10**8):08d}", f"segredo-{tag}"
    now = utcnow()
    async with db.session() as s:
        patient = Patient(display_name=name, phone=phone, created_at=now)
        s.add(patient)
        await s.flush()
        ident = ChannelIdentity(channel="whatsapp", external_id=phone, patient_id=patient.id, created_at=now)
        s.add(ident)
        await s.flush()
        conv = Conversation(id=str(uuid.uuid4()), patient_id=patient.id, identity_id=ident.id, channel="whatsapp",
                            state="queued", reason="billing", priority="normal", queue=queue, created_at=now,
                            updated_at=now, last_inbound_at=now, waiting_since=now)
        s.add(conv)
        await s.flush()
        msg = Message(conversation_id=conv.id, direction="in", sender="patient", channel="whatsapp", text=text,
                      payload={"attachments": [{"content_type": "image/jpeg", "filename": f"exame-{tag}.jpg"}]},
                      status="processed", created_at=now)
        s.add(msg)
        await s.flush()
        ids = (patient.id, conv.id, msg.id)
    return Subject(ids[0], ids[1], ids[2], (name, phone, text, phone[3:]))


async def _login(hub: Hub, email: str, password: str) -> dict[str, str]:
    r = await hub.client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    hub.client.cookies.clear()  # the walk's callers are told apart by their header only
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
async def world(tmp_path: Any) -> AsyncIterator[World]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    backend = Backend("sqlite", url, None)
    hub, life = await start_hub(backend, seed_demo_clinic=True, demo_staff_password=DEMO_PASSWORD)
    try:
        await staff_service.create_staff(hub.app.ctx.uow, OTHER_EMAIL, "Dora (exames)", "attendant",
                                         OTHER_PASSWORD, queues=("exams",))
        headers = {
            "anon": {},
            "other": await _login(hub, OTHER_EMAIL, OTHER_PASSWORD),
            "att": await _login(hub, "ana@clinica.example", DEMO_PASSWORD),
            "mgr": await _login(hub, "gerente@clinica.example", DEMO_PASSWORD),
            "adm": await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD),
            "svc": hub.service,
        }
        async with hub.app.ctx.db.session() as s:
            ids = {u.email: u.id for u in (await s.execute(select(StaffUser))).scalars().all()}
        # An appointment of a patient whose conversation waits in reception.
        owner = await new_subject(hub)
        slots = (await hub.client.get("/api/clinic/slots", headers=hub.service)).json()
        assert len(slots) >= 2, slots
        r = await hub.client.post("/api/clinic/appointments", headers=hub.service,
                                  json={"patient_id": owner.patient_id, "slot_id": slots[0]["slot_id"]})
        assert r.status_code == 201, r.text
        appointment = r.json()["id"]
        # A data-subject request (export) of that patient, opened by the admin.
        r = await hub.client.post("/api/privacy/requests", headers=headers["adm"],
                                  json={"patient_id": owner.patient_id, "kind": "export"})
        assert r.status_code == 201, r.text
        yield World(hub, headers, ids, appointment, owner.secrets, slots[1]["slot_id"], r.json()["id"])
    finally:
        await hub.client.aclose()
        await life.stop()


def app_routes() -> set[str]:
    """Every route of the app as "METHOD /path" (HEAD/OPTIONS are Sanic's own)."""
    app = create_app(name=f"walk_{uuid.uuid4().hex[:8]}")
    out = set()
    for route in app.router.routes:
        for method in route.methods:
            if method in ("HEAD", "OPTIONS"):
                continue
            out.add(f"{method} /{route.path}".rstrip("/") if route.path else f"{method} /")
    return out


def test_every_route_has_an_expectation() -> None:
    routes = app_routes()
    missing = sorted(routes - set(EXPECT))
    stale = sorted(set(EXPECT) - routes)
    assert not missing, f"routes without a row in EXPECT (add one line each): {missing}"
    assert not stale, f"rows in EXPECT for routes that no longer exist: {stale}"
    for key, row in EXPECT.items():
        tokens = row.split()
        assert len(tokens) == len(CALLERS), key
        assert set(tokens) <= {"401", "403", "404", "503", "deny", "ok", "3xx", "pass", "pub", "-"}, key
        if "-" in tokens:
            assert key in SKIPPED, f"{key}: say in SKIPPED what covers the cells not exercised"


def _matches(token: str, status: int) -> bool:
    if token in ("401", "403", "404", "503"):
        return status == int(token)
    if token == "deny":
        return status in (403, 404)
    if token == "ok":
        return 200 <= status < 300
    if token == "3xx":
        return 300 <= status < 400
    if token == "pass":
        return status not in (401, 403) and (status < 500 or status in (502, 503))
    if token == "pub":
        return status < 500 or status in (502, 503)
    raise AssertionError(token)


async def _request(w: World, key: str, caller: str) -> tuple[httpx.Response, tuple[str, ...]]:
    method, template = key.split(" ", 1)
    path, leaks = template, tuple[str, ...]()
    if any(p in template for p in ("<conv_id", "<message_id", "<patient_id")):
        subject = await new_subject(w.hub)
        leaks = subject.secrets
        path = (path.replace("<conv_id:str>", subject.conv_id).replace("<message_id:int>", str(subject.message_id))
                .replace("<patient_id:int>", str(subject.patient_id)).replace("<index:int>", "0"))
    if "<appointment_id:int>" in path:
        path, leaks = path.replace("<appointment_id:int>", str(w.appointment)), w.appointment_secrets
    fill = {"<staff_id:int>": str(w.ids["ana@clinica.example"]), "<model_id:int>": "987654",
            "<name:str>": "intencao_inexistente", "<utter:str>": "utter_greet", "<slug:str>": "hemograma",
            "<token:str>": "x" * 32, "<version:str>": "v21.0", "<node:str>": "123", "<sid:str>": "AC123",
            "<request_id:int>": str(w.request_id), "<incident_id:int>": "987654",
            "<delivery_id:int>": "987654", "<doctor_id:int>": "1",
            "<entry_id:int>": "987654", "<offer_id:int>": "987654", "<path:path>": "lib/dom.js"}
    for param, value in fill.items():
        path = path.replace(param, value)
    body = BODIES.get(key)
    if body == "merge":  # two records of the same person, both waiting in reception
        keep, fold = await new_subject(w.hub), await new_subject(w.hub)
        body, leaks = {"keep_id": keep.patient_id, "merge_id": fold.patient_id}, keep.secrets + fold.secrets
    if body == "book":
        owner = await new_subject(w.hub)
        body, leaks = {"patient_id": owner.patient_id, "slot_id": w.slot_id}, owner.secrets
    if key == "POST /api/clinic/appointments/<appointment_id:int>/reschedule":
        body = {"slot_id": w.slot_id}
    headers = dict(w.headers[caller])
    w.hub.client.cookies.clear()
    if key == "GET /api/audit.csv":
        path += "?reason=auditoria+de+rotina"
    if method in ("GET", "DELETE"):
        r = await w.hub.client.request(method, path, headers=headers)
    else:
        r = await w.hub.client.request(method, path, headers=headers, json=body if body is not None else {})
    return r, leaks


async def test_every_route_answers_every_caller_as_expected(world: World) -> None:
    failures: list[str] = []
    for key, row in EXPECT.items():
        for caller, token in zip(CALLERS, row.split(), strict=True):
            if token == "-":
                continue
            r, leaks = await _request(world, key, caller)
            if not _matches(token, r.status_code):
                failures.append(f"{key} as {caller}: expected {token}, got {r.status_code} {r.text[:160]}")
            if caller in ("anon", "other") and token in ("401", "403", "404", "deny"):
                leaked = [v for v in leaks if v in r.text]
                if leaked:
                    failures.append(f"{key} as {caller}: the refusal leaks {leaked}")
    assert not failures, "\n".join(failures)


async def test_an_attendant_of_another_queue_reaches_nothing_by_id(world: World) -> None:
    """IDOR, spelled out: every id of someone else's patient, with every method, refused, and the
    refusal says nothing about the patient; the same requests are answered for the right team."""
    hub, other, ana = world.hub, world.headers["other"], world.headers["att"]
    s = await new_subject(hub)
    reads = [f"/api/conversations/{s.conv_id}", f"/api/conversations/{s.conv_id}/patient",
             f"/api/messages/{s.message_id}/attachments/0", f"/api/clinic/patients/{s.patient_id}",
             f"/api/clinic/patients/{s.patient_id}/appointments", f"/api/clinic/patients/{s.patient_id}/boletos",
             f"/api/clinic/patients/{s.patient_id}/exam-results"]
    for path in reads:
        r = await hub.client.get(path, headers=other)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert not any(v in r.text for v in s.secrets), path
        assert (await hub.client.get(path, headers=ana)).status_code != 403, path
    # Lists: the other team's attendant never sees the conversation nor the patient's name.
    for path in ("/api/queue", "/api/conversations?scope=queued", "/api/conversations?scope=mine"):
        r = await hub.client.get(path, headers=other)
        assert r.status_code == 200 and s.conv_id not in r.text and s.secrets[0] not in r.text, path
    assert (await hub.client.get("/api/conversations?scope=all", headers=other)).status_code == 403
    assert s.conv_id in (await hub.client.get("/api/queue", headers=ana)).text
    # A patient record out of reach answers exactly like one that does not exist.
    hidden = await hub.client.get(f"/api/clinic/patients/{s.patient_id}", headers=other)
    missing = await hub.client.get(f"/api/clinic/patients/{10**12}", headers=other)
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) == (
        404, {"error": {"code": "patient_not_found", "message": "patient not found"}})
    # Nothing was audited for the refused reads, and the allowed ones name the patient.
    async with hub.app.ctx.db.session() as sess:
        rows = (await sess.execute(select(AuditLog).where(AuditLog.staff_id == world.ids[OTHER_EMAIL]))).scalars()
        assert [a.action for a in rows if a.action != "login"] == []
        mine = (await sess.execute(select(AuditLog).where(
            AuditLog.staff_id == world.ids["ana@clinica.example"], AuditLog.action != "login"))).scalars().all()
    assert mine and all(a.patient_id == s.patient_id for a in mine), [(a.action, a.patient_id) for a in mine]


async def test_outside_the_own_scope_a_reason_is_required_and_audited(world: World) -> None:
    """An attendant granted `all_queues` opens another queue's conversation only with a reason."""
    hub = world.hub
    s = await new_subject(hub)
    r = await hub.client.patch(f"/api/staff/{world.ids[OTHER_EMAIL]}", headers=world.headers["adm"],
                               json={"grants": ["all_queues"]})
    assert r.status_code == 200 and r.json()["grants"] == ["all_queues"], r.text
    dora = await _login(hub, OTHER_EMAIL, OTHER_PASSWORD)  # the grant is read on each request
    path = f"/api/conversations/{s.conv_id}"
    r = await hub.client.get(path, headers=dora)
    assert r.status_code == 403 and r.json()["error"]["code"] == "reason_required"
    assert r.json()["error"]["message"] == "informe o motivo do acesso (de 3 a 300 caracteres)"
    assert not any(v in r.text for v in s.secrets)
    r = await hub.client.get(path, headers=dora, params={"reason": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_reason"
    r = await hub.client.get(path, headers=dora, params={"reason": "paciente ligou pedindo retorno"})
    assert r.status_code == 200 and s.secrets[2] in r.text
    r = await hub.client.get(f"/api/messages/{s.message_id}/attachments/0", headers=dora)
    assert r.status_code == 403 and r.json()["error"]["code"] == "reason_required"
    r = await hub.client.get(f"/api/clinic/patients/{s.patient_id}", headers=dora)
    assert r.status_code == 403 and r.json()["error"]["code"] == "reason_required"
    r = await hub.client.get(f"/api/clinic/patients/{s.patient_id}", headers=dora, params={"reason": "confirmar"})
    assert r.status_code == 200
    assert (await hub.client.get("/api/conversations?scope=all", headers=dora)).status_code == 200
    async with hub.app.ctx.db.session() as sess:
        rows = (await sess.execute(select(AuditLog).where(
            AuditLog.staff_id == world.ids[OTHER_EMAIL], AuditLog.action != "login").order_by(AuditLog.id))).scalars()
        got = [(a.action, a.patient_id, a.reason) for a in rows]
    assert got == [
        ("view_conversation", s.patient_id, "paciente ligou pedindo retorno"),
        ("view_patient", s.patient_id, "paciente ligou pedindo retorno"),
        ("clinic.patient.read", s.patient_id, "confirmar"),
    ]
