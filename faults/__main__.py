"""`make faults`: break one part of the running system at a time and count every message.

Real parts: PostgreSQL (reached through a TCP proxy, so it can become unreachable), a Redis server of
the suite's own (so restarting it disturbs nothing else), the real trained model behind a real Rasa
server (reached through a TCP proxy, so it can become slow) with its real action server, two hub
processes, and a local server speaking Twilio's HTTP API at the network boundary.

Each scenario drives 200 messages from 20 patients — 10 on WhatsApp through the real signed Twilio
webhook (posted to either hub, failing over like a load balancer), 10 on the web chat socket (one
hub each, reconnecting to the other and resending unacknowledged messages) — while it breaks one
thing. Four web chat patients are halfway through booking ("Para quando?") when the fault hits;
their flow must carry on. Then it counts, from the database and from what the providers received:

    sent / stored / answered / silent / answered twice / lost / seconds to recover / flows kept

`answered` needs a reply stored with the turn (`silent`: processed without one); `answered twice`
compares what reached patients (Twilio's received messages per number; message ids
seen twice on a web chat socket) with the replies the hub stored; `lost` is sent but not stored, or
stored but never answered. Results: a table on stdout and `var/faults.json`; the exit code is 1 when
anything is lost or answered twice or a flow lost its state.

    .venv/bin/python -m faults [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from handoff.adapters.sql.migrate import upgrade
from tests.support.fake_twilio import FakeTwilio
from tests.support.net import TcpProxy, free_port, wait_http
from tests.support.stack import REPO, BotStack, Proc, start_bot_stack, start_hub

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WHATSAPP_FROM = "whatsapp:+551140000000"
ROUTINE = ["qual o endereço da clínica?", "vocês aceitam unimed?", "qual o horário de funcionamento?",
           "quanto custa a consulta com dermatologista?", "qual o preparo pro exame de glicemia?", "obrigado",
           "tem estacionamento?", "vocês atendem sábado?", "bom dia", "ok, obrigada"]
PATIENTS_TWILIO, PATIENTS_WEB, FLOWS, PER_PATIENT = 10, 10, 4, 10
PACE_SECONDS = 1.5  # between two messages of one patient
FAULT_AT = 5.0  # seconds after the traffic starts
RECOVERY_TIMEOUT = 240.0
DONE = ("processed", "handed_off", "routed")


@dataclass
class Result:
    """One scenario's counts."""

    scenario: str
    sent: int = 0
    stored: int = 0
    answered: int = 0
    silent: int = 0  # processed, but the turn said nothing (a failed action swallowed by Rasa)
    answered_twice: int = 0
    lost: int = 0
    recover_s: float | None = None
    flows: int = 0
    flows_kept: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.answered_twice == 0 and self.flows_kept == self.flows


class Redis:
    """A Redis server of the suite's own (restartable without touching the machine's)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log = (log_dir / "redis.log").open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class World:
    """What every scenario shares."""

    logs: Path
    stack: BotStack
    rasa_proxy: TcpProxy
    pg_proxy: TcpProxy
    redis: Redis
    twilio: FakeTwilio


@dataclass
class Run:
    """One scenario's hubs and database."""

    world: World
    name: str
    db: str
    hubs: list[Proc]
    public: str
    sent_ids: set[str] = field(default_factory=set)
    web_dupes: int = 0
    fault_started: asyncio.Event = field(default_factory=asyncio.Event)
    fault_ended_at: float | None = None
    twilio_dupes: bool = False  # scenario 6: deliver every webhook twice, the copy late

    def hub_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.hubs[i % len(self.hubs)].port}"


async def _sql(db: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + db)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def _hub_env(world: World, db: str, port: int, public: str) -> dict[str, str]:
    tw = world.twilio
    return {
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{world.pg_proxy.port}/{db}",
        "REDIS_URL": world.redis.url, "HUB_PORT": str(port), "PUBLIC_BASE_URL": public,
        "RASA_URL": f"http://127.0.0.1:{world.rasa_proxy.port}", "ACTIONS_URL": world.stack.actions_url,
        "CLINIC_API_TOKEN": world.stack.clinic_api_token, "CLINIC_ADMIN_PASSWORD": "faults-admin-password-1",
        "LEASE_SECONDS": "5", "POLL_INTERVAL_SECONDS": "0.3", "RETRY_BASE_SECONDS": "0.5", "RETRY_MAX_SECONDS": "3",
        "BOT_TIMEOUT_SECONDS": "30", "BOT_GRACE_SECONDS": "600", "BOT_HOLDING_SECONDS": "20",
        "WEBCHAT_RATE_COUNT": "100000", "TWILIO_API_BASE": tw.base_url, "TWILIO_ACCOUNT_SID": tw.account_sid,
        "TWILIO_AUTH_TOKEN": tw.auth_token, "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
    }


async def _twilio_patient(run: Run, i: int, number: str) -> None:
    tw, path = run.world.twilio, "/channels/twilio/messages"
    last: dict[str, str] | None = None
    for k in range(PER_PATIENT):
        sid = "SM" + uuid.uuid4().hex
        form = tw.inbound_form(sid=sid, from_="whatsapp:" + number, to=WHATSAPP_FROM, body=ROUTINE[k],
                               profile_name=f"Paciente {i}")
        run.sent_ids.add(sid)
        await _post_until_stored(run, i + k, path, form)
        if run.twilio_dupes and last is not None:  # the previous message delivered again, after this one
            await _post_until_stored(run, i + k + 1, path, last)
        last = form
        await asyncio.sleep(PACE_SECONDS)


async def _post_until_stored(run: Run, pick: int, path: str, form: dict[str, str]) -> None:
    """POST as Twilio does; on refusal or error, again (to the other hub, as a load balancer would)."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    attempt = 0
    while time.monotonic() < deadline:
        url = run.hub_url(pick + attempt) + path
        try:
            r = await asyncio.to_thread(run.world.twilio.post_webhook, url, form, signed_url=run.public + path)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        attempt += 1
        await asyncio.sleep(0.5)
    raise RuntimeError("a webhook was never accepted")


class WebPatient:
    """A web chat visitor that survives its hub dying: it reconnects and resends what was not acked."""

    def __init__(self, run: Run, i: int) -> None:
        self.run, self.i = run, i
        self.visitor = uuid.uuid4().hex + uuid.uuid4().hex
        self.ws: ClientConnection | None = None
        self.live: set[int] = set()  # replies pushed live (the widget renders each id once)
        self.acks: set[str] = set()
        self.hub = i
        self.reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        while True:
            try:
                url = self.run.hub_url(self.hub).replace("http://", "ws://")
                self.ws = await connect(f"{url}/webchat/ws?visitor={self.visitor}", open_timeout=10)
                self.reader = asyncio.create_task(self._read(self.ws))
                return
            except (OSError, TimeoutError, Exception):  # noqa: BLE001  (any failure: try the other hub)
                self.hub += 1
                await asyncio.sleep(0.5)

    async def _read(self, ws: ClientConnection) -> None:
        first = True
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "history":  # replayed on every (re)connection
                    first = False
                elif frame.get("type") == "ack":
                    self.acks.add(frame.get("client_id"))
                elif frame.get("type") == "message" and frame.get("direction") == "out" and not first:
                    # a reply that races the history snapshot is the same id (the widget shows it
                    # once); the same reply pushed live twice would be shown twice
                    if frame["id"] in self.live:
                        self.run.web_dupes += 1
                    self.live.add(frame["id"])

    async def send(self, text: str, payload: str | None = None) -> None:
        client_id = uuid.uuid4().hex
        self.run.sent_ids.add(client_id)
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while client_id not in self.acks and time.monotonic() < deadline:
            if self.ws is None:
                await self._connect()
            assert self.ws is not None
            with contextlib.suppress(Exception):  # the hub went away: reconnect elsewhere, resend
                await self.ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text,
                                               "payload": payload}))
                for _ in range(50):
                    if client_id in self.acks:
                        return
                    await asyncio.sleep(0.1)
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None
            self.hub += 1
        if client_id not in self.acks:
            raise RuntimeError("a web chat message was never acknowledged")

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def _replies_of(run: Run, visitor: str) -> list[str]:
    rows = await _sql(run.db, "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                              "JOIN channel_identities i ON i.patient_id = c.patient_id WHERE i.channel = 'webchat' "
                              "AND i.external_id = $1 AND m.direction = 'out' ORDER BY m.id", visitor)
    return [r["text"] for r in rows]


async def _wait_reply(run: Run, visitor: str, after: int, contains: str, timeout: float = RECOVERY_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            texts = await _replies_of(run, visitor)
            if any(contains in t for t in texts[after:]):
                return True
        await asyncio.sleep(0.5)
    return False


async def _web_patient(run: Run, i: int, flow: bool, kept: list[bool]) -> None:
    p = WebPatient(run, i)
    try:
        sent = 0
        if flow:  # consent, then booking up to "Para quando?" before the fault, the date after it
            await p.send("oi")
            await _wait_reply(run, p.visitor, 0, "LGPD")
            await p.send("Aceito", "/consent_accept")
            await _wait_reply(run, p.visitor, 0, "consentimento")
            n = len(await _replies_of(run, p.visitor))
            await p.send("quero marcar consulta com cardiologista")
            asked = await _wait_reply(run, p.visitor, n, "Para quando")
            await run.fault_started.wait()
            n = len(await _replies_of(run, p.visitor))
            await p.send("semana que vem de manhã")
            kept.append(asked and await _wait_reply(run, p.visitor, n, "Cardiologia"))
            sent = 4
        for k in range(sent, PER_PATIENT):
            await p.send(ROUTINE[k])
            await asyncio.sleep(PACE_SECONDS)
    finally:
        await p.close()


async def _settled(run: Run) -> bool:
    rows = await _sql(run.db, "SELECT count(*) AS n FROM messages WHERE direction = 'in' AND status <> ALL($1::text[])",
                      list(DONE))
    pending_out = await _sql(run.db, "SELECT count(*) AS n FROM messages WHERE direction = 'out' "
                                     "AND status IN ('pending', 'sending')")
    return rows[0]["n"] == 0 and pending_out[0]["n"] == 0


async def _count(run: Run, result: Result) -> None:
    stored = await _sql(run.db, "SELECT provider_message_id AS id, status FROM messages WHERE direction = 'in'")
    ids = {r["id"] for r in stored}
    result.sent = len(run.sent_ids)
    result.stored = len(ids & run.sent_ids)
    result.answered = len({r["id"] for r in stored if r["status"] in DONE} & run.sent_ids)
    # a turn's replies are committed with its processed mark (one transaction): a processed message
    # with no reply stored around that moment was not answered at all
    silent = await _sql(run.db, "SELECT count(*) AS n FROM messages m WHERE m.direction = 'in' "
                                "AND m.status = 'processed' AND NOT EXISTS (SELECT 1 FROM messages o "
                                "WHERE o.conversation_id = m.conversation_id AND o.direction = 'out' "
                                "AND o.created_at BETWEEN m.processed_at - interval '2 seconds' "
                                "AND m.processed_at + interval '2 seconds')")
    result.silent = int(silent[0]["n"])
    result.answered -= result.silent
    result.lost = (result.sent - result.stored) + (result.stored - result.answered)
    # what Twilio received per patient number vs the replies the hub stored as sent for them
    outs = await _sql(run.db, "SELECT i.external_id, count(*) AS n FROM messages m JOIN conversations c "
                              "ON c.id = m.conversation_id JOIN channel_identities i ON i.patient_id = c.patient_id "
                              "WHERE m.direction = 'out' AND m.channel = 'whatsapp' AND i.channel = 'whatsapp' "
                              "AND m.status IN ('sent', 'delivered', 'read') GROUP BY i.external_id")
    stored_out = {r["external_id"]: r["n"] for r in outs}
    received: dict[str, int] = {}
    for req in run.world.twilio.requests:
        if req.get("_status") == "201":
            to = req.get("To", "").removeprefix("whatsapp:")
            received[to] = received.get(to, 0) + 1
    twilio_dupes = sum(max(0, n - stored_out.get(to, 0)) for to, n in received.items())
    result.answered_twice = twilio_dupes + run.web_dupes
    if result.answered_twice:
        result.notes.append(f"twice on WhatsApp (Twilio received more than stored): {twilio_dupes}; "
                            f"pushed live twice on the web chat: {run.web_dupes}")


async def _scenario(world: World, name: str, fault: Callable[[Run], Awaitable[None]],
                    twilio_dupes: bool = False) -> Result:
    result = Result(name)
    db = f"atende_faults_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    await asyncio.to_thread(upgrade, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}")
    ports = [world.stack.hub_port, free_port()]  # hub 0 serves the clinic API the actions call
    public = f"http://127.0.0.1:{ports[0]}"
    hubs = [start_hub(world.logs, _hub_env(world, db, p, public), f"hub-{name}-{j}") for j, p in enumerate(ports)]
    run = Run(world, name, db, hubs, public, twilio_dupes=twilio_dupes)
    world.twilio.requests.clear()
    try:
        kept: list[bool] = []
        traffic = [*(_twilio_patient(run, i, f"+55119{random.randint(10_000_000, 99_999_999)}")
                     for i in range(PATIENTS_TWILIO)),
                   *(_web_patient(run, i, i < FLOWS, kept) for i in range(PATIENTS_WEB))]

        async def breaker() -> None:
            await asyncio.sleep(FAULT_AT)
            run.fault_started.set()
            await fault(run)
            run.fault_ended_at = time.monotonic()

        await asyncio.gather(breaker(), *traffic)
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while not await _settled(run) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert run.fault_ended_at is not None
        if await _settled(run):
            result.recover_s = round(max(0.0, time.monotonic() - run.fault_ended_at), 1)
        await _count(run, result)
        result.flows, result.flows_kept = FLOWS, sum(kept)
    except Exception as exc:  # noqa: BLE001  (a scenario that breaks the harness is reported, not hidden)
        result.notes.append(f"{type(exc).__name__}: {exc}")
        result.lost = max(result.lost, 1)
    finally:
        for h in hubs:
            h.kill()
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    return result


# -- the faults -----------------------------------------------------------------------------------

async def _kill_and_restart(proc: Proc, down_for: float, ready_url: str, timeout: float,
                            ok: tuple[int, ...] = (200,)) -> None:
    """kill -9 `proc`, start it again `down_for` seconds later and wait until `ready_url` answers."""
    proc.popen.send_signal(signal.SIGKILL)
    await asyncio.sleep(down_for)
    proc.restart()
    await asyncio.to_thread(wait_http, ready_url, timeout, ok)


async def kill_hub(run: Run) -> None:
    """kill -9 the second hub process; it comes back 5 s later."""
    await _kill_and_restart(run.hubs[1], 5, f"{run.hub_url(1)}/healthz", 60.0, (200, 503))


async def kill_rasa(run: Run) -> None:
    """kill -9 Rasa; restart it 10 s later (it takes a while to load the model)."""
    await _kill_and_restart(run.world.stack.rasa, 10, f"{run.world.stack.rasa_url}/status", 240.0)


async def kill_actions(run: Run) -> None:
    """kill -9 the action server mid-flow; restart it 5 s later."""
    await _kill_and_restart(run.world.stack.actions, 5, f"{run.world.stack.actions_url}/health", 120.0)


async def restart_redis(run: Run) -> None:
    """The bus restarts (it keeps nothing on disk)."""
    run.world.redis.kill()
    await asyncio.sleep(2)
    run.world.redis.start()


async def postgres_unreachable(run: Run) -> None:
    """Connections to PostgreSQL refused and cut for 10 s."""
    run.world.pg_proxy.down()
    await asyncio.sleep(10)
    run.world.pg_proxy.up()


async def nothing(run: Run) -> None:
    """No fault of its own: the webhooks arrive twice and out of order."""


async def slow_rasa(run: Run) -> None:
    """Every bot turn takes 5 s more for 12 s."""
    run.world.rasa_proxy.delay = 5.0
    await asyncio.sleep(12)
    run.world.rasa_proxy.delay = 0.0


SCENARIOS: dict[str, tuple[Callable[[Run], Awaitable[None]], bool]] = {
    "hub killed (kill -9)": (kill_hub, False),
    "rasa killed, back after 10 s": (kill_rasa, False),
    "action server killed mid-flow": (kill_actions, False),
    "redis restarted": (restart_redis, False),
    "postgres unreachable 10 s": (postgres_unreachable, False),
    "webhooks twice and out of order": (nothing, True),
    "slow rasa (5 s per turn)": (slow_rasa, False),
}


def table(results: list[Result]) -> list[str]:
    """The results as a Markdown table."""
    lines = ["| scenario | sent | stored | answered | silent | answered twice | lost | seconds to recover "
             "| flows kept |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        recover = "—" if r.recover_s is None else f"{r.recover_s:.1f}"
        lines.append(f"| {r.scenario} | {r.sent} | {r.stored} | {r.answered} | {r.silent} | {r.answered_twice} | "
                     f"{r.lost} | {recover} | {r.flows_kept}/{r.flows} |")
    return lines


def main() -> int:
    """Run the scenarios (all, or `--only` substrings) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None, help="run the scenarios whose name contains one of these")
    args = ap.parse_args()
    chosen = {k: v for k, v in SCENARIOS.items() if not args.only or any(o in k for o in args.only)}
    logs = Path(tempfile.mkdtemp(prefix="atende-faults-"))
    redis = Redis(logs)
    redis.start()
    twilio = FakeTwilio().start()
    stack = start_bot_stack(logs)
    world = World(logs, stack, TcpProxy(stack.rasa.port).start(), TcpProxy(5432).start(), redis, twilio)
    results: list[Result] = []
    try:
        for name, (fault, dupes) in chosen.items():
            print(f"-- {name}", flush=True)
            result = asyncio.run(_scenario(world, name, fault, dupes))
            results.append(result)
            print("\n".join(table([result])[2:]), *(f"   note: {n}" for n in result.notes), sep="\n", flush=True)
    finally:
        stack.stop()
        twilio.close()
        redis.kill()
        world.rasa_proxy.close()
        world.pg_proxy.close()
    print("\n" + "\n".join(table(results)))
    out = REPO / "var" / "faults.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([{**asdict(r), "ok": r.ok} for r in results], ensure_ascii=False, indent=2))
    print(f"written to {out}; logs in {logs}")
    bad = [r.scenario for r in results if not r.ok]
    if bad:
        print("FAILED: " + "; ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
