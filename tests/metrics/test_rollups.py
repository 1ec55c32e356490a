"""The rollup-based dashboard (migrations 0016 and 0017, handoff/adapters/sql/metrics_rollups.py) equals
today's query-based dashboard (handoff/adapters/sql/metrics_queries.py) field by field, on
varied random data written through the ordinary inserts and updates (so the PostgreSQL
triggers maintain the rollups), then after later writes that move figures of past days: links
added and removed, a conversation moved to another patient or re-tagged, messages re-tagged,
routed or deleted, events inserted out of order, appointments moved or deleted, satisfaction
answers completed, moved or deleted. On SQLite the
rollup flag falls back to today's statements (checked to keep working). On PostgreSQL the
trigger-maintained tables also equal a rebuild from scratch, and the per-day cells read the same
figures before and after they are folded."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, select, text, update

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.metrics_rollups import (
    BUILT_IN_REASONS,
    RollupQueries,
    queries_for,
    rebuild,
    tmr_bucket_bounds,
)
from handoff.adapters.sql.migrate import alembic_config
from handoff.adapters.sql.models import (
    AppointmentRow,
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    CsatResponse,
    DoctorRow,
    Message,
    Patient,
    PatientLink,
    SpecialtyRow,
    StaffUser,
)
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.triage import REASONS as TRIAGE_REASONS
from handoff.services.metrics import DateRange, MetricsService, StaffingParams
from handoff.services.metrics_compactor import MetricsCompactor
from tests.conftest import Backend
from tests.support.wait import eventually

FIRST = date(2025, 3, 1)
DAYS = 21
NOW = datetime(2025, 3, 24, 15, 0, tzinfo=CLINIC_TZ).astimezone(UTC)
REASONS = ("booking", "confirmation", "exams", "billing", "urgent", "human", "other", "novo_motivo")
CHANNELS = ("whatsapp", "webchat", "instagram", "sms")
RANGES = [DateRange(FIRST, FIRST + timedelta(days=DAYS - 1)), DateRange(date(2025, 3, 5), date(2025, 3, 11)),
          DateRange(date(2025, 3, 8), date(2025, 3, 8)), DateRange(date(2025, 3, 15), date(2025, 3, 24))]
PARAMS = StaffingParams(answer_seconds=120)


def _at(day: date, seconds: int) -> datetime:
    """Clinic midnight of `day` + seconds (may cross into the next day), as UTC."""
    return datetime.combine(day, time(0), tzinfo=CLINIC_TZ).astimezone(UTC) + timedelta(seconds=seconds)


class _Data:
    """Random history: contacts, handoff episodes (transfers, reopens, untagged handoffs, SLA
    breaches), CSAT, appointments on the patient or on the linked record, re-contacts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.csat: list[dict[str, Any]] = []
        self.appointments: list[dict[str, Any]] = []
        self.slot = 0

    def msg(self, cid: str, at: datetime, reason: str | None, *, sender: str = "patient", status: str = "processed",
            intent: str | None = "x") -> None:
        direction = "in" if sender == "patient" else "out"
        self.messages.append(dict(conversation_id=cid, direction=direction, sender=sender, channel="webchat",
                                  text="oi", payload={}, status=status, attempts=0, intent=intent, reason=reason,
                                  created_at=at))

    def event(self, cid: str, type_: str, at: datetime, **data: Any) -> None:
        self.events.append(dict(conversation_id=cid, type=type_, actor="system", data=data, created_at=at))

    def appointment(self, patient: int, doctor: int, made: datetime) -> None:
        self.slot += 1
        starts = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * self.slot)
        self.appointments.append(dict(patient_id=patient, doctor_id=doctor, starts_at=starts,
                                      ends_at=starts + timedelta(minutes=30), status="scheduled", created_at=made,
                                      updated_at=made))

    def contacts(self, convs: list[tuple[str, int, int]], doctor: int, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            cid, patient, target = convs[rng.randrange(len(convs))]
            day = FIRST + timedelta(days=rng.randrange(-2, DAYS + 2))
            # a third of the contacts start within 10 minutes of clinic midnight (either side)
            secs = rng.choice([rng.randrange(86_400), 86_400 - rng.randrange(1, 600), rng.randrange(600)])
            t = _at(day, secs)
            reason = rng.choice(REASONS)
            for j in range(rng.randint(1, 4)):
                tag = reason if j == 0 or rng.random() < 0.5 else rng.choice((*REASONS, None))
                status = rng.choices(("processed", "pending", "routed"), weights=(8, 1, 1))[0]
                intent = "csat" if rng.random() < 0.05 else rng.choice(("x", None))
                self.msg(cid, t, tag, status=status, intent=intent)
                self.msg(cid, t + timedelta(seconds=1), None, sender="bot", status="sent", intent=None)
                t += timedelta(seconds=rng.randint(5, 400))
            if reason == "booking" and rng.random() < 0.5:
                made = t + timedelta(seconds=rng.randint(-900, 900))
                self.appointment(target if rng.random() < 0.3 else patient, doctor, made)
            if rng.random() < 0.45:
                self.episode(cid, reason, t)

    def episode(self, cid: str, reason: str, t: datetime) -> None:
        rng = self.rng
        h = t + timedelta(seconds=rng.randint(1, 30))
        data: dict[str, Any] = {"reason": "human"}
        if rng.random() < 0.8:
            data["reason_tag"] = reason
        self.event(cid, "handoff", h, **data)
        at = h
        if rng.random() < 0.85:
            at += timedelta(seconds=rng.randint(1, 900))
            self.event(cid, "assigned", at, agent_id=1)
        if rng.random() < 0.1:  # a transfer: a second handoff inside the episode
            self.event(cid, "handoff", at + timedelta(seconds=5), reason="transfer", reason_tag=reason)
        for _ in range(rng.randint(0, 3)):
            at += timedelta(seconds=rng.randint(1, 2400))
            self.event(cid, "agent_reply", at, agent_id=1)
            self.msg(cid, at, None, sender="agent", status="sent", intent=None)
            if rng.random() < 0.3:
                self.event(cid, "sla_breach", at, metric=rng.choice(("first_response", "resolution", "next_response")))
        if rng.random() < 0.8:
            for _ in range(2 if rng.random() < 0.2 else 1):
                at += timedelta(seconds=rng.randint(1, 3600))
                outcome = rng.choice(("resolved", "booked", "not_resolved", None))
                self.event(cid, "resolved", at, **({"outcome": outcome} if outcome else {}))
                if rng.random() < 0.3:
                    at += timedelta(seconds=rng.randint(1, 600))
                    self.event(cid, "reopened", at)
            if rng.random() < 0.1:
                self.event(cid, "appointment_booked", at + timedelta(seconds=3))
            if rng.random() < 0.4:
                score = rng.randint(1, 5)
                nps = rng.choice((None, rng.randint(0, 10)))
                self.csat.append(dict(conversation_id=cid, agent_id=None, score=score, nps=nps,
                                      created_at=at + timedelta(seconds=30)))


async def _load(db: Database, seed: int) -> dict[str, Any]:
    """People, conversations and the random history; returns ids for the later writes."""
    created = _at(FIRST - timedelta(days=30), 0)
    async with db.session() as s:
        s.add(StaffUser(email="a@x.example", name="A", role="attendant", password_hash="x", active=True,
                        created_at=created, presence="online", max_concurrent=3))
        spec = SpecialtyRow(slug="rollup", name="Rollup")
        s.add(spec)
        await s.flush()
        doctor = DoctorRow(name="Dr. R", specialty_id=spec.id, active=True)
        patients = [Patient(display_name=f"P{i}", created_at=created) for i in range(30)]
        s.add_all([doctor, *patients])
        await s.flush()
        pids = [p.id for p in patients]
        rng = random.Random(seed)
        links = {pids[i]: pids[i + 1] for i in (0, 4, 8, 12)}  # P0 -> P1, P4 -> P5, ...
        s.add_all(PatientLink(patient_id=a, linked_to_id=b, created_at=created) for a, b in links.items())
        convs: list[tuple[str, int, int]] = []
        for i, pid in enumerate(pids + pids[:12]):  # the first 12 patients write on two channels
            ident = ChannelIdentity(channel=CHANNELS[i % 4], external_id=uuid.uuid4().hex, patient_id=pid,
                                    created_at=created)
            s.add(ident)
            await s.flush()
            cid = str(uuid.uuid4())
            s.add(Conversation(id=cid, patient_id=pid, identity_id=ident.id, channel=ident.channel, state="bot",
                               reason=rng.choice((*REASONS, None)), priority="normal", bot_failures=0,
                               created_at=created, updated_at=created))
            convs.append((cid, pid, links.get(pid, pids[(i + 7) % len(pids)])))
        await s.flush()
        data = _Data(seed)
        data.contacts(convs, doctor.id, 260)
        await s.execute(insert(Message), data.messages)
        await s.execute(insert(ConversationEvent), data.events)
        await s.execute(insert(CsatResponse), data.csat)
        await s.execute(insert(AppointmentRow), data.appointments)
        await s.commit()
    return {"pids": pids, "convs": convs, "doctor": doctor.id}


async def _later_writes(db: Database, ids: dict[str, Any], step: int) -> None:
    """Writes that change figures of past days (one kind per step)."""
    pids, convs = ids["pids"], ids["convs"]
    rng = random.Random(step)
    async with db.session() as s:
        if step == 0:  # records linked and unlinked after the fact (person, FCR, conversions)
            s.add_all([PatientLink(patient_id=pids[20], linked_to_id=pids[21], created_at=NOW),
                       PatientLink(patient_id=pids[2], linked_to_id=pids[3], created_at=NOW)])
            await s.execute(delete(PatientLink).where(PatientLink.patient_id == pids[4]))
            await s.execute(update(PatientLink).where(PatientLink.patient_id == pids[8]).values(linked_to_id=pids[0]))
        elif step == 1:  # a conversation moved to another patient; reasons of conversations drift
            await s.execute(update(Conversation).where(Conversation.id == convs[5][0]).values(patient_id=pids[6]))
            for cid, *_ in convs[10:20]:
                await s.execute(update(Conversation).where(Conversation.id == cid).values(reason=rng.choice(REASONS)))
        elif step == 2:  # bot re-tags messages, routes some to humans, deletes one, intent flips to csat
            ids_in = (await s.execute(select(Message.id).where(Message.direction == "in").order_by(Message.id))
                      ).scalars().all()
            for mid in rng.sample(list(ids_in), 40):
                await s.execute(update(Message).where(Message.id == mid).values(reason=rng.choice((*REASONS, None))))
            for mid in rng.sample(list(ids_in), 10):
                await s.execute(update(Message).where(Message.id == mid).values(status="routed"))
            for mid in rng.sample(list(ids_in), 5):
                await s.execute(update(Message).where(Message.id == mid).values(intent="csat"))
            await s.execute(delete(Message).where(Message.id.in_(rng.sample(list(ids_in), 5))))
        elif step == 3:  # events out of order: a handoff splitting an episode, an early reply, moves, undo
            lo, hi = RANGES[0].start + timedelta(days=1), RANGES[0].end - timedelta(days=2)
            old = (await s.execute(select(ConversationEvent).where(
                ConversationEvent.type == "handoff", ConversationEvent.created_at >= lo,
                ConversationEvent.created_at < hi).order_by(ConversationEvent.id).limit(6))).scalars().all()
            for e in old[:3]:
                s.add(ConversationEvent(conversation_id=e.conversation_id, type="handoff", actor="bot",
                                        data={"reason_tag": "billing"}, created_at=e.created_at + timedelta(seconds=7)))
                s.add(ConversationEvent(conversation_id=e.conversation_id, type="agent_reply", actor="x",
                                        data={}, created_at=e.created_at + timedelta(seconds=2)))
            await s.execute(delete(ConversationEvent).where(ConversationEvent.id == old[3].id))
            await s.execute(update(ConversationEvent).where(ConversationEvent.id == old[4].id)
                            .values(created_at=old[4].created_at + timedelta(hours=3)))
            await s.execute(update(ConversationEvent).where(
                ConversationEvent.type.in_(("resolved", "assigned")), ConversationEvent.created_at >= lo,
                ConversationEvent.created_at < hi).values(created_at=ConversationEvent.created_at
                                                          + timedelta(seconds=90)))
            await s.execute(update(ConversationEvent).where(
                ConversationEvent.type == "resolved", ConversationEvent.created_at >= lo,
                ConversationEvent.created_at < hi, ConversationEvent.id % 3 == 0).values(data={"outcome": "booked"}))
        else:  # appointments moved in time, to another patient, or deleted
            appts = (await s.execute(select(AppointmentRow.id).where(
                AppointmentRow.created_at >= RANGES[0].start, AppointmentRow.created_at < RANGES[0].end)
                .order_by(AppointmentRow.id))).scalars().all()
            await s.execute(update(AppointmentRow).where(AppointmentRow.id.in_(appts[:4]))
                            .values(created_at=AppointmentRow.created_at - timedelta(hours=20)))
            booking = (await s.execute(
                select(Conversation.patient_id, Message.created_at).join(Conversation,
                                                                         Conversation.id == Message.conversation_id)
                .where(Message.reason == "booking", Message.direction == "in", Message.status == "processed",
                       Message.created_at >= RANGES[0].start, Message.created_at < RANGES[0].end)
                .order_by(Message.id).limit(4))).all()
            for aid, (patient, at) in zip(appts[4:8], booking, strict=True):  # now a conversion of that contact
                await s.execute(update(AppointmentRow).where(AppointmentRow.id == aid)
                                .values(patient_id=patient, created_at=at + timedelta(seconds=1)))
            await s.execute(update(AppointmentRow).where(AppointmentRow.id == appts[9]).values(patient_id=pids[1]))
            await s.execute(delete(AppointmentRow).where(AppointmentRow.id.in_(appts[10:13])))
            # NPS answered after the CSAT row was written, a CSAT answer removed, one moved a day.
            answers = (await s.execute(select(CsatResponse.id).order_by(CsatResponse.id))).scalars().all()
            await s.execute(update(CsatResponse).where(CsatResponse.id.in_(answers[:6])).values(nps=10))
            await s.execute(update(CsatResponse).where(CsatResponse.id == answers[6]).values(nps=3, score=5))
            await s.execute(delete(CsatResponse).where(CsatResponse.id == answers[7]))
            await s.execute(update(CsatResponse).where(CsatResponse.id == answers[8])
                            .values(created_at=CsatResponse.created_at + timedelta(days=1)))
        await s.commit()


def _other(report: dict[str, Any]) -> int:
    return next(r["contacts"] for r in report["reasons"] if r["reason"] == "other")


async def _both(db: Database) -> dict[str, Any]:
    """Every range, with the built-in reasons and with a taught one too (as the API asks once a
    deployed model maps an intent to it): the rollup dashboard == today's, field by field;
    returns the whole month's with the built-in reasons."""
    reports = []
    for rng in RANGES:
        for reasons in (TRIAGE_REASONS, (*TRIAGE_REASONS, "novo_motivo")):
            rolled = await MetricsService(db, reasons=reasons, rollups=True).dashboard(rng, PARAMS, now=NOW)
            reference = await MetricsService(db, reasons=reasons, rollups=False).dashboard(rng, PARAMS, now=NOW)
            assert rolled == reference, (rng, reasons)
            reports.append(reference)
    # The taught reason took its contacts out of "other" (the taught cells' subtraction ran).
    assert _other(reports[1]) < _other(reports[0])
    return reports[0]


async def _rollup_rows(db: Database) -> tuple[list[Any], list[Any]]:
    async with db.session() as s:
        eps = (await s.execute(text("SELECT * FROM metrics_episodes ORDER BY hid"))).all()
        days = (await s.execute(text("SELECT cid, day, weekday, hour, first_at, booking_at, "
                                     "array(SELECT unnest(reasons) ORDER BY 1), handoff, conversion_at "
                                     "FROM metrics_contact_days ORDER BY cid, day"))).all()
    return eps, days


async def test_rollup_dashboard_equals_the_query_dashboard(backend: Backend) -> None:
    db = Database(backend.database_url)
    db.connect()
    try:
        q = queries_for(db.dialect, CLINIC_TZ, RANGES[0].start, RANGES[0].end, NOW)
        assert isinstance(q, RollupQueries) == (backend.name == "postgres")  # SQLite: today's statements
        ids = await _load(db, seed=16)
        await _both(db)
        for step in range(5):
            before = await MetricsService(db, rollups=False).dashboard(RANGES[0], PARAMS, now=NOW)
            await _later_writes(db, ids, step)
            after = await _both(db)
            assert after != before, step  # each kind of write moved some figure of the month
        if backend.name == "postgres":
            maintained = await _rollup_rows(db)
            assert len(maintained[0]) > 50 and len(maintained[1]) > 150
            # The cells were read unfolded so far (every change added rows); folding them moves no
            # figure and leaves one row per cell.
            assert all(n > 0 for n in (await _cell_rows(db, fresh=True)).values())
            assert await MetricsCompactor(db, 30).tick() > 0
            assert set((await _cell_rows(db, fresh=True)).values()) == {0}
            folded = await _cell_rows(db)
            await _both(db)
            async with db.session() as s:
                await rebuild(s)
                await s.commit()
            assert await _rollup_rows(db) == maintained  # the triggers left what a rebuild computes
            assert await _cell_rows(db) == folded  # and the cells what the rebuild's rows sum to
            assert folded["metrics_contact_taught_cells"]  # contacts tagged only with the taught reason
            # The rebuild leaves no dead rows: each table is as large as a packed copy of its rows.
            async with db.session() as s:
                for table in CELL_KEYS:
                    await s.execute(text(f"CREATE TEMP TABLE packed AS SELECT * FROM {table}"))
                    size, packed = (await s.execute(text(
                        f"SELECT pg_relation_size('{table}'), pg_relation_size('packed')"))).one()
                    assert 0 < size <= packed, table
                    await s.execute(text("DROP TABLE packed"))
            await _both(db)
            # FCR still pending at a `now` off the hour: whole hours from the cells, the bound's
            # hour from its episodes (one `now` puts a passing episode's resolve inside that hour).
            async with db.session() as s:
                resolved = (await s.execute(text(
                    "SELECT last_resolved_at FROM metrics_episodes WHERE recontacted = false "
                    "AND outcome_key % 4 IN (1, 2) "
                    "AND (last_reopened_at IS NULL OR last_reopened_at < last_resolved_at) "
                    "AND EXTRACT(minute FROM last_resolved_at) BETWEEN 15 AND 45 ORDER BY hid LIMIT 1"))).scalar_one()
            inside = resolved + timedelta(days=7) - timedelta(minutes=5)
            for now in (NOW + timedelta(minutes=37, seconds=13), NOW - timedelta(days=2, minutes=20), inside):
                rolled = await MetricsService(db, rollups=True).dashboard(RANGES[0], PARAMS, now=now)
                reference = await MetricsService(db, rollups=False).dashboard(RANGES[0], PARAMS, now=now)
                assert rolled == reference and reference["fcr"]["pending"] > 0, now
    finally:
        await db.close()


CELL_KEYS = {"metrics_episode_cells": "day, hour, reason", "metrics_tmr_cells": "day, bucket",
             "metrics_fcr_cells": "day, resolved_hour", "metrics_contact_hour_cells": "day, hour",
             "metrics_contact_reason_cells": "day, hour, reason", "metrics_contact_taught_cells": "day, hour, reasons",
             "metrics_csat_cells": "day"}


async def _cell_rows(db: Database, *, fresh: bool = False) -> dict[str, Any]:
    """Per cell table: with `fresh`, how many rows are not folded; else every row (folded ones
    only: each cell must then have exactly one row), keys and sums, in key order."""
    out: dict[str, Any] = {}
    async with db.session() as s:
        for table, keys in CELL_KEYS.items():
            if fresh:
                out[table] = await s.scalar(text(f"SELECT count(*) FROM {table} WHERE NOT compact"))
                continue
            rows = (await s.execute(text(f"SELECT * FROM {table} ORDER BY {keys}"))).mappings().all()
            assert all(r["compact"] for r in rows)
            out[table] = [{k: v for k, v in r.items() if k not in ("id", "compact")} for r in rows]
            keyed = [tuple(r[k.strip()] for k in keys.split(",")) for r in rows]
            assert len(set(map(str, keyed))) == len(keyed), table  # one row per cell
    return out


def test_the_contact_cells_know_the_built_in_reasons() -> None:
    """Migration 0018 writes `plain` against its own copy of the built-in reasons (a migration is
    frozen); the read side subtracts only the reasons outside the domain's list: they must agree."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0018")
    assert script is not None
    assert script.module.BUILT_IN == BUILT_IN_REASONS == tuple(r for r in TRIAGE_REASONS if r != "other")


async def test_tmr_buckets_bounds_agree_with_the_bucket_function(backend: Backend) -> None:
    """`tmr_bucket_bounds` (where the percentile probe looks) holds every TMR the SQL bucket
    function puts in that bucket, at and around each width's edges; buckets never go down."""
    if backend.name != "postgres":
        pytest.skip("the bucket function lives in PostgreSQL only (migration 0017)")
    samples = sorted({*(x / 8 for x in range(-40, 80)), *(x * 37.3 for x in range(3000)),
                      3599.999999, 3600.0, 3600.000001, 3899.9999, 3900.0,
                      86399.999999, 86400.0, 86400.5, 89999.9, 90000.0, 400000.25, 1e-6, 4.999999, 5.0})
    db = Database(backend.database_url)
    db.connect()
    try:
        async with db.session() as s:
            rows = (await s.execute(text("SELECT t, metrics_tmr_bucket(t) FROM unnest(CAST(:v AS float8[])) t "
                                         "ORDER BY t"), {"v": samples})).all()
    finally:
        await db.close()
    buckets = [int(b) for _, b in rows]
    assert buckets == sorted(buckets) and len(set(buckets)) > 300
    for t, b in rows:
        lo, hi = tmr_bucket_bounds(int(b))
        assert lo <= t < hi, (t, b, lo, hi)


async def test_the_compactor_loop_folds_new_cell_rows(backend: Backend) -> None:
    """The hub's loop (HubRuntime.start_workers) folds the rows each write adds to the cells; on
    SQLite, where the dashboard reads the source tables, it does not run."""
    db = Database(backend.database_url)
    db.connect()
    compactor = MetricsCompactor(db, 0.05)
    try:
        await _load(db, seed=3)
        if backend.name != "postgres":
            await compactor.start()
            assert compactor._task is None
            return
        fresh = await _cell_rows(db, fresh=True)
        assert fresh["metrics_episode_cells"] > 0 and fresh["metrics_contact_hour_cells"] > 0
        await compactor.start()

        async def folded() -> bool:
            return set((await _cell_rows(db, fresh=True)).values()) == {0}

        await eventually(folded, timeout=10, what="the loop folded every cell")
        await _both(db)
    finally:
        await compactor.stop()
        await db.close()
