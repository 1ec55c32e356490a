"""Model deploy under load: patients keep talking to Rasa while `PUT /model` swaps the model (what
the hub's deploy does), beside the same load with no deploy measured in the same run. Issue 11's goal:
no patient message fails or waits more than 2 s during a deploy."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from handoff.adapters.rasa import BotUnavailable, RasaGateway
from tests.support.stack import start_bot_stack

MESSAGES = ["oi", "qual o endereço?", "obrigado", "vocês aceitam unimed?", "tchau"]


async def _load(rasa_url: str, seconds: float, conversations: int,
                samples: list[tuple[float, float, bool]]) -> None:
    """`conversations` patients, one message after the other, for `seconds`: (sent at, latency, ok)."""
    end = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        sender, i = uuid.uuid4().hex, 0
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                r = await client.post(f"{rasa_url}/webhooks/rest/webhook",
                                      json={"sender": sender, "message": MESSAGES[i % len(MESSAGES)]})
                ok = r.status_code == 200 and isinstance(r.json(), list) and bool(r.json())
            except (httpx.HTTPError, ValueError):
                ok = False
            samples.append((t0, time.monotonic() - t0, ok))
            i += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client) for _ in range(conversations)))


async def _measure(rasa_url: str, model: Path, conversations: int) -> dict[str, float]:
    quiet: list[tuple[float, float, bool]] = []
    await _load(rasa_url, 8, conversations, quiet)  # baseline: the same load, no deploy
    during: list[tuple[float, float, bool]] = []
    load = asyncio.create_task(_load(rasa_url, 20, conversations, during))
    await asyncio.sleep(3)
    async with httpx.AsyncClient(timeout=120) as client:
        t0 = time.monotonic()
        r = await client.put(f"{rasa_url}/model", json={"model_file": str(model)})
        t1 = time.monotonic()
    await load
    if r.status_code not in (200, 204):
        raise RuntimeError(f"PUT /model answered {r.status_code}: {r.text[:200]}")
    window = [(lat, ok) for sent, lat, ok in during if sent + lat >= t0 and sent <= t1 + 1]
    return {"swap_s": t1 - t0,
            "quiet_max_s": max(lat for _, lat, _ in quiet), "quiet_p50_s": sorted(lat for _, lat, _ in quiet)[
                len(quiet) // 2],
            "swap_max_s": max(lat for lat, _ in window), "swap_n": len(window),
            "failed": sum(1 for _, _, ok in during if not ok) + sum(1 for _, _, ok in quiet if not ok)}


async def _drop(db: str) -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()


async def _measure_replicas(urls: list[str], model: Path, conversations: int) -> dict[str, float]:
    """The same load through the hub's own gateway over two replicas; deploy = the hub's rolling
    `load_model` (the replica loading takes no new turns)."""
    gateway = RasaGateway(urls, timeout=30, health_interval=1.0)
    await gateway.start()
    samples: list[tuple[float, float, bool]] = []
    end_at = time.monotonic() + 20

    async def one() -> None:
        sender, i = uuid.uuid4().hex, 0
        while time.monotonic() < end_at:
            t0 = time.monotonic()
            try:
                turn = await gateway.turn(sender, MESSAGES[i % len(MESSAGES)], {})
                ok = bool(turn.replies)
            except BotUnavailable:
                ok = False
            samples.append((t0, time.monotonic() - t0, ok))
            i += 1

    try:
        load = asyncio.gather(*(one() for _ in range(conversations)))
        await asyncio.sleep(3)
        t0 = time.monotonic()
        await gateway.load_model(str(model), timeout=120)
        t1 = time.monotonic()
        await load
    finally:
        await gateway.close()
    window = [lat for sent, lat, _ in samples if sent + lat >= t0 and sent <= t1 + 1]
    return {"swap_s": t1 - t0, "swap_max_s": max(window), "swap_n": len(window),
            "failed": sum(1 for _, _, ok in samples if not ok)}


def run(model: Path, logs: Path, conversations: int = 4) -> list[str]:
    """The table's lines."""
    (logs / "one").mkdir(exist_ok=True)
    stack = start_bot_stack(logs / "one")
    try:
        m = asyncio.run(_measure(stack.rasa_url, model, conversations))
    finally:
        stack.stop()
    (logs / "a").mkdir(exist_ok=True)
    (logs / "b").mkdir(exist_ok=True)
    # the replicas share dialogue state as in production (PostgreSQL tracker store; Rasa creates it)
    db = f"rasa_bench_{uuid.uuid4().hex[:8]}"
    store = ("tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n"
             f"  username: postgres\n  db: {db}\n  login_db: postgres\n")
    a = start_bot_stack(logs / "a", tracker_store=store)
    b = start_bot_stack(logs / "b", tracker_store=store, hub_port=a.hub_port, token=a.clinic_api_token)
    try:
        r = asyncio.run(_measure_replicas([a.rasa_url, b.rasa_url], model, conversations))
    finally:
        a.stop()
        b.stop()
        asyncio.run(_drop(db))
    return [
        f"## Model deploy under load ({conversations} patients talking to Rasa; PUT /model of a staff-trained model)",
        "",
        "| window | turns | slowest turn ms | failed turns |",
        "|---|---:|---:|---:|",
        f"| same load, no deploy (baseline; p50 {m['quiet_p50_s'] * 1000:.0f} ms) | — | "
        f"{m['quiet_max_s'] * 1000:.0f} | — |",
        f"| one Rasa: turns in flight during the swap ({m['swap_s']:.1f} s to load the model) | {m['swap_n']} | "
        f"{m['swap_max_s'] * 1000:.0f} | {m['failed']:.0f} (whole run) |",
        f"| two replicas through the hub's gateway, rolling deploy ({r['swap_s']:.1f} s for both) | "
        f"{r['swap_n']} | {r['swap_max_s'] * 1000:.0f} | {r['failed']:.0f} (whole run) |",
        "",
        "Goal: no turn fails or waits more than 2,000 ms during a deploy.",
        "",
    ]
