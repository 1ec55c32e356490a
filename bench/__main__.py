"""`make bench`: measured figures, each printed beside a baseline measured in the same run.

1. Bot-turn latency and throughput: the real trained model behind a real Rasa server, called
   (a) directly on Rasa's REST channel (baseline) and (b) through the hub's web chat socket,
   from patient message to bot reply. The ratio is the hub's overhead.
   Then the urgent path: a first message describing an emergency without trigger words, from
   send to the safety message (SAMU 192) in the widget and to the urgent handoff event in a
   staff's live socket, beside a routine first message ("qual o endereço?") to its answer.
2. Hub ingest on PostgreSQL + Redis with the bot stubbed by a local instant server
   (bench/ingest.py): 20 and 200 concurrent senders (half signed Twilio webhooks, half web chat
   sockets) on one hub, 200 on two replicas; messages persisted + acknowledged per second and the
   ack latency, messages answered per second, and every message stored once and answered once.
   `--ingest-only`, `--skip-ingest`.
3. The 30-day manager dashboard on 1,000,000 messages in PostgreSQL, with and without the
   indexes of migration 0005, beside a plain `count(*)` scan (bench/dashboard.py).
   `--dashboard-only` runs just this one; `--skip-dashboard` leaves it out.
4. A staff training run (bot/ + ~200 staff examples: train, evaluate, gate) beside a plain
   `rasa train` of bot/ alone (bench/training.py), then that model deployed with `PUT /model`
   while patients talk to Rasa, beside the same load with no deploy (bench/deploy.py).
   `--training-only`, `--skip-training`.
5. Free-slot lookup for 10 doctors x 30 days through the clinic service, on the built-in agenda
   (PostgreSQL, baseline) beside a CalDAV agenda (real Radicale) and a FHIR R4 agenda (the local
   FHIR server), interleaved in the same run (bench/agenda.py). `--agenda-only`, `--skip-agenda`.
6. Appointment reminders on PostgreSQL (bench/reminders.py): 10,000 reminders for the next day
   planned, sent and delivered through the outbox to the local Twilio server, beside the same
   texts queued straight into the outbox; the scheduler's query on 1,000,000 appointments beside
   a plain `count(*)`. `--reminders-only`, `--skip-reminders`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench import agenda, dashboard, deploy, figures, ingest, reminders, training
from bench.figures import machine_line, pct, write_results
from tests.support.stack import Proc, start_bot_stack, start_hub


async def rasa_direct(rasa_url: str, conversations: int, turns: int, rounds: int = 1) -> tuple[list[float], float]:
    """Baseline: `conversations` patients at once, each sending `turns` messages one after the other
    to Rasa itself, then a new patient in that place, `rounds` times."""
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient) -> None:
        for _ in range(rounds):
            sender = uuid.uuid4().hex
            for i in range(turns):
                t0 = time.perf_counter()
                r = await client.post(f"{rasa_url}/webhooks/rest/webhook",
                                      json={"sender": sender, "message": ["oi", "obrigado", "tchau"][i % 3]})
                r.raise_for_status()
                latencies.append(time.perf_counter() - t0)

    async with httpx.AsyncClient(timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(conversations)))
        elapsed = time.perf_counter() - t0
    return latencies, elapsed


async def through_hub(port: int, conversations: int, turns: int, rounds: int = 1) -> tuple[list[float], float]:
    """The same load through the hub: each patient is a web chat widget (send, wait for the bot's
    reply, repeat), a new widget in that place for each round."""
    latencies: list[float] = []

    async def one() -> None:
        for _ in range(rounds):
            visitor = uuid.uuid4().hex * 2
            async with connect(f"ws://127.0.0.1:{port}/webchat/ws?visitor={visitor}") as ws:
                json.loads(await ws.recv())  # history
                for i in range(turns):
                    t0 = time.perf_counter()
                    await ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex,
                                              "text": ["oi", "obrigado", "tchau"][i % 3]}))
                    while True:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if frame.get("type") == "message" and frame.get("sender") == "bot":
                            break
                        if frame.get("type") == "error":
                            raise RuntimeError(f"the hub refused a message: {frame.get('code')}")
                    latencies.append(time.perf_counter() - t0)
                    # The greeting has buttons and one reply; every scripted answer here is one message.

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(conversations)))
    return latencies, time.perf_counter() - t0


EMERGENCIES = (
    "meu pai tem 70 anos, é diabetico e ta suando frio, enjoado e com o braço pesado",
    "to de 30 semanas e ta escorrendo um liquido, molhou a calcinha toda",
    "minha filha de 4 meses ta molinha e nao quer mamar",
    "de repente minha mae nao acha as palavras e a boca ficou torta",
)


async def urgent_path(port: int, admin_password: str, rounds: int,
                      watchers: int = 50) -> tuple[list[float], list[float], list[float], list[float]]:
    """(routine answer, safety message, urgent handoff event, the same event on every one of
    `watchers` staff sockets) latencies in seconds, one new patient per message, sequential (one
    emergency at a time, as the team would see them)."""
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        login = await api.post("/api/auth/login", json={"email": "admin@clinica.example", "password": admin_password})
        login.raise_for_status()
        token = login.json()["token"]
    routine: list[float] = []
    safety: list[float] = []
    handoff: list[float] = []
    pushed: list[float] = []

    async def first_bot_message(ws: object, t0: float, needle: str = "") -> float:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))  # type: ignore[attr-defined]
            if frame.get("type") == "message" and frame.get("sender") == "bot" and needle in frame.get("text", ""):
                return time.perf_counter() - t0

    async def watch(sock: object, t0: float) -> float:
        while True:
            frame = json.loads(await asyncio.wait_for(sock.recv(), 60))  # type: ignore[attr-defined]
            if frame.get("type") == "handoff" and frame.get("priority") == "urgent":
                return time.perf_counter() - t0

    async with contextlib.AsyncExitStack() as sockets:
        staff = await sockets.enter_async_context(connect(f"ws://127.0.0.1:{port}/api/staff/ws?token={token}"))
        json.loads(await staff.recv())  # hello
        # the other attendants' inboxes: more live sockets the same push must reach
        crowd = [await sockets.enter_async_context(connect(f"ws://127.0.0.1:{port}/api/staff/ws?token={token}"))
                 for _ in range(max(0, watchers - 1))]
        for sock in crowd:
            json.loads(await sock.recv())  # hello
        for i in range(rounds):
            for text, urgent in (("qual o endereço da clinica?", False), (EMERGENCIES[i % len(EMERGENCIES)], True)):
                async with connect(f"ws://127.0.0.1:{port}/webchat/ws?visitor={uuid.uuid4().hex * 2}") as ws:
                    json.loads(await ws.recv())  # history
                    t0 = time.perf_counter()
                    await ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))
                    if not urgent:
                        routine.append(await first_bot_message(ws, t0))
                        continue
                    watching = [asyncio.create_task(watch(sock, t0)) for sock in crowd]
                    safety.append(await first_bot_message(ws, t0, "192"))
                    first = await watch(staff, t0)
                    handoff.append(first)
                    pushed += [first, *await asyncio.gather(*watching)]
    return routine, safety, handoff, pushed


def main() -> int:
    """Run every benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--conversations", type=int, default=4)
    ap.add_argument("--turns", type=int, default=10, help="turns per conversation (a patient's chat)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="conversations one after the other in each concurrent place (4 x 10 x 5: 200 samples "
                         "per path, a p99 worth reading)")
    ap.add_argument("--urgent-rounds", type=int, default=12)
    ap.add_argument("--senders", type=int, default=200, help="concurrent senders at 10x (bench/ingest.py)")
    ap.add_argument("--per-sender", type=int, default=5)
    ap.add_argument("--ingest-only", action="store_true", help="only the ingest benchmark (no bot stack)")
    ap.add_argument("--skip-ingest", action="store_true", help="leave the ingest benchmark out")
    ap.add_argument("--staff-sockets", type=int, default=50, help="staff sockets an urgent handoff is pushed to")
    ap.add_argument("--dashboard-only", action="store_true", help="only the dashboard benchmark (no bot stack)")
    ap.add_argument("--skip-dashboard", action="store_true", help="leave the dashboard benchmark out")
    ap.add_argument("--dashboard-messages", type=int, default=1_000_000)
    ap.add_argument("--training-only", action="store_true", help="only the staff training run benchmark")
    ap.add_argument("--skip-training", action="store_true", help="leave the staff training run out")
    ap.add_argument("--agenda-only", action="store_true", help="only the free-slot lookup benchmark (no bot stack)")
    ap.add_argument("--skip-agenda", action="store_true", help="leave the free-slot lookup benchmark out")
    ap.add_argument("--agenda-lookups", type=int, default=60, help="lookups per agenda (after 5 warm-ups)")
    ap.add_argument("--reminders-only", action="store_true", help="only the reminders benchmark (no bot stack)")
    ap.add_argument("--skip-reminders", action="store_true", help="leave the reminders benchmark out")
    # 2,000 reminders give a steady rate; 10,000 (the issue-15 run) took ~17 of the bench's minutes,
    # almost all of it two deliveries through the provider: `--reminders 10000` for that run.
    ap.add_argument("--reminders", type=int, default=2_000, help="reminders sent through the outbox")
    ap.add_argument("--reminder-appointments", type=int, default=1_000_000,
                    help="appointments under the scheduler's query")
    args = ap.parse_args()
    if args.ingest_only:
        return write_results([*machine_line(), *ingest.run(args.senders, args.per_sender)], "ingest.md")
    if args.agenda_only:
        return write_results([*machine_line(), *agenda.run(args.agenda_lookups)], "agenda.md")
    if args.reminders_only:
        return write_results([*machine_line(), *reminders.run(args.reminders, args.reminder_appointments)],
                             "reminders.md")
    if args.training_only:
        return write_results([*machine_line(), *teach_and_deploy()], "training.md")
    if args.dashboard_only:
        lines = [*machine_line(), *dashboard.run(args.dashboard_messages)]
        return write_results(lines, "dashboard.md")
    logs = Path(tempfile.mkdtemp(prefix="atende-bench-"))
    lines = machine_line()
    procs: list[Proc] = []
    stack = start_bot_stack(logs)
    try:
        # --- 1. bot-turn latency --------------------------------------------------------
        db = f"sqlite+aiosqlite:///{logs / 'turns.db'}"
        hub = start_hub(logs, {"DATABASE_URL": db, "RASA_URL": stack.rasa_url, "ACTIONS_URL": stack.actions_url,
                               "CLINIC_ADMIN_PASSWORD": "bench-password-1",
                               "WEBCHAT_RATE_COUNT": "100000"},  # a load test, not one patient typing
                        name="hub-turns")
        procs.append(hub)
        asyncio.run(rasa_direct(stack.rasa_url, 2, 3))  # warm-up
        direct, t_direct = asyncio.run(rasa_direct(stack.rasa_url, args.conversations, args.turns, args.rounds))
        hubbed, t_hub = asyncio.run(through_hub(hub.port, args.conversations, args.turns, args.rounds))
        routine, safety, handed, pushed = asyncio.run(
            urgent_path(hub.port, "bench-password-1", args.urgent_rounds, args.staff_sockets))
        hub.kill()
        n = args.conversations * args.turns * args.rounds
        figures.record("turn_p50_ratio", pct(hubbed, 50) / pct(direct, 50))
        figures.record("turn_p99_ratio", pct(hubbed, 99) / pct(direct, 99))
        figures.record("turn_throughput_ratio", (n / t_hub) / (n / t_direct))
        figures.record("push_p50_ms", pct(pushed, 50))
        figures.record("push_p99_ms", pct(pushed, 99))
        lines += [
            f"## Bot turn ({args.conversations} patients at once, each {args.rounds} conversations of {args.turns} "
            "turns one after the other, real model)",
            "",
            "| path | p50 ms | p99 ms | turns/s |",
            "|---|---:|---:|---:|",
            f"| Rasa REST directly (baseline) | {pct(direct, 50):.1f} | {pct(direct, 99):.1f} | {n / t_direct:.1f} |",
            f"| through the hub (web chat socket -> reply) | {pct(hubbed, 50):.1f} | {pct(hubbed, 99):.1f} "
            f"| {n / t_hub:.1f} |",
            f"| ratio hub / direct | {pct(hubbed, 50) / pct(direct, 50):.2f}x | "
            f"{pct(hubbed, 99) / pct(direct, 99):.2f}x | {(n / t_hub) / (n / t_direct):.2f}x |",
            "",
            f"## Urgent path ({args.urgent_rounds} emergencies told without trigger words, each a new patient)",
            "",
            "| from the patient's first message to | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|",
            f"| a routine answer (\"qual o endereço?\", baseline) | {pct(routine, 50):.1f} | {pct(routine, 99):.1f} "
            f"| {max(routine) * 1000:.1f} |",
            f"| the safety message (SAMU 192) in the widget | {pct(safety, 50):.1f} | {pct(safety, 99):.1f} "
            f"| {max(safety) * 1000:.1f} |",
            f"| the urgent handoff event in a staff socket | {pct(handed, 50):.1f} | {pct(handed, 99):.1f} "
            f"| {max(handed) * 1000:.1f} |",
            f"| the same event on each of {args.staff_sockets} staff sockets ({len(pushed)} deliveries) "
            f"| {pct(pushed, 50):.1f} | {pct(pushed, 99):.1f} | {max(pushed) * 1000:.1f} |",
            "",
        ]
        print("\n".join(lines), flush=True)
    finally:
        for p in procs:
            p.kill()
        stack.stop()
    if not args.skip_ingest:  # with the bot stack gone: it would compete for the CPU
        lines += ingest.run(args.senders, args.per_sender)
    if not args.skip_agenda:
        lines += agenda.run(args.agenda_lookups)
    if not args.skip_reminders:  # likewise after the bot stack: PostgreSQL-bound, needs the CPU
        lines += reminders.run(args.reminders, args.reminder_appointments)
    if not args.skip_training:  # after the bot stack is gone: it would compete for the CPU
        lines += teach_and_deploy()
    if not args.skip_dashboard:
        lines += dashboard.run(args.dashboard_messages)
    return write_results(lines, "latest.md")


def teach_and_deploy() -> list[str]:
    """A staff training run, then its model deployed under load."""
    lines, model = training.run()
    print("\n".join(lines), flush=True)
    if model is not None:
        more = deploy.run(model, Path(tempfile.mkdtemp(prefix="atende-bench-deploy-")))
        print("\n".join(more), flush=True)
        lines += more
    return lines


if __name__ == "__main__":
    sys.exit(main())
