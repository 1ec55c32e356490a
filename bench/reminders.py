"""Appointment reminders (issue 15) on PostgreSQL: sending, and the scheduler's query at scale.

1. 10,000 appointments tomorrow, each patient with a WhatsApp (Twilio) conversation whose 24-hour
   window is open (the reminder goes as text with buttons). `ReminderService.plan(now)` is timed,
   then `send_due(now)` (claim with a lease + one transaction per reminder that queues the
   outbound message), then the real outbox delivers them to the local Twilio server
   (tests/support/fake_twilio.py, on a thread of this process). Baseline in the same run: the
   same 10,000 texts queued straight into the outbox (`store.add_outbound`, one transaction each,
   no reminder logic) and delivered the same way. Senders and outbox drainers run `--workers`
   at a time (replicas), the same number for both.
2. The scheduler's reads (`reminder_store.upcoming` + `existing`: what one `plan` pass reads) on
   1,000,000 appointments over two years (generate_series), p50 of 5 runs after the first plan
   pass wrote the reminder rows, beside `SELECT count(*) FROM appointments` (the floor) and a whole
   steady-state `plan` pass; EXPLAIN says which index the range on `starts_at` uses. The same reads
   are timed again with a trial index on `appointments (starts_at)` built only in the bench database
   (not a migration), to show what one would change.

Each part uses a fresh database (migrations via `upgrade`), dropped afterwards.
`python -m bench.reminders [--reminders N] [--appointments N]`; also run by `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from bench.pg import create_database, drop_database
from handoff.adapters.sql import reminder_store as rs
from handoff.adapters.sql import store
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import ClinicProfile, Conversation, DoctorRow, SpecialtyRow
from handoff.domain.messages import Sender
from handoff.runtime import HubRuntime
from handoff.services.outbox import Outbox
from handoff.services.reminders import ReminderService, buttons
from handoff.settings import Settings
from tests.support.fake_twilio import FakeTwilio

TWILIO_FROM = "whatsapp:+551140000000"
DOCTORS = 10
BULK_DOCTORS = 200
BULK_PATIENTS = 50_000
RUNS = 5
BASELINE_TEXT = ("Olá, Paciente! Lembrete da sua consulta de Cardiologia com Dr. 1 na terça-feira, 08/12, "
                 "às 09:30.\nEndereço: Rua das Flores, 100 - São Paulo.\nVocê confirma sua presença?")


def _settings(url: str, twilio: FakeTwilio | None = None) -> Settings:
    values: dict[str, Any] = {"database_url": url, "redis_url": None, "rasa_url": "http://127.0.0.1:9",
                              "clinic_admin_password": "x" * 16, "seed_demo_clinic": False,
                              "reminders_enabled": False, "public_base_url": "https://atende.clinica.example"}
    if twilio is not None:
        values.update(twilio_api_base=twilio.base_url, twilio_account_sid=twilio.account_sid,
                      twilio_auth_token=twilio.auth_token, twilio_whatsapp_from=TWILIO_FROM)
    return Settings(**values)


async def _clinic(rt: HubRuntime, doctors: int, now: datetime) -> list[int]:
    """The clinic card, one specialty and `doctors` doctors; their ids."""
    async with rt.db.session() as s:
        spec = SpecialtyRow(slug="cardiologia", name="Cardiologia")
        s.add(spec)
        s.add(ClinicProfile(id=1, name="Clínica Exemplo", address="Rua das Flores, 100 - São Paulo",
                            phone="+551130000000", whatsapp="+551130000000", email="contato@clinica.example",
                            parking="", accessibility="", hours=[], created_at=now))
        await s.flush()
        rows = [DoctorRow(name=f"Dr. {i}", specialty_id=spec.id, active=True) for i in range(doctors)]
        s.add_all(rows)
        await s.flush()
        return [d.id for d in rows]


class _Statements:
    """Counts the SQL statements and commits the hub's engine sends (not the pool's pings)."""

    def __init__(self, rt: HubRuntime) -> None:
        self.statements = self.commits = 0
        engine = rt.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def mark(self) -> tuple[int, int]:
        return self.statements, self.commits


async def _plan(rt: HubRuntime, now: datetime) -> dict[str, Any]:
    """One `plan(now)` pass, timed. If it fails (a single INSERT of more than 3,276 reminder rows
    passes PostgreSQL's 32,767-parameter limit: `reminder_store.insert_missing` sends them in one
    statement), the error is recorded and the rows are planned in passes with a shorter horizon
    (halved until a pass fits), so the rest of the bench can run."""
    service = ReminderService(rt.uow, rt.settings)
    t0 = time.perf_counter()
    try:
        counts = await service.plan(now)
        return {"ok": True, "seconds": time.perf_counter() - t0, "planned": counts["planned"], "passes": 1}
    except DBAPIError as exc:
        error = str(exc.orig).split("\n")[0]
    t0 = time.perf_counter()
    planned = passes = 0

    async def upto(lo: float, hi: float) -> None:
        """Plan up to `hi` hours ahead; when that is too many rows, up to halfway first."""
        nonlocal planned, passes
        passes += 1
        stepped = ReminderService(rt.uow, rt.settings.model_copy(update={"reminder_horizon_hours": hi}))
        try:
            planned += (await stepped.plan(now))["planned"]
        except DBAPIError:
            await upto(lo, (lo + hi) / 2)
            await upto((lo + hi) / 2, hi)

    await upto(0.0, rt.settings.reminder_horizon_hours)
    return {"ok": False, "error": error, "seconds": time.perf_counter() - t0, "planned": planned, "passes": passes}


def _plan_text(p: dict[str, Any]) -> str:
    if p["ok"]:
        return f"{p['seconds'] * 1000:.0f} ms for {p['planned']:,} rows in one pass"
    return (f"ONE PASS FAILED ({p['error']}); planned instead in {p['passes']} passes with shorter "
            f"horizons (halved until a pass fits): {p['seconds'] * 1000:.0f} ms in all for {p['planned']:,} rows")


async def _workers(n: int, make: Callable[[int], Awaitable[None]]) -> float:
    """Run `n` coroutines side by side; the wall time."""
    t0 = time.perf_counter()
    await asyncio.gather(*(make(i) for i in range(n)))
    return time.perf_counter() - t0


async def _deliver_all(rt: HubRuntime, workers: int) -> float:
    """The outbox, `workers` drainers at a time, until no conversation has unsent replies."""
    outbox = Outbox(rt.uow, rt.senders, rt.settings)

    async def drainer(i: int) -> None:
        owner = f"bench-outbox-{i}"
        while (conv := await outbox.claim(owner)) is not None:
            await outbox.drain(conv, owner)

    return await _workers(workers, drainer)


async def _seed_sending(rt: HubRuntime, url: str, n: int, now: datetime) -> None:
    """`n` patients, each with an open WhatsApp conversation and an appointment the next day."""
    doctors = await _clinic(rt, DOCTORS, now)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        created = now - timedelta(days=30)
        await conn.copy_records_to_table(
            "patients", records=[(f"Paciente {i}", f"+55119{i:08d}", created) for i in range(n)],
            columns=("display_name", "phone", "created_at"))
        pids = [r[0] for r in await conn.fetch("SELECT id FROM patients ORDER BY id")]
        await conn.copy_records_to_table(
            "channel_identities", records=[("whatsapp", f"+55119{i:08d}", pid, created)
                                           for i, pid in enumerate(pids)],
            columns=("channel", "external_id", "patient_id", "created_at"))
        idents = await conn.fetch("SELECT id, patient_id FROM channel_identities ORDER BY id")
        # The window is open: the patient wrote two hours ago.
        await conn.copy_records_to_table(
            "conversations", records=[(str(uuid.uuid4()), r[1], r[0], "whatsapp", "bot", "normal", 0, created,
                                       now - timedelta(hours=2), now - timedelta(hours=2)) for r in idents],
            columns=("id", "patient_id", "identity_id", "channel", "state", "priority", "bot_failures",
                     "created_at", "updated_at", "last_inbound_at"))
        # Tomorrow, 18.5 to 23.5 hours from now: the 24 h reminder is due (less than 6 h late,
        # not stale); booked 20 h ago, so no 48 h reminder is owed.
        first, span = now + timedelta(hours=18.5), timedelta(hours=5)
        booked = now - timedelta(hours=20)
        appts = []
        for i, pid in enumerate(pids):
            start = first + span * i / n
            appts.append((pid, doctors[i % DOCTORS], start, start + timedelta(minutes=30), "scheduled",
                          booked, booked))
        await conn.copy_records_to_table(
            "appointments", records=appts,
            columns=("patient_id", "doctor_id", "starts_at", "ends_at", "status", "created_at", "updated_at"))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def _sending(url: str, n: int, workers: int, twilio: FakeTwilio) -> dict[str, Any]:
    """Part 1: plan, send_due and delivery of `n` reminders; the baseline with the same texts."""
    now = datetime.now(UTC)  # real time: the outbox compares next_attempt_at with the clock
    rt = await HubRuntime.open(_settings(url, twilio))
    out: dict[str, Any] = {"n": n, "workers": workers}
    try:
        t0 = time.perf_counter()
        await _seed_sending(rt, url, n, now)
        out["seed_s"] = time.perf_counter() - t0

        out["plan"] = await _plan(rt, now)

        sent: dict[str, int] = {}
        sql = _Statements(rt)
        marks = [sql.mark()]

        async def sender(i: int) -> None:
            mine = ReminderService(rt.uow, rt.settings, owner=f"bench-rem-{i}")
            for status, count in (await mine.send_due(now, limit=n + 1)).items():
                sent[status] = sent.get(status, 0) + count

        before = len(twilio.requests)
        out["send_s"] = await _workers(workers, sender)
        marks.append(sql.mark())
        out["sent"] = sent
        out["deliver_s"] = await _deliver_all(rt, workers)
        marks.append(sql.mark())
        out["delivered"] = len(twilio.requests) - before

        # Baseline: the same number of texts, queued straight into the outbox, one transaction each.
        async with rt.db.session() as s:
            conv_ids = list((await s.execute(select(Conversation.id).order_by(Conversation.id))).scalars())
        queue: asyncio.Queue[str] = asyncio.Queue()
        for cid in conv_ids:
            queue.put_nowait(cid)

        async def queuer(i: int) -> None:
            while not queue.empty():
                cid = queue.get_nowait()
                async with rt.uow() as (session, _):
                    conv = await session.get(Conversation, cid)
                    assert conv is not None
                    store.add_outbound(session, conv, Sender.SYSTEM, BASELINE_TEXT, {"buttons": buttons(1)})

        before = len(twilio.requests)
        marks.append(sql.mark())
        out["base_queue_s"] = await _workers(workers, queuer)
        marks.append(sql.mark())
        out["base_deliver_s"] = await _deliver_all(rt, workers)
        marks.append(sql.mark())
        # (statements, commits) per phase: send, deliver, baseline queue, baseline deliver.
        out["sql"] = [(b[0] - a[0], b[1] - a[1]) for a, b in ((marks[0], marks[1]), (marks[1], marks[2]),
                                                                (marks[3], marks[4]), (marks[4], marks[5]))]
        out["base_delivered"] = len(twilio.requests) - before
    finally:
        await rt.close()
    return out


async def _bulk(dsn: str, appointments: int, now: datetime) -> float:
    """1M appointments over two years centred on `now` (generate_series), in one statement."""
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await conn.execute(f"INSERT INTO patients (display_name, created_at) SELECT 'Paciente ' || g, $1 "
                           f"FROM generate_series(1, {BULK_PATIENTS}) g", now - timedelta(days=800))
        p0 = await conn.fetchval("SELECT min(id) FROM patients")
        d0 = await conn.fetchval("SELECT min(id) FROM doctors")
        per_doctor = -(-appointments // BULK_DOCTORS)
        step = 2 * 365 * 86400 / per_doctor  # seconds between one doctor's appointments
        # Past ones done (1 in 10 cancelled), future ones scheduled (1 in 5 confirmed, 1 in 10 cancelled);
        # each booked two weeks before.
        await conn.execute(f"""
            INSERT INTO appointments (patient_id, doctor_id, starts_at, ends_at, status, created_at, updated_at)
            SELECT {p0} + (g % {BULK_PATIENTS}), {d0} + (g % {BULK_DOCTORS}), s, s + interval '30 minutes',
                   CASE WHEN g % 10 = 0 THEN 'cancelled' WHEN s < $1::timestamptz THEN 'done'
                        WHEN g % 5 = 0 THEN 'confirmed' ELSE 'scheduled' END,
                   s - interval '14 days', s - interval '14 days'
            FROM (SELECT g, $1::timestamptz - interval '365 days'
                            + ((g / {BULK_DOCTORS}) * {step:.3f}) * interval '1 second'
                            + (g % {BULK_DOCTORS}) * interval '7 seconds' AS s
                  FROM generate_series(0, {appointments - 1}) g) x""", now)
        await conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int = RUNS) -> list[float]:
    await fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return times


def _index_names(plan: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.append(f"{node['Node Type']} on {node['Index Name']}")
        elif node.get("Node Type") == "Seq Scan":
            found.append(f"Seq Scan on {node.get('Relation Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return found


async def _explain(dsn: str, now: datetime, horizon: datetime) -> list[str]:
    """The plan of the upcoming-appointments read (EXPLAIN, no ANALYZE)."""
    captured: list[Any] = []

    class Capture:  # takes the statement `upcoming` builds, so the plan is of the exact query
        async def execute(self, stmt: Any) -> Any:
            captured.append(stmt)
            raise _Stop

    try:
        await rs.upcoming(Capture(), now, horizon)  # type: ignore[arg-type]
    except _Stop:
        pass
    sql = str(captured[0].compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    conn = await asyncpg.connect(dsn)
    try:
        plan = json.loads(await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql))
    finally:
        await conn.close()
    return _index_names(plan[0]["Plan"])


class _Stop(Exception):
    pass


async def _query(url: str, appointments: int) -> dict[str, Any]:
    """Part 2: the scheduler's reads on `appointments` appointments."""
    now = datetime.now(UTC)
    rt = await HubRuntime.open(_settings(url))
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    out: dict[str, Any] = {"appointments": appointments}
    try:
        await _clinic(rt, BULK_DOCTORS, now)
        out["load_s"] = await _bulk(dsn, appointments, now)
        service = ReminderService(rt.uow, rt.settings)
        horizon = now + timedelta(hours=rt.settings.reminder_horizon_hours)
        out["first_plan"] = await _plan(rt, now)
        seen: dict[str, int] = {}

        async def reads() -> None:
            async with rt.uow() as (session, _):
                appts = await rs.upcoming(session, now, horizon)
                have = await rs.existing(session, [a.id for a, _ in appts])
            seen["upcoming"], seen["existing"] = len(appts), len(have)

        conn = await asyncpg.connect(dsn)
        try:
            await conn.fetchval("SELECT 1")
            count_times = await _timed(lambda: conn.fetchval("SELECT count(*) FROM appointments"))
        finally:
            await conn.close()
        out["count"] = count_times
        out["reads"] = await _timed(reads)
        out["seen"] = dict(seen)
        out["plan_pass"] = await _timed(lambda: service.plan(now))
        out["explain"] = await _explain(dsn, now, horizon)
        conn = await asyncpg.connect(dsn)
        try:
            t0 = time.perf_counter()
            await conn.execute("CREATE INDEX bench_trial_appointments_starts_at ON appointments (starts_at)")
            await conn.execute("ANALYZE appointments")
            out["trial_index_s"] = time.perf_counter() - t0
        finally:
            await conn.close()
        out["reads_ix"] = await _timed(reads)
        out["plan_pass_ix"] = await _timed(lambda: service.plan(now))
        out["explain_ix"] = await _explain(dsn, now, horizon)
    finally:
        await rt.close()
    return out


def _per(counts: tuple[int, int], n: int) -> str:
    return f"{counts[0] / n:.1f} / {counts[1] / n:.1f}"


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f}"


def run(reminders: int = 10_000, appointments: int = 1_000_000, workers: int = 4) -> list[str]:
    """Both parts; print and return the markdown lines."""
    print(f"reminders bench: {reminders:,} reminders through the outbox ({workers} workers), then the "
          f"scheduler's query on {appointments:,} appointments...", flush=True)
    twilio = FakeTwilio().start()
    name = asyncio.run(create_database("atende_bench_rem_send"))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        t = time.perf_counter()
        upgrade(url)
        migrate_s = time.perf_counter() - t
        s = asyncio.run(_sending(url, reminders, workers, twilio))
    finally:
        twilio.close()
        asyncio.run(drop_database(name))
    name = asyncio.run(create_database("atende_bench_rem_query"))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        q = asyncio.run(_query(url, appointments))
    finally:
        asyncio.run(drop_database(name))

    n = s["n"]
    sent_ok = s["sent"].get("sent", 0)
    rem_total = s["send_s"] + s["deliver_s"]
    base_total = s["base_queue_s"] + s["base_deliver_s"]
    rq, rd = sent_ok / s["send_s"], s["delivered"] / s["deliver_s"]
    bq, bd = n / s["base_queue_s"], s["base_delivered"] / s["base_deliver_s"]
    lines = [
        f"## Reminders: {n:,} for the next day through the outbox to the local Twilio server (PostgreSQL)",
        "",
        f"Appointments starting 18.5 to 23.5 h from now (the 24 h reminder is due), patients with a WhatsApp "
        f"conversation whose 24-hour window is open (text + buttons); {workers} "
        f"senders / outbox drainers side by side in one process, the Twilio server on a thread of it. "
        f"Setup: migrations {migrate_s:.1f} s, {n:,} patients + conversations + appointments (COPY) "
        f"{s['seed_s']:.1f} s. `plan(now)`: {_plan_text(s['plan'])} "
        f"({s['plan']['planned'] - n:,} of them morning-of reminders, not due yet). "
        f"`send_due`: {json.dumps(s['sent'])}; provider requests {s['delivered']:,} (reminders), "
        f"{s['base_delivered']:,} (baseline).",
        "",
        "| path | queue s | queued/s | SQL statements / commits per message queued | deliver s "
        "| delivered to provider/s | SQL statements / commits per message delivered | end to end msg/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| reminders: `send_due` (claim + decide + queue) then the outbox | {s['send_s']:.1f} | {rq:.0f} | "
        f"{_per(s['sql'][0], n)} | {s['deliver_s']:.1f} | {rd:.0f} | {_per(s['sql'][1], n)} "
        f"| {sent_ok / rem_total:.0f} |",
        f"| baseline: same texts queued straight into the outbox, then the outbox | {s['base_queue_s']:.1f} | "
        f"{bq:.0f} | {_per(s['sql'][2], n)} | {s['base_deliver_s']:.1f} | {bd:.0f} | {_per(s['sql'][3], n)} "
        f"| {n / base_total:.0f} |",
        f"| ratio reminders / baseline | | {rq / bq:.2f}x | | | {rd / bd:.2f}x | | "
        f"{(sent_ok / rem_total) / (n / base_total):.2f}x |",
        "",
        f"## The scheduler's query on {q['appointments']:,} appointments over two years (PostgreSQL)",
        "",
        f"Loaded with generate_series in {q['load_s']:.1f} s ({BULK_DOCTORS} doctors, {BULK_PATIENTS:,} "
        f"patients). A `plan` pass reads {q['seen']['upcoming']:,} active appointments in the next "
        f"72 h and their {q['seen']['existing']:,} reminder rows (written by the first pass: "
        f"{_plan_text(q['first_plan'])}). p50 of {RUNS} runs "
        f"after a warm-up.",
        "",
        f"EXPLAIN of `upcoming`: {', '.join(q['explain'])}. With a trial index on `appointments (starts_at)` "
        f"(bench database only, built in {q['trial_index_s']:.1f} s): {', '.join(q['explain_ix'])}.",
        "",
        "| computation | p50 ms | with trial index on starts_at, p50 ms |",
        "|---|---:|---:|",
        f"| `upcoming` + `existing` (one plan pass's reads) | {_ms(q['reads'])} | {_ms(q['reads_ix'])} |",
        f"| whole `plan(now)` pass, nothing new to insert | {_ms(q['plan_pass'])} | {_ms(q['plan_pass_ix'])} |",
        f"| `SELECT count(*) FROM appointments` (plain scan, the floor) | {_ms(q['count'])} | |",
        "",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reminders", type=int, default=10_000)
    ap.add_argument("--appointments", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    run(args.reminders, args.appointments, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
