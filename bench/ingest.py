"""Hub ingest under many concurrent senders, the bot stubbed (issue 16).

Half the senders are WhatsApp patients posting Twilio's signed inbound webhook (the form of
tests/fixtures/twilio, signed for the public URL both hubs sit behind), half are web chat
widgets on the real socket. Each sender sends its messages one after another, each only after
the previous one was acknowledged (HTTP 200 from the webhook: stored; the widget's `ack` frame:
stored), as a phone or a widget does. The bot is a local instant stand-in (bench/stub_bot.py),
so what is measured is the hub's own cost: persisting, the bot pipeline, the outbox and the
delivery of every reply (to the local Twilio server, or pushed on the widget's socket).

Figures per load: messages persisted + acknowledged per second, the acknowledgement latency
(p50/p99), messages answered per second (until the last reply reached its patient), and the
counts that must hold whatever the speed, read from the database and from what reached the
patients: every message stored once, every message answered exactly once, nothing lost.

    python -m bench.ingest [--senders 200] [--per-sender 5] [--hubs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import httpx
from websockets.asyncio.client import connect

from bench import figures
from bench.figures import pct
from bench.pg import create_database, drop_database
from handoff.adapters.sql.migrate import upgrade
from tests.support.fake_twilio import FakeTwilio
from tests.support.net import free_port, wait_http
from tests.support.stack import REPO, Proc, spawn, start_hub

PUBLIC = "https://clinica.bench.example"  # both hubs behind one public name, as behind a balancer
WEBHOOK = "/channels/twilio/messages"
WHATSAPP_FROM = "whatsapp:+551140000000"
ANSWER_TIMEOUT = 300.0



@dataclass
class Load:
    """What one run sent and saw."""

    senders: int
    per_sender: int
    hubs: int
    acks: list[float] = field(default_factory=list)  # seconds from send to acknowledgement
    web_replies: Counter[str] = field(default_factory=Counter)  # bot reply ids pushed per widget
    web_twice: int = 0  # the same reply id pushed twice on one socket
    t_acked: float = 0.0
    t_answered: float = 0.0
    sent_ids: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.senders * self.per_sender


async def _web_sender(load: Load, url: str, t0: float, done: asyncio.Event) -> None:
    visitor = uuid.uuid4().hex * 2
    async with connect(f"{url.replace('http://', 'ws://')}/webchat/ws?visitor={visitor}", max_queue=None) as ws:
        json.loads(await ws.recv())  # history
        acked: asyncio.Queue[str] = asyncio.Queue()
        seen: set[int] = set()

        async def read() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "ack":
                    acked.put_nowait(frame["client_id"])
                elif frame.get("type") == "message" and frame.get("sender") == "bot":
                    if frame["id"] in seen:
                        load.web_twice += 1
                    seen.add(frame["id"])
                    load.web_replies[visitor] += 1

        reader = asyncio.create_task(read())
        try:
            for _ in range(load.per_sender):
                client_id = uuid.uuid4().hex
                load.sent_ids.add(client_id)
                start = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": "oi"}))
                while await acked.get() != client_id:
                    pass
                load.acks.append(time.perf_counter() - start)
            await done.wait()  # keep the socket open until every reply has been delivered
        finally:
            reader.cancel()


async def _twilio_sender(load: Load, url: str, twilio: FakeTwilio, number: str, client: httpx.AsyncClient) -> None:
    for k in range(load.per_sender):
        sid = "SM" + uuid.uuid4().hex
        form = twilio.inbound_form(sid=sid, from_="whatsapp:" + number, to=WHATSAPP_FROM, body="oi",
                                   profile_name=f"Paciente {number[-4:]}")
        load.sent_ids.add(sid)
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
                   "X-Twilio-Signature": twilio.sign(PUBLIC + WEBHOOK, form)}
        start = time.perf_counter()
        response = await client.post(url + WEBHOOK, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"webhook refused ({response.status_code}) on message {k}")
        load.acks.append(time.perf_counter() - start)


def _twilio_received(twilio: FakeTwilio) -> Counter[str]:
    received: Counter[str] = Counter()
    for req in list(twilio.requests):
        if req.get("_status") == "201":
            received[req.get("To", "")] += 1
    return received


async def drive(load: Load, urls: list[str], twilio: FakeTwilio) -> None:
    """Run the senders against the hubs (sender i on hub i mod n) until every message is
    acknowledged, then until every message is answered."""
    web = load.senders // 2
    numbers = [f"+55119{700000 + i:07d}" for i in range(load.senders - web)]
    done = asyncio.Event()
    t0 = time.perf_counter()
    limits = httpx.Limits(max_connections=len(numbers) + 10, max_keepalive_connections=len(numbers) + 10)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        web_tasks = [asyncio.create_task(_web_sender(load, urls[i % len(urls)], t0, done)) for i in range(web)]
        twilio_tasks = [asyncio.create_task(_twilio_sender(load, urls[(web + i) % len(urls)], twilio, n, client))
                        for i, n in enumerate(numbers)]

        async def all_acked() -> None:
            while len(load.acks) < load.total:
                for t in web_tasks + twilio_tasks:
                    if t.done() and t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]
                await asyncio.sleep(0.01)

        await asyncio.wait_for(all_acked(), ANSWER_TIMEOUT)
        load.t_acked = time.perf_counter() - t0
        wanted_twilio = {"whatsapp:" + n: load.per_sender for n in numbers}
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            received = _twilio_received(twilio)
            if sum(load.web_replies.values()) >= web * load.per_sender and all(
                    received.get(k, 0) >= v for k, v in wanted_twilio.items()):
                break
            await asyncio.sleep(0.02)
        load.t_answered = time.perf_counter() - t0
        done.set()
        await asyncio.gather(*web_tasks, *twilio_tasks)


async def _database_counts(dsn: str, sent_ids: set[str]) -> tuple[int, int, int]:
    """(stored once, stored more than once, inbound messages whose conversation holds another
    number of replies than inbound messages) — the stand-in bot answers every turn once."""
    conn = await asyncpg.connect(dsn)
    try:
        # A reply the provider already has is marked sent just after: wait for the last marks.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and await conn.fetchval(
                "SELECT count(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending')"):
            await asyncio.sleep(0.1)
        rows = await conn.fetch("SELECT provider_message_id, count(*) AS n FROM messages WHERE direction = 'in' "
                                "GROUP BY provider_message_id")
        stored = {r["provider_message_id"]: r["n"] for r in rows}
        unbalanced = await conn.fetchval(
            "SELECT coalesce(sum(abs(i - o)), 0) FROM (SELECT conversation_id, "
            "count(*) FILTER (WHERE direction = 'in') AS i, "
            "count(*) FILTER (WHERE direction = 'out' AND status IN ('sent', 'delivered', 'read')) AS o "
            "FROM messages GROUP BY conversation_id) c")
    finally:
        await conn.close()
    once = sum(1 for k in sent_ids if stored.get(k) == 1)
    twice = sum(1 for k in sent_ids if stored.get(k, 0) > 1)
    return once, twice, int(unbalanced)


@dataclass
class Row:
    """One line of the table."""

    label: str
    load: Load
    stored_once: int
    stored_twice: int
    unbalanced: int
    received_twice: int
    rss_mb: list[float]

    @property
    def acked_per_s(self) -> float:
        return self.load.total / self.load.t_acked

    @property
    def answered_per_s(self) -> float:
        return self.load.total / self.load.t_answered

    @property
    def lost(self) -> int:
        return self.load.total - self.stored_once - self.stored_twice + self.unbalanced

    def line(self) -> str:
        acks = self.load.acks
        return (f"| {self.label} | {self.load.senders} | {self.load.total} | {self.acked_per_s:.0f} | "
                f"{pct(acks, 50):.0f} | {pct(acks, 99):.0f} | {self.answered_per_s:.0f} | "
                f"{self.stored_once}/{self.load.total} | {self.stored_twice + self.received_twice} | {self.lost} | "
                f"{' + '.join(f'{r:.0f}' for r in self.rss_mb)} |")


async def _run_one(label: str, load: Load, stub_url: str, logs: Path) -> Row:
    name = await create_database("atende_bench_ingest")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    twilio = FakeTwilio().start()
    hubs: list[Proc] = []
    try:
        await asyncio.to_thread(upgrade, dsn.replace("postgresql://", "postgresql+asyncpg://"))
        env = {"DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
               "REDIS_URL": "redis://127.0.0.1:6379/14", "RASA_URL": stub_url, "ACTIONS_URL": stub_url,
               "PUBLIC_BASE_URL": PUBLIC, "CLINIC_ADMIN_PASSWORD": "bench-password-1",
               "WEBCHAT_RATE_COUNT": "100000", "TWILIO_API_BASE": twilio.base_url,
               "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
               "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM}
        for i in range(load.hubs):
            hubs.append(await asyncio.to_thread(start_hub, logs, dict(env), f"hub-ingest-{label}-{i}"))
        await drive(load, [f"http://127.0.0.1:{h.port}" for h in hubs], twilio)
        rss = [figures.peak_rss_mb(h.popen.pid) or 0.0 for h in hubs]
        once, twice, unbalanced = await _database_counts(dsn, load.sent_ids)
        received = _twilio_received(twilio)
        received_twice = sum(max(0, n - load.per_sender) for n in received.values()) + load.web_twice
        return Row(label, load, once, twice, unbalanced, received_twice, rss)
    finally:
        for h in hubs:
            h.kill()
        twilio.close()
        await drop_database(name)


def run(senders: int = 200, per_sender: int = 5) -> list[str]:
    """The ingest table at 1x and 10x senders on one hub, and 10x on two replicas."""
    logs = Path(tempfile.mkdtemp(prefix="atende-bench-ingest-"))
    stub_port = free_port()
    stub = spawn("stub-bot", [sys.executable, str(REPO / "bench" / "stub_bot.py"), str(stub_port)],
                 env={}, cwd=REPO, log_dir=logs, port=stub_port)
    rows: list[Row] = []
    try:
        wait_http(f"http://127.0.0.1:{stub_port}/status", timeout=30)
        stub_url = f"http://127.0.0.1:{stub_port}"
        for label, n, hubs in (("1 hub, 1x", max(2, senders // 10), 1), ("1 hub, 10x", senders, 1),
                               ("2 hubs, 10x", senders, 2)):
            row = asyncio.run(_run_one(label, Load(n, per_sender, hubs), stub_url, logs))
            print(row.line(), flush=True)
            rows.append(row)
    finally:
        stub.kill()
    one_hub, two_hubs = rows[1], rows[2]
    figures.record("ingest_pg_acked_per_s", max(one_hub.acked_per_s, two_hubs.acked_per_s))
    figures.record("ingest_pg_ack_p99_ms", pct(one_hub.load.acks, 99))
    figures.record("ingest_pg_answered_per_s", two_hubs.answered_per_s)
    figures.record("ingest_pg_lost", sum(r.lost for r in rows))
    figures.record("ingest_pg_answered_twice", sum(r.stored_twice + r.received_twice for r in rows))
    figures.record("hub_rss_mb", max(max(r.rss_mb) for r in rows))
    return [
        f"## Hub ingest on PostgreSQL + Redis, bot stubbed ({per_sender} messages per sender, half WhatsApp "
        "webhooks, half web chat sockets, each message sent after the previous one was acknowledged)",
        "",
        "| hubs, load | senders | messages | persisted+acked msg/s | ack p50 ms | ack p99 ms | answered msg/s "
        "| stored once | twice | lost | hub peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(r.line() for r in rows),
        "",
    ]


def main() -> int:
    """`python -m bench.ingest`: print the table and record the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--senders", type=int, default=200)
    ap.add_argument("--per-sender", type=int, default=5)
    args = ap.parse_args()
    lines = run(args.senders, args.per_sender)
    print("\n".join(lines))
    figures.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
