"""The staff API end to end over HTTP and WebSockets against a real hub process, on SQLite and
on PostgreSQL + Redis: roles, session cookie and CSRF, queue order, claim, replies reaching the
patient's web chat, internal notes that never do, transfers, resolve with CSAT, reopen, audit.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handoff.adapters.sql.models import (
    AuditLog,
    Conversation,
    ConversationEvent,
    CsatResponse,
    Message,
    StaffUser,
)
from tests.conftest import Backend
from tests.handoff.conftest import (
    ADMIN_EMAIL,
    ANA,
    BRUNO,
    CARLA,
    DEMO_PASSWORD,
    MANAGER,
    LiveHub,
    eventually,
    live_hub,
    say,
)
from tests.support.fake_rasa import FakeRasa
from tests.support.stack import BotStack

XRW = {"X-Requested-With": "atende"}


async def _conv(hub: LiveHub, conv_id: str) -> Conversation:
    rows = await hub.rows(select(Conversation).where(Conversation.id == conv_id))
    return rows[0]


async def _event_types(hub: LiveHub, conv_id: str) -> list[str]:
    rows = await hub.rows(select(ConversationEvent).where(ConversationEvent.conversation_id == conv_id)
                          .order_by(ConversationEvent.id))
    return [e.type for e in rows]


async def _staff_id(hub: LiveHub, email: str) -> int:
    rows = await hub.rows(select(StaffUser).where(StaffUser.email == email))
    return int(rows[0].id)


async def _queued(hub: LiveHub, token: str, n: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        async with hub.client(token) as c:
            r = await c.get("/api/queue")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()
        return items if len(items) >= n else None
    result: list[dict[str, Any]] = await eventually(check, what=f"{n} conversations in the queue")
    return result


async def test_roles_session_cookie_and_csrf(backend: Backend, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, fake_rasa.url) as hub:
        async with hub.client() as anon:
            assert (await anon.get("/api/queue")).status_code == 401
            assert (await anon.get("/api/queue", headers={"Authorization": "Bearer nope"})).status_code == 401
            assert (await anon.get("/api/auth/me")).status_code == 401
            bad = await anon.post("/api/auth/login", json={"email": ANA, "password": "wrong-password"})
            assert bad.status_code == 401
            # Log in: a token plus the HttpOnly session cookie.
            r = await anon.post("/api/auth/login", json={"email": ANA, "password": DEMO_PASSWORD})
            assert r.status_code == 200
            set_cookie = r.headers.get("set-cookie", "")
            assert "atende_session=" in set_cookie and "httponly" in set_cookie.lower()
            ana_token = r.json()["token"]
        async with hub.client(cookies={"atende_session": ana_token}) as browser:
            me = await browser.get("/api/auth/me")
            assert me.status_code == 200 and me.json()["role"] == "attendant"
            assert set(me.json()["queues"]) == {"reception", "billing"}
            # CSRF: cookie requests that change state need our header or our origin.
            body = {"status": "away"}
            assert (await browser.put("/api/agents/me/presence", json=body)).status_code == 403
            evil = {"Origin": "https://evil.example"}
            assert (await browser.put("/api/agents/me/presence", json=body, headers=evil)).status_code == 403
            ok = await browser.put("/api/agents/me/presence", json=body, headers=XRW)
            assert ok.status_code == 200 and ok.json()["status"] == "away"
            same = {"Origin": hub.base_url}
            ok = await browser.put("/api/agents/me/presence", json={"status": "offline"}, headers=same)
            assert ok.status_code == 200 and ok.json()["status"] == "offline"
            # Role checks on the cookie session.
            assert (await browser.get("/api/agents")).status_code == 403
            assert (await browser.get("/api/conversations", params={"scope": "all"})).status_code == 403
            assert (await browser.get("/api/conversations", params={"scope": "mine"})).status_code == 200
            new = {"email": "x@clinica.example", "name": "X", "role": "attendant", "password": "p" * 12}
            assert (await browser.post("/api/staff", json=new, headers=XRW)).status_code == 403
            # Logout revokes the token itself (cookie and bearer alike).
            out = await browser.post("/api/auth/logout", headers=XRW)
            assert out.status_code == 200
            assert "atende_session=" in out.headers.get("set-cookie", "") and "max-age=0" in out.headers.get(
                "set-cookie", "").lower()
        async with hub.client(ana_token) as c:
            assert (await c.get("/api/auth/me")).status_code == 401

        manager = await hub.token(MANAGER)
        async with hub.client(manager) as c:
            agents = (await c.get("/api/agents")).json()
            assert {a["email"] for a in agents} >= {ANA, BRUNO, CARLA, MANAGER, ADMIN_EMAIL}
            assert (await c.get("/api/conversations", params={"scope": "all"})).status_code == 200
            assert (await c.post("/api/staff", json=new)).status_code == 403  # admins only

        admin = await hub.token(ADMIN_EMAIL)
        async with hub.client(admin) as c:
            created = await c.post("/api/staff", json={
                "email": "dora@clinica.example", "name": "Dora", "role": "attendant", "password": "d" * 12,
                "queues": ["billing"], "skills": ["insurer:unimed"], "max_concurrent": 2,
                "max_per_channel": {"whatsapp": 1}})
            assert created.status_code == 201, created.text
            dora = created.json()
            assert dora["queues"] == ["billing"] and dora["skills"] == ["insurer:unimed"]
            assert dora["max_concurrent"] == 2 and dora["presence"] == "offline"
            again = await c.post("/api/staff", json={"email": "dora@clinica.example", "name": "Dora",
                                                     "role": "attendant", "password": "d" * 12})
            assert again.status_code == 409
            assert (await c.post("/api/staff", json={"email": "e@clinica.example", "name": "E", "role": "attendant",
                                                     "password": "e" * 12, "queues": ["nope"]})).status_code == 400
            assert (await c.post("/api/staff", json={"email": "e@clinica.example", "name": "E",
                                                     "role": "attendant", "password": "short"})).status_code == 400
        assert await hub.token("dora@clinica.example", "d" * 12)


async def test_attendant_flow_end_to_end(backend: Backend, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    # Reception is a manual-pick queue here, so the claim is tested; clinical assigns itself.
    async with live_hub(backend, tmp_path, fake_rasa.url, QUEUE_STRATEGIES="reception=manual") as hub:
        manager = await hub.token(MANAGER)
        ana, bruno, carla = await hub.token(ANA), await hub.token(BRUNO), await hub.token(CARLA)
        ana_id, bruno_id, carla_id = (await _staff_id(hub, ANA), await _staff_id(hub, BRUNO),
                                      await _staff_id(hub, CARLA))

        # Two patients hand off through the real web chat and bot pipeline: a routine one first,
        # then an urgent one. Nobody is online yet.
        _, p1 = await hub.patient()
        await say(p1, "quero falar com um atendente")
        _, p2 = await hub.patient()
        await say(p2, "estou com dor no peito, urgente")
        queue = await _queued(hub, manager, 2)
        assert [q["priority"] for q in queue] == ["urgent", "normal"]  # urgent first despite arriving later
        routine, urgent = queue[1], queue[0]
        c1, c2 = routine["conversation_id"], urgent["conversation_id"]
        for item in queue:
            assert {"conversation_id", "reason", "priority", "effective_priority", "channel", "waiting_since",
                    "queue", "sla", "patient_name", "handoff_reason", "preview"} <= set(item)
            assert item["channel"] == "webchat" and item["preview"] is None
            assert set(item["sla"]) == {"metric", "state", "percent", "deadline"}
        assert routine["queue"] == "reception" and routine["reason"] == "human"
        assert urgent["queue"] in ("clinical", "on_call") and urgent["reason"] == "urgent"
        # Attendants see only their queues.
        async with hub.client(ana) as c:
            assert [q["conversation_id"] for q in (await c.get("/api/queue")).json()] == [c1]
            assert (await c.get(f"/api/conversations/{c2}")).status_code == 403

        # Carla (nursing) comes online: the urgent conversation is assigned to her automatically.
        carla_feed = await hub.staff_socket(carla)
        await carla_feed.wait_for(lambda f: f.get("type") == "assigned" and f.get("conversation_id") == c2,
                                  what="urgent assigned to Carla")
        assert (await _conv(hub, c2)).assigned_agent_id == carla_id
        # Ana comes online; reception is manual, so c1 waits for her pick.
        ana_feed = await hub.staff_socket(ana)
        async with hub.client(ana) as c:
            claimed = await c.post(f"/api/conversations/{c1}/claim")
            assert claimed.status_code == 200, claimed.text
            assert claimed.json()["state"] == "assigned" and claimed.json()["assigned_agent_id"] == ana_id
        async with hub.client(bruno) as c:
            again = await c.post(f"/api/conversations/{c1}/claim")
            assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
        assert not any(f.get("conversation_id") == c2 for f in ana_feed.frames)  # not her queue

        # Ana replies: the patient receives it on the web chat, through the outbox.
        async with hub.client(ana) as c:
            r = await c.post(f"/api/conversations/{c1}/reply", json={"text": "Olá, sou a Ana. Como posso ajudar?"})
            assert r.status_code == 201, r.text
            reply_id = r.json()["message"]["id"]
        got = await p1.wait_for(lambda f: f.get("type") == "message" and f.get("id") == reply_id, what="agent reply")
        assert got["sender"] == "agent" and got["text"].startswith("Olá, sou a Ana")
        conv1 = await _conv(hub, c1)
        assert conv1.first_response_at is not None

        # An internal note never reaches the patient (not a message, not on the socket).
        secret = "nota interna " + uuid.uuid4().hex
        async with hub.client(ana) as c:
            assert (await c.post(f"/api/conversations/{c1}/notes", json={"text": secret})).status_code == 201
            tagged = await c.post(f"/api/conversations/{c1}/tags", json={"tags": ["Retorno", "convenio"]})
            assert tagged.json()["tags"] == ["convenio", "retorno"]
        assert await hub.count(Message, Message.text == secret) == 0

        # The patient writes while Ana owns it: pushed live to her, never sent to the bot.
        bot_before = len(fake_rasa.texts())
        await say(p1, "obrigado! qual o horário de amanhã?")
        await ana_feed.wait_for(lambda f: f.get("type") == "patient_message" and f.get("conversation_id") == c1,
                                what="patient message pushed to Ana")
        # Waiting on the patient, then the patient answers: back to assigned.
        async with hub.client(ana) as c:
            waited = await c.post(f"/api/conversations/{c1}/wait")
            assert waited.status_code == 200 and waited.json()["state"] == "waiting_patient"
            assert (await c.post(f"/api/conversations/{c1}/wait")).status_code == 409
        await say(p1, "pode ser às 10h")
        await eventually(lambda: _state_is(hub, c1, "assigned"), what="patient_replied")
        assert len(fake_rasa.texts()) == bot_before

        # Transfer to the exams queue (Ana is not in it); Bruno comes online and gets it; he
        # transfers it straight back to Ana.
        async with hub.client(ana) as c:
            moved = await c.post(f"/api/conversations/{c1}/transfer", json={"queue": "exams"})
            assert moved.status_code == 200 and moved.json()["state"] == "queued" and moved.json()["queue"] == "exams"
        bruno_feed = await hub.staff_socket(bruno)
        await bruno_feed.wait_for(lambda f: f.get("type") == "assigned" and f.get("conversation_id") == c1,
                                  what="exams conversation assigned to Bruno")
        async with hub.client(bruno) as c:
            back = await c.post(f"/api/conversations/{c1}/transfer", json={"agent_id": ana_id})
            assert back.status_code == 200, back.text
            assert back.json()["assigned_agent_id"] == ana_id
        async with hub.client(carla) as c:  # not hers
            assert (await c.post(f"/api/conversations/{c1}/resolve", json={"outcome": "resolved"})).status_code == 403

        # Resolve: the patient is asked CSAT 1–5 with buttons; the answer is recorded by the hub.
        async with hub.client(ana) as c:
            bad = await c.post(f"/api/conversations/{c1}/resolve", json={"outcome": "maybe"})
            assert bad.status_code == 400
            done = await c.post(f"/api/conversations/{c1}/resolve", json={"outcome": "booked"})
            assert done.status_code == 200 and done.json()["state"] == "resolved" and done.json()["outcome"] == "booked"
        question = await p1.wait_for(lambda f: f.get("type") == "message" and f.get("sender") == "system"
                                     and len(f.get("buttons") or []) == 5, what="CSAT question")
        payloads = [b["payload"] for b in question["buttons"]]
        assert payloads == [f'/csat{{"score":{n}}}' for n in range(1, 6)]
        bot_before = len(fake_rasa.texts())
        await say(p1, "5", payload=payloads[4])
        await eventually(lambda: hub.count(CsatResponse, CsatResponse.conversation_id == c1), what="CSAT recorded")
        rows = await hub.rows(select(CsatResponse).where(CsatResponse.conversation_id == c1))
        assert [(r.score, r.agent_id, r.nps) for r in rows] == [(5, ana_id, None)]
        # Then the NPS question, as plain text (0–10 do not fit buttons); "9" answers it.
        nps_q = await p1.wait_for(lambda f: f.get("type") == "message" and f.get("sender") == "system"
                                  and "de 0 a 10" in (f.get("text") or ""), what="NPS question")
        assert not nps_q.get("buttons")
        await say(p1, "9")
        await eventually(lambda: hub.count(CsatResponse, CsatResponse.conversation_id == c1, CsatResponse.nps == 9),
                         what="NPS recorded")
        await p1.wait_for(lambda f: f.get("type") == "message" and "avaliação" in (f.get("text") or ""),
                          what="thanks for the rating")
        assert len(fake_rasa.texts()) == bot_before  # the bot never saw either answer
        assert (await _conv(hub, c1)).state == "resolved"

        # Reopen (staff) puts it back in its queue; illegal moves are 409.
        async with hub.client(ana) as c:
            reopened = await c.post(f"/api/conversations/{c1}/reopen")
            assert reopened.status_code == 200 and reopened.json()["state"] == "queued"
            assert (await c.post(f"/api/conversations/{c1}/reopen")).status_code == 409
        async with hub.client(manager) as c:
            await eventually(lambda: _state_in(hub, c1, ("queued", "assigned")), what="reopened")
            closed = await c.post(f"/api/conversations/{c1}/resolve", json={"outcome": "resolved"})
            assert closed.status_code == 200, closed.text
        # The next patient message goes back to the bot (BACK_TO_BOT), not the CSAT recorder.
        await say(p1, "oi de novo")
        await eventually(lambda: _state_is(hub, c1, "bot"), what="back to bot")
        await eventually(lambda: _bot_saw(fake_rasa, "oi de novo"), what="the bot gets the next contact")

        # The conversation detail is complete and audit-logged.
        async with hub.client(ana) as c:
            detail = await c.get(f"/api/conversations/{c1}")
            assert detail.status_code == 200
            data = detail.json()
            card = await c.get(f"/api/conversations/{c1}/patient")
            assert card.status_code == 200
        assert {"conversation", "messages", "bot_context", "patient", "events", "sla"} <= set(data)
        assert data["bot_context"]["reason"] == "human" and data["bot_context"]["handoff_reason"] == "human"
        assert data["bot_context"]["slots"]["booking_ctx"]["specialty"] == "cardiologia"
        assert "cpf" not in json.dumps(data["bot_context"])  # never shown to staff
        notes = [e for e in data["events"] if e["type"] == "note"]
        assert notes and notes[0]["data"]["text"] == secret
        texts = [m["text"] for m in data["messages"]]
        assert secret not in texts and any(t.startswith("Olá, sou a Ana") for t in texts)
        assert data["patient"]["id"] == (await _conv(hub, c1)).patient_id
        views = await hub.rows(select(AuditLog).where(AuditLog.staff_id == ana_id))
        actions = [(a.action, a.subject) for a in views]
        assert ("view_conversation", f"conversation:{c1}") in actions
        assert actions.count(("view_patient", f"patient:{data['patient']['id']}")) == 2
        assert not any(s == f"conversation:{c2}" for _, s in actions)  # the refused view left no row

        types = await _event_types(hub, c1)
        for expected in ("handoff", "assigned", "agent_reply", "note", "tagged", "patient_message", "wait_patient",
                         "patient_replied", "transfer_queue", "transfer_agent", "resolved", "csat_requested", "csat",
                         "nps_requested", "nps", "reopened", "back_to_bot"):
            assert expected in types, f"missing {expected} in {types}"
        assert (await _conv(hub, c2)).assigned_agent_id == carla_id
        for feed in (carla_feed, ana_feed, bruno_feed, p1, p2):
            await feed.close()
        _ = bruno_id


async def _state_is(hub: LiveHub, conv_id: str, state: str) -> bool:
    return (await _conv(hub, conv_id)).state == state


async def _state_in(hub: LiveHub, conv_id: str, states: tuple[str, ...]) -> bool:
    return (await _conv(hub, conv_id)).state in states


async def _bot_saw(rasa: FakeRasa, text: str) -> bool:
    return text in rasa.texts()


async def test_real_bot_hands_off_to_the_queue(backend: Backend, bot_stack: BotStack, tmp_path: Path) -> None:
    """With the real trained bot: asking for a person puts the conversation in the reception queue."""
    async with live_hub(backend, tmp_path, bot_stack.rasa_url, ACTIONS_URL=bot_stack.actions_url) as hub:
        manager = await hub.token(MANAGER)
        _, patient = await hub.patient()
        await say(patient, "quero falar com um atendente")
        queue = await _queued(hub, manager, 1)
        assert queue[0]["reason"] == "human" and queue[0]["queue"] == "reception"
        assert queue[0]["handoff_reason"] in ("human", "complain")
        await patient.close()
