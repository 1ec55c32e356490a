"""Admins manage staff accounts through the real hub process (SQLite and PostgreSQL + Redis):
list, change routing and role, reset a password, deactivate. Deactivating an attendant ends
their sessions at once and puts every conversation they held back in its queue — including one
waiting on the patient — and the clinic can never lose its last active admin."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from handoff.adapters.sql.models import AuditLog, Conversation, ConversationEvent, StaffUser
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, ANA, MANAGER, Feed, LiveHub, eventually, live_hub, say
from tests.support.fake_rasa import FakeRasa


async def _staff_id(hub: LiveHub, email: str) -> int:
    rows = await hub.rows(select(StaffUser).where(StaffUser.email == email))
    return int(rows[0].id)


async def _closed_code(feed: Feed) -> int | None:
    """The close code the server sent, once the socket is closed."""
    return feed.ws.close_code if feed.ws.close_code is not None else None


async def _conv(hub: LiveHub, conv_id: str) -> Conversation:
    (conv,) = await hub.rows(select(Conversation).where(Conversation.id == conv_id))
    return conv


async def _handed_off(hub: LiveHub, manager: str, n: int) -> list[str]:
    async def check() -> list[str] | None:
        async with hub.client(manager) as c:
            items = (await c.get("/api/queue")).json()
        return [i["conversation_id"] for i in items] if len(items) >= n else None
    result: list[str] = await eventually(check, what=f"{n} conversations queued")
    return result


async def test_admin_changes_and_deactivates_an_attendant(backend: Backend, fake_rasa: FakeRasa,
                                                           tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, fake_rasa.url, QUEUE_STRATEGIES="reception=manual") as hub:
        admin, manager, ana = await hub.token(ADMIN_EMAIL), await hub.token(MANAGER), await hub.token(ANA)
        admin_id, ana_id = await _staff_id(hub, ADMIN_EMAIL), await _staff_id(hub, ANA)

        # Only admins list and change accounts.
        async with hub.client(manager) as c:
            assert (await c.get("/api/staff")).status_code == 403
            assert (await c.patch(f"/api/staff/{ana_id}", json={"max_concurrent": 9})).status_code == 403
        async with hub.client(ana) as c:
            assert (await c.patch(f"/api/staff/{ana_id}", json={"role": "admin"})).status_code == 403
        async with hub.client() as anon:
            assert (await anon.patch(f"/api/staff/{ana_id}", json={"active": False})).status_code == 401

        async with hub.client(admin) as c:
            listed = {a["email"]: a for a in (await c.get("/api/staff")).json()}
            assert listed[ANA]["active"] is True and listed[ANA]["role"] == "attendant"
            # Routing changes are validated like on creation.
            assert (await c.patch(f"/api/staff/{ana_id}", json={"queues": ["nope"]})).json()["error"]["code"] == \
                "unknown_queue"
            assert (await c.patch(f"/api/staff/{ana_id}", json={"skills": ["bad"]})).json()["error"]["code"] == \
                "invalid_skills"
            assert (await c.patch(f"/api/staff/{ana_id}", json={"max_concurrent": 0})).status_code == 400
            assert (await c.patch(f"/api/staff/{ana_id}", json={"password": "short"})).status_code == 400
            assert (await c.patch("/api/staff/999999", json={"name": "X"})).status_code == 404
            changed = await c.patch(f"/api/staff/{ana_id}", json={
                "max_concurrent": 6, "skills": ["insurer:unimed"], "max_per_channel": {"whatsapp": 2}})
            assert changed.status_code == 200, changed.text
            view = changed.json()
            assert (view["max_concurrent"], view["skills"], view["max_per_channel"]) == (
                6, ["insurer:unimed"], {"whatsapp": 2})
            assert view["queues"] == ["billing", "reception"]  # untouched fields stay
            # The last active admin cannot lock the clinic out.
            assert (await c.patch(f"/api/staff/{admin_id}", json={"active": False})).json()["error"]["code"] == \
                "self_lockout"
            assert (await c.patch(f"/api/staff/{admin_id}", json={"role": "manager"})).json()["error"]["code"] == \
                "self_lockout"

        # A password reset ends Ana's sessions; the new password works.
        async with hub.client(admin) as c:
            assert (await c.patch(f"/api/staff/{ana_id}", json={"password": "nova-senha-da-ana"})).status_code == 200
        async with hub.client(ana) as c:
            assert (await c.get("/api/auth/me")).status_code == 401
        ana = await hub.token(ANA, "nova-senha-da-ana")

        # Ana (online: her inbox is open) holds two conversations: one she is answering, one
        # waiting on the patient.
        ana_feed = await hub.staff_socket(ana)
        _, p1 = await hub.patient()
        await say(p1, "quero falar com um atendente")
        _, p2 = await hub.patient()
        await say(p2, "preciso de um atendente por favor")
        c1, c2 = await _handed_off(hub, manager, 2)
        async with hub.client(ana) as c:
            for conv_id in (c1, c2):
                assert (await c.post(f"/api/conversations/{conv_id}/claim")).status_code == 200
            waiting = await c.post(f"/api/conversations/{c2}/wait")
            assert waiting.status_code == 200, waiting.text
        assert (await _conv(hub, c2)).state == "waiting_patient"

        # Deactivated: her token stops working at once and both conversations are back in the queue.
        async with hub.client(admin) as c:
            off = await c.patch(f"/api/staff/{ana_id}", json={"active": False})
            assert off.status_code == 200, off.text
            assert off.json()["active"] is False and off.json()["presence"] == "offline"
            assert next(a for a in (await c.get("/api/staff")).json() if a["id"] == ana_id)["active"] is False
        async with hub.client(ana) as c:
            assert (await c.get("/api/auth/me")).status_code == 401
        # Her open inbox socket is closed by the hub: no more live patient events for her.
        closed = await eventually(lambda: _closed_code(ana_feed), what="Ana's staff socket closed")
        assert closed == 4401
        async with hub.client() as anon:
            login = await anon.post("/api/auth/login", json={"email": ANA, "password": "nova-senha-da-ana"})
            assert login.status_code == 401
        for conv_id in (c1, c2):
            conv = await _conv(hub, conv_id)
            assert (conv.state, conv.assigned_agent_id) == ("queued", None), conv_id
        requeued = await hub.rows(select(ConversationEvent).where(
            ConversationEvent.conversation_id.in_([c1, c2]), ConversationEvent.type == "requeued"))
        assert sorted(e.data["reason"] for e in requeued) == ["agent_deactivated", "agent_deactivated"]
        async with hub.client(manager) as c:
            assert ana_id not in [a["id"] for a in (await c.get("/api/agents")).json()]
        audit = await hub.rows(select(AuditLog).where(AuditLog.staff_id == admin_id,
                                                      AuditLog.action == "update_staff"))
        assert [a.subject for a in audit] == [f"staff:{ana_id}"] * 3

        await ana_feed.close()

        # Reactivated, she logs in again.
        async with hub.client(admin) as c:
            assert (await c.patch(f"/api/staff/{ana_id}", json={"active": True})).json()["active"] is True
        assert await hub.token(ANA, "nova-senha-da-ana")
