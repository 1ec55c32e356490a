"""The bot tier survives a dead replica (issue 12, items 1-2), on real parts: two real Rasa servers,
each with its own real action server, sharing dialogue state in PostgreSQL (Rasa's SQL tracker store,
its own database) and Rasa's Redis lock store; a real hub process on PostgreSQL + Redis spreading turns
over both (`RASA_URLS`); a patient on the real web chat.

A patient is halfway through booking (specialty chosen, asked "Para quando?"); the replica that has
been answering them is killed with SIGKILL; the next message is answered by the other replica, which
carries on the same flow (the specialty is still known), with no message lost or answered twice; the
hub's /healthz shows the dead replica out within seconds, and back once it is restarted.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from handoff.adapters.sql.migrate import upgrade
from tests.conftest import PG_ADMIN_DSN, REDIS_URL
from tests.e2e.conftest import Hub
from tests.e2e.test_bot_flows_webchat import _patient
from tests.support.stack import BotStack, start_bot_stack, start_hub
from tests.support.wait import eventually

PASSWORD = "replicas-admin-password-0123"


async def _create_db(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_db(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[BotStack], Hub]]:
    """Two Rasa + actions replicas on one shared PostgreSQL tracker store and one Redis lock store,
    and a hub on PostgreSQL + Redis in front of them."""
    suffix = uuid.uuid4().hex[:10]
    hub_db, rasa_db = f"atende_replicas_{suffix}", f"rasa_replicas_{suffix}"
    asyncio.run(_create_db(hub_db))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    hub_url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{hub_db}"
    upgrade(hub_url)
    # Rasa creates its own database through login_db, as in docker compose
    store = ("tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n"
             f"  username: postgres\n  db: {rasa_db}\n  login_db: postgres\n"
             "lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 6379\n  db: 13\n")
    first = start_bot_stack(tmp_path_factory.mktemp("replica-a"), tracker_store=store)
    second = start_bot_stack(tmp_path_factory.mktemp("replica-b"), tracker_store=store,
                             hub_port=first.hub_port, token=first.clinic_api_token)
    stacks = [first, second]
    state_dir = tmp_path_factory.mktemp("hub-replicas")
    env = {**first.hub_env(), "DATABASE_URL": hub_url, "REDIS_URL": REDIS_URL,
           "RASA_URLS": ",".join(s.rasa_url for s in stacks), "ACTIONS_URLS": ",".join(s.actions_url for s in stacks),
           "CLINIC_ADMIN_PASSWORD": PASSWORD, "POLL_INTERVAL_SECONDS": "0.2", "BOT_HEALTH_INTERVAL_SECONDS": "1",
           "BOT_TIMEOUT_SECONDS": "20"}
    proc = start_hub(state_dir, env, "hub-replicas")
    try:
        yield stacks, Hub(proc, env, state_dir)
    finally:
        proc.kill()
        for s in stacks:
            s.stop()
        asyncio.run(_drop_db(hub_db))
        asyncio.run(_drop_db(rasa_db))


async def _health(hub: Hub) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as api:
        body: dict[str, Any] = (await api.get(f"{hub.url}/healthz")).json()
        return body


async def _replica_states(hub: Hub) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in (await _health(hub))["bot_replicas"]}


async def _wait_state(hub: Hub, url: str, ok: bool, timeout: float) -> float:
    t0 = time.monotonic()

    async def reached() -> bool:
        return ((await _replica_states(hub))[url]["status"] == "ok") == ok
    await eventually(reached, timeout=timeout, interval=0.2, what=f"{url} to become {'ok' if ok else 'down'}")
    return time.monotonic() - t0


@pytest.fixture
async def ready(tier: tuple[list[BotStack], Hub]) -> AsyncIterator[tuple[list[BotStack], Hub]]:
    stacks, hub = tier
    for s in stacks:
        await _wait_state(hub, s.rasa_url, True, 60)
    yield tier


async def test_a_patient_mid_booking_carries_on_when_their_replica_dies(
        ready: tuple[list[BotStack], Hub]) -> None:
    stacks, hub = ready
    async with _patient(hub) as patient:
        await patient.say("oi")
        await patient.tap("Aceito")
        asked = await patient.say("quero marcar consulta com cardiologista")
        assert "Para quando" in asked, asked

        served = [u for u, r in (await _replica_states(hub)).items() if r["turns"] > 0]
        assert len(served) == 1, served  # one conversation stays on one replica while it is healthy
        victim = next(s for s in stacks if s.rasa_url == served[0])
        survivor = next(s for s in stacks if s is not victim)
        victim.rasa.popen.send_signal(signal.SIGKILL)
        victim.rasa.popen.wait(10)

        # the next message lands on the other replica, which knows the flow from the shared store
        offer = await patient.say("semana que vem de manhã")
        assert "Cardiologia" in offer and any(b["payload"].startswith("/choose_slot")
                                              for b in patient.last_buttons), offer
        states = await _replica_states(hub)
        assert states[survivor.rasa_url]["turns"] >= 1
        assert states[victim.rasa_url]["status"].startswith("down")
        health = await _health(hub)
        assert health["checks"]["bot"] == "ok"  # the tier still answers

    # back in service once restarted (the model loads in a few seconds)
    victim.rasa.restart()
    took = await _wait_state(hub, victim.rasa_url, True, 240)
    assert took < 240


async def test_turns_are_answered_once_while_a_replica_is_killed_under_load(
        ready: tuple[list[BotStack], Hub]) -> None:
    """10 patients x 6 messages; one replica is killed halfway: every message gets exactly one
    answer turn (the hub's messages table: every inbound processed once, no duplicate bot reply)."""
    stacks, hub = ready
    n_patients, n_messages = 10, 6
    answers: dict[int, list[str]] = {}

    async def patient_run(i: int) -> None:
        async with _patient(hub) as p:
            answers[i] = []
            for k in range(n_messages):
                text = ["oi", "qual o endereço?", "vocês aceitam unimed?", "qual o horário?", "obrigado", "tchau"][k]
                await p.ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))
                replies = [m["text"] for m in await p._replies()]
                # answered twice = the same bot message twice in one turn
                assert len(replies) == len(set(replies)), (text, replies)
                answers[i].append("\n".join(replies))

    async def killer() -> None:
        # Mid-run: once the patients have had about one answer each (most turns still to come).
        await eventually(lambda: sum(len(a) for a in answers.values()) >= n_patients, timeout=120,
                         what="the run under way")
        stacks[0].rasa.popen.send_signal(signal.SIGKILL)

    await asyncio.gather(*(patient_run(i) for i in range(n_patients)), killer())
    assert len(answers) == n_patients
    assert all(len(a) == n_messages and all(a) for a in answers.values()), answers
    states = await _replica_states(hub)
    assert states[stacks[0].rasa_url]["status"].startswith("down"), states  # the kill landed mid-run
    assert states[stacks[1].rasa_url]["turns"] > 0
    stacks[0].rasa.restart()
    await _wait_state(hub, stacks[0].rasa_url, True, 240)
