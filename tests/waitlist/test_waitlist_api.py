"""The waitlist's HTTP contract on the real app (SQLite and PostgreSQL): the bot joins, a
cancellation through the clinic API offers the slot, the bot accepts it; staff list and count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message, Patient
from handoff.adapters.sql.models_waitlist import WaitlistOffer
from handoff.domain.clinic.calendar import CLINIC_TZ
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend


@pytest.fixture
async def hub(backend: Backend) -> AsyncIterator[Hub]:
    h, life = await start_hub(backend)
    try:
        yield h
    finally:
        await h.client.aclose()
        await life.stop()


async def _patient_with_conversation(hub: Hub) -> tuple[int, str]:
    now = utcnow()
    async with hub.app.ctx.db.session() as s:
        p = Patient(display_name="Paciente", created_at=now)
        s.add(p)
        await s.flush()
        ident = ChannelIdentity(channel="webchat", external_id=uuid.uuid4().hex, patient_id=p.id, created_at=now)
        s.add(ident)
        await s.flush()
        conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel="webchat",
                            state="bot", created_at=now, updated_at=now, last_inbound_at=now)
        s.add(conv)
        return p.id, conv.id


async def test_join_cancel_offer_accept_and_count(hub: Hub) -> None:
    c, svc = hub.client, hub.service
    waiting, conv = await _patient_with_conversation(hub)
    r = await c.post("/api/clinic/waitlist", headers=svc,
                     json={"patient_id": waiting, "specialty": "cardiologia", "conversation_id": conv})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["position"] == 1
    r = await c.post("/api/clinic/waitlist", headers=svc, json={"patient_id": waiting, "specialty": "cardiologia"})
    assert r.status_code == 200 and r.json() == entry
    r = await c.post("/api/clinic/waitlist", headers=svc, json={"patient_id": waiting})
    assert r.status_code == 400
    r = await c.post("/api/clinic/waitlist", headers=svc, json={"patient_id": waiting, "specialty": "nada"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "specialty_not_found"

    start = (datetime.now(CLINIC_TZ) + timedelta(days=2)).isoformat()
    r = await c.get("/api/clinic/slots", params={"specialty": "cardiologia", "start": start}, headers=svc)
    slot_id = r.json()[0]["slot_id"]
    owner = await hub.new_patient()
    r = await c.post("/api/clinic/appointments", headers=svc, json={"patient_id": owner, "slot_id": slot_id})
    assert r.status_code == 201, r.text
    r = await c.post(f"/api/clinic/appointments/{r.json()['id']}/cancel", headers=svc)
    assert r.status_code == 200, r.text

    async with hub.app.ctx.db.session() as s:
        offer = (await s.execute(select(WaitlistOffer))).scalar_one()
        msg = await s.get(Message, offer.message_id)
    assert offer.patient_id == waiting and msg is not None and msg.conversation_id == conv
    other = await hub.new_patient()
    r = await c.post("/api/clinic/appointments", headers=svc, json={"patient_id": other, "slot_id": slot_id})
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken"
    r = await c.post(f"/api/clinic/waitlist/offers/{offer.id}/accept", headers=svc, json={"patient_id": other})
    assert r.status_code == 404
    r = await c.post(f"/api/clinic/waitlist/offers/{offer.id}/accept", headers=svc, json={"patient_id": waiting})
    assert r.status_code == 201, r.text
    assert r.json()["patient_id"] == waiting
    r = await c.post(f"/api/clinic/waitlist/offers/{offer.id}/decline", headers=svc)
    assert r.status_code == 409 and r.json()["error"]["code"] == "offer_closed"

    staff = await hub.staff()
    r = await c.get("/api/waitlist", headers=staff)
    assert r.status_code == 200
    [listed] = r.json()["entries"]
    assert (listed["id"], listed["status"]) == (entry["id"], "booked")
    assert (await c.get("/api/waitlist", headers=svc)).status_code == 401
    r = await c.get("/api/waitlist/stats", headers=staff)
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("offered", "accepted", "expired", "declined")} == \
        {"offered": 1, "accepted": 1, "expired": 0, "declined": 0}
    r = await c.get("/api/waitlist/stats", headers=staff, params={"from": "2020-01-01", "to": "2020-02-01"})
    assert r.json()["offered"] == 0
    assert (await c.get("/api/waitlist/stats", headers=staff, params={"from": "x"})).status_code == 400


async def test_leave(hub: Hub) -> None:
    c, svc = hub.client, hub.service
    pid, _ = await _patient_with_conversation(hub)
    r = await c.post("/api/clinic/waitlist", headers=svc, json={"patient_id": pid, "specialty": "pediatria"})
    entry_id = r.json()["id"]
    assert (await c.delete(f"/api/clinic/waitlist/{entry_id}?patient_id={pid + 1}", headers=svc)).status_code == 404
    assert (await c.delete(f"/api/clinic/waitlist/{entry_id}?patient_id={pid}", headers=svc)).status_code == 204
    r = await c.delete(f"/api/clinic/waitlist/{entry_id}", headers=svc)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_waiting"
    assert (await c.delete(f"/api/clinic/waitlist/{entry_id}")).status_code == 401
