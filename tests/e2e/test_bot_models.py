"""Training runs, the model registry, deploy and rollback (issue 11, items 4-8) on real parts: a real
hub process, a real Rasa server + action server of its own (a deploy swaps the model, so this module
does not share the session's bot stack), a real training run of the staff layer in the bot
environment (`teaching.worker`, a separate process), Rasa's `PUT /model`, and patients on the real
web chat.

One real training run is shared by the whole story (it takes about a minute on 2 vCPU):
refusals that change nothing → a second request queues behind the first and is cancelled → the run
ends `ready` with the side-by-side evaluation and the gate → a patient mid-booking → deploy → the
booking goes on where it was (dialogue state in Rasa's SQL tracker store) → a patient asking the
taught question gets the staff's answer (web chat, and WhatsApp through the signed Twilio webhook)
and the conversation carries the intent's reason → /healthz shows the version → a rollback through
a Rasa that stops answering fails and changes nothing → rollback → the old behaviour is back on both
channels.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Hub, hub_env
from tests.e2e.test_bot_flows_webchat import _patient
from tests.support.fake_twilio import FakeTwilio
from tests.support.net import TcpProxy
from tests.support.stack import BotStack, start_hub
from tests.support.wait import eventually, settled

MANAGER = ("gerente@clinica.example", "demo-staff-password-0123")
ANA = ("ana@clinica.example", MANAGER[1])
ADMIN_PASSWORD = "e2e-admin-password-0123"
VACINA = ["vocês têm vacina da gripe", "tem vacina contra gripe aí", "quero tomar a vacina da gripe",
          "a campanha de vacinação da gripe já começou", "vacinam criança contra gripe",
          "onde tomo a vacina da gripe na clínica", "a vacina da gripe desse ano já chegou",
          "vcs aplicam vacina de gripe", "preciso da vacina da influenza", "tem dose da vacina da gripe pra idoso"]
TAUGHT_ANSWER = "Sim! A vacina da gripe 2026 está disponível de segunda a sexta, das 8h às 17h, sem agendamento."
ASK = "a vacina da gripe ja chegou ai?"
RUN_TIMEOUT = 600.0
WHATSAPP_FROM = "whatsapp:+551140000000"


@pytest.fixture(scope="module")
def proxy(deploy_bot: BotStack) -> Iterator[TcpProxy]:
    """The hub reaches Rasa through this proxy, so the test can make Rasa stop answering."""
    p = TcpProxy(deploy_bot.rasa.port).start()
    yield p
    p.close()


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    """Twilio's HTTP API at the network boundary (the WhatsApp side of the story)."""
    server = FakeTwilio().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def models_hub(deploy_bot: BotStack, proxy: TcpProxy, twilio: FakeTwilio,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state_dir = tmp_path_factory.mktemp("hub-models")
    env = {**hub_env(state_dir, deploy_bot), "RASA_URL": f"http://127.0.0.1:{proxy.port}",
           "CLINIC_ADMIN_PASSWORD": ADMIN_PASSWORD, "DEMO_STAFF_PASSWORD": MANAGER[1], "SEED_DEMO_CLINIC": "true",
           "BOT_MODELS_DIR": str(state_dir / "bot-models"), "BOT_DEPLOY_TIMEOUT_SECONDS": "20",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{deploy_bot.hub_port}", "TWILIO_API_BASE": twilio.base_url,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM}
    proc = start_hub(state_dir, env, "hub-models")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _client(hub: Hub, who: tuple[str, str]) -> httpx.AsyncClient:
    api = httpx.AsyncClient(base_url=hub.url, timeout=120)
    r = await api.post("/api/auth/login", json={"email": who[0], "password": who[1]})
    assert r.status_code == 200, r.text
    api.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return api


async def _wait_run(api: httpx.AsyncClient, model_id: int) -> dict[str, Any]:
    seen: list[str] = []

    async def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = (await api.get(f"/api/bot/models/{model_id}")).json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in ("queued", "training", "evaluating"):
            return None
        body["seen"] = seen
        return body
    try:
        result: dict[str, Any] = await eventually(ended, timeout=RUN_TIMEOUT, interval=1,
                                                  what=f"training run {model_id} to end")
    except AssertionError as exc:
        raise AssertionError(f"training run {model_id} did not end in {RUN_TIMEOUT:.0f}s (saw {seen})") from exc
    return result


def _reasons(hub: Hub, visitor_text: str) -> list[str]:
    """The reason of every conversation holding a patient message with this text (the hub's DB)."""
    with sqlite3.connect(hub.state_dir / "hub.db") as db:
        rows = db.execute("SELECT c.reason FROM conversations c JOIN messages m ON m.conversation_id = c.id "
                          "WHERE m.direction = 'in' AND m.text = ?", (visitor_text,)).fetchall()
    return [r[0] for r in rows]


def _audit(hub: Hub) -> list[str]:
    with sqlite3.connect(hub.state_dir / "hub.db") as db:
        return [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id").fetchall()]


async def _whatsapp_answer(hub: Hub, twilio: FakeTwilio, text: str) -> str:
    """A new WhatsApp patient writes `text` through the signed Twilio webhook; everything the hub sent
    them through Twilio once it went quiet."""
    number = f"+55119{random.randint(10_000_000, 99_999_999)}"
    form = twilio.inbound_form(sid="SM" + uuid.uuid4().hex, from_="whatsapp:" + number, to=WHATSAPP_FROM,
                               body=text, profile_name="Paciente")
    reply = await asyncio.to_thread(twilio.post_webhook, hub.url + "/channels/twilio/messages", form)
    assert reply.status_code == 200, reply.text
    bodies = await settled(lambda: [r.get("Body", "") for r in twilio.requests if r.get("To") == "whatsapp:" + number],
                           quiet=3, timeout=90, interval=0.3, what="the WhatsApp answer")
    return "\n".join(bodies)


async def test_train_evaluate_deploy_and_roll_back_a_taught_intent(models_hub: Hub, proxy: TcpProxy,
                                                                  twilio: FakeTwilio) -> None:
    manager, ana = await _client(models_hub, MANAGER), await _client(models_hub, ANA)
    try:
        # -- before: the bot does not know the question -----------------------------------------
        async with _patient(models_hub) as patient:
            await patient.say("oi")
            await patient.tap("Aceito")
            before = await patient.say(ASK)
            assert TAUGHT_ANSWER not in before

        # -- roles and refusals that change nothing ---------------------------------------------
        assert (await ana.post("/api/bot/models")).status_code == 403
        assert (await ana.post("/api/bot/rollback")).status_code == 403
        async with httpx.AsyncClient(base_url=models_hub.url) as anon:
            assert (await anon.get("/api/bot/models")).status_code == 401
        missing = await manager.post("/api/bot/models/999/deploy")
        assert missing.status_code == 404 and missing.json()["error"]["message"]
        nothing = await manager.post("/api/bot/rollback")
        assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_to_roll_back"
        health = (await manager.get("/healthz")).json()
        assert health["bot_model"]["id"] is None  # the base model of models/

        r = await manager.post("/api/bot/intents", json={
            "name": "Vacina gripe", "reason": "billing", "examples": VACINA, "answer": TAUGHT_ANSWER})
        assert r.status_code == 201, r.text

        # -- a run, and a second request queued behind it, then cancelled ----------------------
        first = await manager.post("/api/bot/models")
        assert first.status_code == 202, first.text
        run_id = first.json()["id"]
        second = await manager.post("/api/bot/models")
        assert second.status_code == 202 and second.json()["queued_behind"] >= 1
        queued_id = second.json()["id"]
        assert (await manager.get(f"/api/bot/models/{queued_id}")).json()["status"] == "queued"
        not_ready = await manager.post(f"/api/bot/models/{run_id}/deploy")
        assert not_ready.status_code == 409 and not_ready.json()["error"]["code"] == "model_not_ready"
        cancelled = await manager.delete(f"/api/bot/models/{queued_id}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "failed"
        assert (await manager.delete(f"/api/bot/models/{run_id}")).json()["error"]["code"] == "not_queued"
        failed = await manager.post(f"/api/bot/models/{queued_id}/deploy")
        assert failed.status_code == 409 and failed.json()["error"]["code"] == "model_failed"

        run = await _wait_run(manager, run_id)
        assert run["status"] == "ready", run
        assert "training" in run["seen"] and "evaluating" in run["seen"], run["seen"]
        assert run["reasons"] == {"staff_vacina_gripe": "billing"}
        ev = run["evaluation"]
        assert set(ev["frozen"]) >= {"current", "candidate", "delta_f1"}
        assert ev["suite"]["candidate"]["urgent_recall"] == 1.0
        assert ev["staff"]["n"] == len(VACINA) and ev["staff"]["candidate_cv"]["per_reason"]["billing"]["support"]
        assert run["gate"]["passed"] is True, run["gate"]
        assert Path(run["model"]).exists() and Path(run["model"]).parent.parent == models_hub.state_dir / "bot-models"

        # -- a patient mid-booking when the model changes ---------------------------------------
        async with _patient(models_hub) as booking:
            await booking.say("oi")
            await booking.tap("Aceito")
            asked = await booking.say("quero marcar consulta com cardiologista")
            assert "Para quando" in asked, asked  # specialty known, the flow waits for a date

            deployed = await manager.post(f"/api/bot/models/{run_id}/deploy")
            assert deployed.status_code == 200, deployed.text
            assert deployed.json()["status"] == "deployed"

            # the flow goes on after the swap: the date is read as the answer to "Para quando?" and
            # the specialty chosen before the deploy is still known
            offer = await booking.say("semana que vem de manhã")
            assert "Cardiologia" in offer and any(b["payload"].startswith("/choose_slot")
                                                  for b in booking.last_buttons), offer

        health = (await manager.get("/healthz")).json()
        assert health["bot_model"]["id"] == run_id
        again = await manager.post(f"/api/bot/models/{run_id}/deploy")
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_deployed"

        # -- the taught answer, and the intent's reason on the conversation ----------------------
        async with _patient(models_hub) as patient:
            await patient.say("boa tarde")
            await patient.tap("Aceito")
            assert TAUGHT_ANSWER in await patient.say(ASK)
        assert "billing" in _reasons(models_hub, ASK)
        # the same answer on WhatsApp, through the signed Twilio webhook and Twilio's API
        assert TAUGHT_ANSWER in await _whatsapp_answer(models_hub, twilio, ASK)

        # -- a Rasa that stops answering during a rollback: refused, nothing changes -------------
        proxy.mode = "down"
        try:
            down = await manager.post("/api/bot/rollback")
        finally:
            proxy.mode = "up"
        assert down.status_code == 502 and down.json()["error"]["code"] == "deploy_failed"
        assert (await manager.get("/api/bot/models")).json()["deployed"] == run_id

        # -- rollback: the old behaviour is back ------------------------------------------------
        back = await manager.post("/api/bot/rollback")
        assert back.status_code == 200, back.text
        assert back.json()["rolled_back"] == run_id and back.json()["deployed"]["status"] == "base"
        registry = (await manager.get("/api/bot/models")).json()
        assert registry["deployed"] is None
        assert {m["id"]: m["status"] for m in registry["models"]}[run_id] == "retired"
        async with _patient(models_hub) as patient:
            await patient.say("oi")
            await patient.tap("Aceito")
            assert TAUGHT_ANSWER not in await patient.say(ASK)
        assert TAUGHT_ANSWER not in await _whatsapp_answer(models_hub, twilio, ASK)

        # -- a retired version can be deployed again (rollback forward) -------------------------
        forward = await manager.post(f"/api/bot/models/{run_id}/deploy")
        assert forward.status_code == 200, forward.text
        assert (await manager.get("/healthz")).json()["bot_model"]["id"] == run_id
    finally:
        await manager.aclose()
        await ana.aclose()

    actions = _audit(models_hub)
    for action in ("bot.model.train", "bot.model.cancel", "bot.model.ready", "bot.model.deploy",
                   "bot.model.rollback_failed", "bot.model.rollback"):
        assert action in actions, (action, actions)
