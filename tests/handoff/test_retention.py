"""The daily disposal job on real SQLite and PostgreSQL (+ Redis): batched, idempotent per date
(two replicas racing: exactly one does the work), resumable after a crash from its cursor, never
touching patients under a legal hold, open conversations or in-flight messages, recording counts
only — and the dashboard computes exactly the same figures before and after disposal."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    AuditLog,
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    DisposalRun,
    LegalHold,
    Message,
    Patient,
    RetentionPolicy,
    StaffUser,
)
from handoff.adapters.tracker_store import TrackerStore
from handoff.runtime import HubRuntime
from handoff.services import retention
from handoff.services.metrics import MetricsService, parse_range
from handoff.services.staff import StaffIdentity
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, ANA, MANAGER, live_hub
from tests.metrics import scenario
from tests.support.hub import make_settings

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=800)  # past the 2-year default of transcripts
RECENT = NOW - timedelta(days=10)


@pytest.fixture
async def rt(backend: Backend) -> AsyncIterator[HubRuntime]:
    runtime = await HubRuntime.open(make_settings(backend, "http://127.0.0.1:9"))
    try:
        yield runtime
    finally:
        await runtime.close()


@dataclass
class World:
    """Ids of what a test built."""

    convs: dict[str, str] = field(default_factory=dict)
    patients: dict[str, int] = field(default_factory=dict)
    messages: dict[str, list[int]] = field(default_factory=dict)


async def _conv(rt: HubRuntime, w: World, key: str, *, state: str = "resolved", patient: str | None = None) -> str:
    async with rt.db.session() as s:
        pid = w.patients.get(patient or key)
        if pid is None:
            p = Patient(display_name=f"Paciente {key}", created_at=OLD)
            s.add(p)
            await s.flush()
            pid = w.patients[patient or key] = p.id
        ident = ChannelIdentity(channel="webchat", external_id=f"{key}-{uuid.uuid4().hex}", patient_id=pid,
                                created_at=OLD)
        s.add(ident)
        await s.flush()
        c = Conversation(id=str(uuid.uuid4()), patient_id=pid, identity_id=ident.id, channel="webchat", state=state,
                         reason="booking", priority="normal", bot_failures=0, created_at=OLD, updated_at=OLD,
                         handoff_note="nota livre")
        s.add(c)
        w.convs[key] = c.id
    return w.convs[key]


async def _messages(rt: HubRuntime, w: World, key: str, n: int, *, at: datetime = OLD, status: str = "processed",
                    payload: dict[str, Any] | None = None) -> list[int]:
    ids = []
    async with rt.db.session() as s:
        for i in range(n):
            m = Message(conversation_id=w.convs[key], direction="in", sender="patient", channel="webchat",
                        provider_message_id=uuid.uuid4().hex, text=f"texto secreto {key} {i}",
                        payload=dict(payload or {}), status=status, attempts=0, intent="book", reason="booking",
                        created_at=at + timedelta(seconds=i))
            s.add(m)
            await s.flush()
            ids.append(m.id)
    w.messages.setdefault(key, []).extend(ids)
    return ids


async def _get(rt: HubRuntime, ids: list[int]) -> list[Message]:
    async with rt.db.session() as s:
        return list((await s.execute(select(Message).where(Message.id.in_(ids)).order_by(Message.id))).scalars())


def _job(rt: HubRuntime, tmp_path: Path, **kw: Any) -> retention.DisposalJob:
    return retention.DisposalJob(rt.uow, AttachmentStore(tmp_path / "files"), **kw)


async def _run_row(rt: HubRuntime) -> DisposalRun:
    async with rt.db.session() as s:
        (row,) = (await s.execute(select(DisposalRun))).scalars().all()
        return row


async def test_disposal_is_batched_spares_held_open_and_in_flight_data_and_records_counts(
        rt: HubRuntime, tmp_path: Path) -> None:
    w = World()
    store = AttachmentStore(tmp_path / "files")
    shared = store.save(b"exame compartilhado", "application/pdf")
    alone = store.save(b"so deste paciente", "image/png")
    await _conv(rt, w, "closed")
    old = await _messages(rt, w, "closed", 7)
    with_file = await _messages(rt, w, "closed", 1, payload={"attachments": [{"url": alone, "name": "a.png"},
                                                                             {"url": shared, "name": "b.pdf"}]})
    recent = await _messages(rt, w, "closed", 2, at=RECENT)
    await _conv(rt, w, "open", state="assigned")
    open_ids = await _messages(rt, w, "open", 3)
    await _conv(rt, w, "held")
    held = await _messages(rt, w, "held", 2, payload={"attachments": [{"url": shared, "name": "b.pdf"}]})
    await _conv(rt, w, "bot", state="bot")
    in_flight = await _messages(rt, w, "bot", 1, status="pending")
    async with rt.db.session() as s:
        s.add(LegalHold(patient_id=w.patients["held"], category="medical_record", basis="Lei 13.787/2018, art. 6º",
                        until=None, created_at=OLD))
        s.add(LegalHold(patient_id=w.patients["closed"], category="fiscal", basis="released", until=None,
                        created_at=OLD, released_at=OLD))  # released: no protection
        for key in ("closed", "held"):
            s.add(ConversationEvent(conversation_id=w.convs[key], type="note", actor="agent:1",
                                    data={"agent_id": 1, "text": "paciente relatou dor"}, created_at=OLD))
            s.add(ConversationEvent(conversation_id=w.convs[key], type="resolved", actor="agent:1",
                                    data={"outcome": "resolved", "agent_id": 1}, created_at=OLD))
        s.add(AuditLog(staff_id=None, action="view_conversation", subject="x", created_at=NOW - timedelta(days=2000)))
        s.add(AuditLog(staff_id=None, action="view_conversation", subject="held", patient_id=w.patients["held"],
                       created_at=NOW - timedelta(days=2000)))
        s.add(AuditLog(staff_id=None, action="view_conversation", subject="new", created_at=RECENT))
    before = {m.id: (m.created_at, m.direction, m.sender, m.status, m.intent, m.reason) for m in
              await _get(rt, old + with_file)}

    job = _job(rt, tmp_path, batch_size=3)
    outcome = await job.run(NOW)
    assert outcome.status == "done"
    # 8 transcripts in 3 batches (3 + 3 + 2); 1 attachment message; 1 note; 1 audit row.
    assert outcome.disposed == {"transcripts": 8, "attachments": 1, "event_notes": 1, "audit": 1}

    disposed = await _get(rt, old + with_file)
    assert all(m.text == "" and m.redacted_at is not None for m in disposed)
    assert all("secreto" not in str(m.payload) for m in disposed)
    assert {m.id: (m.created_at, m.direction, m.sender, m.status, m.intent, m.reason) for m in disposed} == before
    for ids in (recent, open_ids, held, in_flight):
        assert all(m.redacted_at is None and m.text.startswith("texto secreto") for m in await _get(rt, ids))
    assert all(m.payload["attachments"] for m in await _get(rt, held))
    # The file only the disposed message held is gone; the one a held patient's message shares stays.
    assert store.path_of(alone) is None
    assert store.path_of(shared) is not None
    async with rt.db.session() as s:
        notes = {c: d for c, d in (await s.execute(
            select(ConversationEvent.conversation_id, ConversationEvent.data).where(ConversationEvent.type == "note")))}
        assert notes[w.convs["closed"]] == {"agent_id": 1, "redacted": True}
        assert notes[w.convs["held"]]["text"] == "paciente relatou dor"
        audit_subjects = set((await s.execute(select(AuditLog.subject))).scalars())
        assert audit_subjects == {"held", "new"}
        closed = await s.get(Conversation, w.convs["closed"])
        assert closed is not None and closed.redacted_at is None  # its recent messages still have content
    run = await _run_row(rt)
    assert run.status == "done" and run.run_date == date(2026, 12, 7)
    assert run.counts == outcome.disposed
    assert "secreto" not in str(run.counts) + str(run.cursor) + str(run.cutoffs)

    # Idempotent: the same day again does nothing; a replica's scheduler tick neither.
    again = await _job(rt, tmp_path).run(NOW + timedelta(hours=1))
    assert again.status == "skipped" and again.disposed == {}
    assert (await _run_row(rt)).counts == outcome.disposed


async def test_two_concurrent_runs_exactly_one_does_the_work(rt: HubRuntime, tmp_path: Path) -> None:
    w = World()
    await _conv(rt, w, "c")
    ids = await _messages(rt, w, "c", 12)
    one, two = _job(rt, tmp_path, batch_size=4), _job(rt, tmp_path, batch_size=4)
    outcomes = await asyncio.gather(one.run(NOW), two.run(NOW))
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["done", "skipped"], statuses
    assert sum(o.disposed.get("transcripts", 0) for o in outcomes) == 12
    assert all(m.redacted_at is not None for m in await _get(rt, ids))
    async with rt.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(DisposalRun))).scalar_one() == 1
    assert (await _run_row(rt)).counts == {"transcripts": 12}


async def test_a_crashed_run_is_resumed_from_its_cursor_after_the_lease_expires(rt: HubRuntime, tmp_path: Path) -> None:
    w = World()
    await _conv(rt, w, "c")
    ids = await _messages(rt, w, "c", 7)
    crashed = _job(rt, tmp_path, batch_size=2, owner="replica-that-dies")
    cut = await crashed.run(NOW, max_batches=2)  # 4 rows done, then the process "dies"
    assert cut.status == "cut" and cut.disposed == {"transcripts": 4}
    run = await _run_row(rt)
    assert run.status == "running" and run.owner == "replica-that-dies"
    assert run.cursor == {"transcripts": ids[3]}
    first = {m.id: m.redacted_at for m in await _get(rt, ids[:4])}

    other = _job(rt, tmp_path, batch_size=2, owner="replica-two")
    held_lease = await other.run(NOW)  # the lease is still valid: hands off
    assert held_lease.status == "skipped"
    async with rt.db.session() as s:
        await s.execute(update(DisposalRun).values(lease_until=utcnow() - timedelta(seconds=1)))
    resumed = await other.run(NOW)
    assert resumed.status == "done"
    assert resumed.disposed == {"transcripts": 3}  # only what was left after the cursor
    assert {m.id: m.redacted_at for m in await _get(rt, ids[:4])} == first  # not redone
    assert all(m.redacted_at is not None for m in await _get(rt, ids))
    run = await _run_row(rt)
    assert run.status == "done" and run.owner == "replica-two" and run.counts == {"transcripts": 7}


async def test_staff_can_run_it_again_the_same_day_with_a_new_policy(rt: HubRuntime, tmp_path: Path) -> None:
    w = World()
    await _conv(rt, w, "c")
    await _messages(rt, w, "c", 2)
    recent = await _messages(rt, w, "c", 3, at=RECENT)
    job = _job(rt, tmp_path)
    assert (await job.run(NOW)).disposed == {"transcripts": 2}
    async with rt.db.session() as s:
        admin = StaffUser(email="adm@x.example", name="Adm", role="admin", password_hash="x", active=True,
                          created_at=OLD)
        s.add(admin)
        await s.flush()
        who = StaffIdentity(admin.id, admin.email, admin.name, admin.role)
    policies = await retention.update_policies(rt.uow, who, {"transcripts": 5})
    assert next(p for p in policies if p["category"] == "transcripts")["days"] == 5
    assert (await job.run(NOW)).status == "skipped"  # the scheduler does not run twice a day
    outcome = await retention.run_now(rt.uow, job, who, NOW)
    assert outcome.status == "done" and outcome.disposed == {"transcripts": 3}
    assert all(m.redacted_at is not None for m in await _get(rt, recent))
    run = await _run_row(rt)
    assert run.counts == {"transcripts": 5}  # the day's total
    async with rt.db.session() as s:
        actions = list((await s.execute(select(AuditLog.action, AuditLog.data).order_by(AuditLog.id))).all())
    assert (retention.POLICY_AUDIT_ACTION, {"from": 730, "to": 5}) in actions
    assert any(a == retention.RUN_AUDIT_ACTION and d["disposed"] == {"transcripts": 3} for a, d in actions)

    with pytest.raises(retention.RetentionError):
        await retention.update_policies(rt.uow, who, {"audit": 30})  # under the 6-month floor
    with pytest.raises(retention.RetentionError):
        await retention.update_policies(rt.uow, who, {"nope": 30})
    async with rt.db.session() as s:
        rows = {r.category: r.days for r in (await s.execute(select(RetentionPolicy))).scalars()}
    assert rows == {"transcripts": 5}


async def test_the_dashboard_is_identical_before_and_after_disposal(rt: HubRuntime, tmp_path: Path) -> None:
    sc = await scenario.load(rt.db)
    rng = parse_range(scenario.FROM, scenario.TO)
    service = MetricsService(rt.db)

    def figures(report: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in report.items() if k != "period_computed_at"}

    before = figures(await service.dashboard(rng, now=sc.now))
    async with rt.db.session() as s:
        for category in ("transcripts", "attachments", "event_notes"):
            s.add(RetentionPolicy(category=category, days=1))
        total = (await s.execute(select(func.count()).select_from(Message))).scalar_one()
    outcome = await _job(rt, tmp_path, batch_size=50).run(sc.now)
    assert outcome.status == "done"
    redacted = outcome.disposed.get("transcripts", 0)
    assert redacted > 20 and redacted <= total  # the scenario's history really lost its texts
    async with rt.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Message)
                                .where(Message.redacted_at.is_not(None)))).scalar_one() == redacted
    after = figures(await service.dashboard(rng, now=sc.now))
    assert after == before


async def test_the_api_and_the_public_notice_show_the_periods_in_force(backend: Backend, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, None, PRIVACY_OFFICER_EMAIL="dpo@clinica.example") as hub:
        admin, manager, ana = await hub.token(ADMIN_EMAIL), await hub.token(MANAGER), await hub.token(ANA)
        async with hub.client() as anon:
            assert (await anon.get("/api/privacy/retention")).status_code == 401
            assert (await anon.post("/api/privacy/disposal-runs")).status_code == 401
        for token in (manager, ana):
            async with hub.client(token) as c:
                assert (await c.get("/api/privacy/retention")).status_code == 403
                assert (await c.put("/api/privacy/retention", json={"policies": {"audit": None}})).status_code == 403
                assert (await c.post("/api/privacy/disposal-runs")).status_code == 403
        async with hub.client(admin) as c:
            policies = {p["category"]: p for p in (await c.get("/api/privacy/retention")).json()["policies"]}
            assert policies["transcripts"]["days"] == 730 and policies["transcripts"]["is_default"]
            r = await c.put("/api/privacy/retention", json={"policies": {"transcripts": 90, "audit": 10}})
            assert r.status_code == 400 and "180" in r.json()["error"]["message"]  # nothing saved
            r = await c.put("/api/privacy/retention", json={"policies": {"transcripts": 90}})
            assert r.status_code == 200, r.text
            r = await c.post("/api/privacy/disposal-runs")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "done" and r.json()["run"]["status"] == "done"
            runs = (await c.get("/api/privacy/disposal-runs")).json()["runs"]
            assert len(runs) == 1 and runs[0]["cutoffs"]["transcripts"]
        # The privacy officer grant opens it to an attendant.
        async with hub.rt.db.session() as s:
            await s.execute(update(StaffUser).where(StaffUser.email == ANA).values(grants=["privacy_officer"]))
        async with hub.client(ana) as c:
            assert (await c.get("/api/privacy/retention")).status_code == 200
        async with hub.rt.db.session() as s:
            actions = list((await s.execute(select(AuditLog.action))).scalars())
        assert retention.POLICY_AUDIT_ACTION in actions and retention.RUN_AUDIT_ACTION in actions

        # The public notice: no login, the clinic's card, the DPO, the periods in force, no script.
        async with hub.client() as anon:
            page = await anon.get("/privacidade/aviso")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        body = page.text
        assert "<script" not in body
        assert "Clínica Exemplo" in body and "dpo@clinica.example" in body
        assert "3 meses" in body  # transcripts: 90 days, as just set
        assert "art. 11, II, \"f\"" in body and "art. 18" in body


async def test_the_bots_old_dialogue_goes_but_not_for_held_or_open_conversations(rt: HubRuntime,
                                                                                  tmp_path: Path) -> None:
    # Rasa's SQL tracker store: the `events` table keyed by sender_id (= the hub conversation id).
    tracker_db = tmp_path / "tracker.db"
    with sqlite3.connect(tracker_db) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                     "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                     "action_name VARCHAR(255), data TEXT)")
    w = World()
    for key, state in (("closed", "resolved"), ("open", "queued"), ("held", "bot")):
        await _conv(rt, w, key, state=state)
    async with rt.db.session() as s:
        s.add(LegalHold(patient_id=w.patients["held"], category="medical_record", basis="Lei 13.787/2018",
                        until=None, created_at=OLD))
    with sqlite3.connect(tracker_db) as conn:
        for key in ("closed", "open", "held"):
            for at in (OLD, RECENT):
                conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                             (w.convs[key], at.timestamp(), '{"text": "texto secreto"}'))
    job = _job(rt, tmp_path, batch_size=2, tracker=TrackerStore(f"sqlite:///{tracker_db}"))
    outcome = await job.run(NOW)
    assert outcome.status == "done" and outcome.disposed == {"bot_dialogue": 1}
    with sqlite3.connect(tracker_db) as conn:
        left = sorted(conn.execute("SELECT sender_id, timestamp FROM events").fetchall())
    expected = sorted([(w.convs["closed"], RECENT.timestamp())]
                      + [(w.convs[k], at.timestamp()) for k in ("open", "held") for at in (OLD, RECENT)])
    assert left == expected
