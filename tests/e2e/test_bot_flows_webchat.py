"""The triage bot's routine flows end to end through the website chat: a real hub process, the
real trained model behind a real Rasa server, the real action server calling the hub's clinic
API. Each patient talks over the widget's WebSocket protocol, exactly as the widget does."""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import Hub, hub_env
from tests.support.stack import BotStack, start_hub

QUIET_SECONDS = 2.5  # a bot turn's replies arrive together; silence this long ends the turn
TURN_TIMEOUT = 90.0


def valid_cpf() -> str:
    """A random CPF with correct check digits (never one of the demo clinic's patients)."""
    digits = [random.randint(0, 9) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append((total * 10 % 11) % 10)
    return "".join(map(str, digits))


class Patient:
    """One visitor of the website chat."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: set[int] = set()
        self.last_buttons: list[dict[str, str]] = []

    async def _replies(self) -> list[dict[str, Any]]:
        """Bot/agent/system messages until the turn goes quiet."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + TURN_TIMEOUT
        while time.monotonic() < deadline:
            wait = QUIET_SECONDS if out else deadline - time.monotonic()
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            except TimeoutError:
                break
            if frame.get("type") == "message" and frame.get("direction") == "out" and frame["id"] not in self.seen:
                self.seen.add(frame["id"])
                out.append(frame)
        assert out, "the bot did not answer"
        buttons = [b for m in out for b in m.get("buttons") or []]
        if buttons:
            self.last_buttons = buttons
        return out

    async def say(self, text: str, payload: str | None = None) -> str:
        """Send a message (or a button's payload) and return the bot's whole answer as text."""
        frame = {"type": "message", "client_id": uuid.uuid4().hex, "text": text, "payload": payload}
        await self.ws.send(json.dumps(frame))
        replies = await self._replies()
        return "\n".join(m["text"] for m in replies)

    async def tap(self, title: str) -> str:
        """Tap the latest button with exactly this title."""
        button = next(b for b in reversed(self.last_buttons) if b["title"] == title)
        return await self.say(button["title"], button["payload"])

    async def tap_first_payload(self, prefix: str) -> str:
        """Tap the first of the latest buttons whose payload starts with `prefix`."""
        button = next(b for b in self.last_buttons if b["payload"].startswith(prefix))
        return await self.say(button["title"], button["payload"])


@pytest.fixture
def flows_hub(bot_stack: BotStack, tmp_path: Path) -> Iterator[Hub]:
    """A hub on the port the actions call back, with its own SQLite file and demo clinic."""
    env = hub_env(tmp_path, bot_stack)
    proc = start_hub(tmp_path, env, "hub-flows")
    yield Hub(proc, env, tmp_path)
    proc.kill()


@asynccontextmanager
async def _patient(hub: Hub) -> AsyncIterator[Patient]:
    visitor = secrets.token_urlsafe(32)
    async with connect(f"ws://127.0.0.1:{hub.proc.port}/webchat/ws?visitor={visitor}") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "history"
        yield Patient(ws)


async def _queue(hub: Hub) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{hub.proc.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        login = await api.post("/api/auth/login", json={"email": "admin@clinica.example",
                                                         "password": hub.env["CLINIC_ADMIN_PASSWORD"]})
        token = login.json()["token"]
        resp = await api.get("/api/queue", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()
        return items


async def test_booking_then_confirmation_then_cancel_through_the_web_chat(flows_hub: Hub) -> None:
    async with _patient(flows_hub) as patient:
        greeting = await patient.say("oi, bom dia")
        assert "Clínica Exemplo" in greeting and "LGPD" in greeting  # first contact: privacy notice
        assert "consentimento foi registrado" in (await patient.tap("Aceito")).lower()

        offer = await patient.say("qro marcar consulta com cardiologista na semana que vem de manha")
        assert "Cardiologia" in offer
        slots = [b for b in patient.last_buttons if b["payload"].startswith("/choose_slot")]
        assert 1 <= len(slots) <= 5, offer
        answer = await patient.tap_first_payload("/choose_slot")
        if "CPF" in answer:  # a new patient identifies once
            answer = await patient.say(valid_cpf())
        assert "Confirma a consulta de Cardiologia" in answer
        booked = await patient.say("sim")
        assert "marcada" in booked and "Cardiologia" in booked

        when = await patient.say("quando é minha consulta?")
        assert "Cardiologia" in when
        cancel = await patient.say("pode cancelar minha consulta")
        if "Qual consulta" in cancel:
            cancel = await patient.tap_first_payload("/choose_appointment")
        assert "cancelamento" in cancel.lower()
        cancelled = await patient.say("sim")
        assert "cancelada" in cancelled


async def test_exams_billing_and_clinic_info_are_answered_from_the_clinic_data(flows_hub: Hub) -> None:
    async with _patient(flows_hub) as patient:
        await patient.say("boa tarde")
        assert "consentimento foi registrado" in (await patient.tap("Aceito")).lower()
        prep = await patient.say("qual o preparo pro exame de glicemia?")
        assert "jejum" in prep.lower() and "8 horas" in prep
        insurer = await patient.say("vcs aceitam unimed?")
        assert "Unimed" in insurer
        price = await patient.say("quanto custa a consulta com dermatologista?")
        assert "R$" in price
        address = await patient.say("qual o endereço da clinica?")
        assert "Rua" in address


async def test_red_flag_gets_the_safety_message_and_an_urgent_handoff_without_consent(flows_hub: Hub) -> None:
    async with _patient(flows_hub) as patient:
        safety = await patient.say("socorro meu pai ta com uma dor no peito muito forte e suando frio")
        assert "192" in safety  # SAMU, before any privacy notice
        assert "LGPD" not in safety
        queue = await _queue(flows_hub)
        assert queue and queue[0]["priority"] == "urgent" and queue[0]["reason"] == "urgent"

    async with _patient(flows_hub) as patient:
        crisis = await patient.say("nao aguento mais, quero me matar")
        assert "188" in crisis and "192" in crisis  # CVV and SAMU


async def test_emergency_told_without_trigger_words_is_flagged_and_idioms_are_not(flows_hub: Hub) -> None:
    # A heart attack told as a cluster of symptoms (no "dor no peito"): the concept layer fires,
    # the patient gets SAMU's number and the team's note names the protocol item, not the text.
    async with _patient(flows_hub) as patient:
        safety = await patient.say("meu pai tem 70 anos, é diabetico e ta suando frio, enjoado e com o braço pesado")
        assert "192" in safety
        queue = await _queue(flows_hub)
        assert queue and queue[0]["priority"] == "urgent"
    async with _patient(flows_hub) as patient:
        joke = await patient.say("morri de rir com o video de voces kkkk")
        assert "192" not in joke
    assert len(await _queue(flows_hub)) == 1  # the joke handed nothing off


async def test_asking_for_a_person_hands_off_to_the_queue(flows_hub: Hub) -> None:
    async with _patient(flows_hub) as patient:
        await patient.say("quero falar com um atendente")
        queue = await _queue(flows_hub)
        assert [item["reason"] for item in queue] == ["human"]
        assert queue[0]["channel"] == "webchat"


async def test_triage_api_tags_reasons_with_the_real_model_and_checks_who_asks(flows_hub: Hub) -> None:
    base = f"http://127.0.0.1:{flows_hub.proc.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        assert (await api.post("/api/triage", json={"text": "oi"})).status_code == 401
        login = await api.post("/api/auth/login", json={"email": "admin@clinica.example",
                                                         "password": flows_hub.env["CLINIC_ADMIN_PASSWORD"]})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        assert (await api.post("/api/triage", json={"text": ""}, headers=headers)).status_code == 400
        expected = {
            "qro marcar uma consulta com dermato pra semana q vem": "booking",
            "confirmo minha consulta de amanha": "confirmation",
            "qual o preparo pro exame de glicemia?": "exams",
            "preciso da segunda via do boleto": "billing",
            "meu filho ta com dor de cabeça, vc pode marcar pediatra? e quanto custa?": "booking",
            "quero falar com uma pessoa de verdade": "human",
            "qual o endereço de vcs?": "other",
            # Urgent overrides every other reason, from the deterministic rule layer.
            "quero marcar cardiologista, minha mae ta com dor no peito agora e falta de ar": "urgent",
        }
        got = {}
        for text in expected:
            resp = await api.post("/api/triage", json={"text": text}, headers=headers)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert set(body) >= {"reason", "intent", "confidence"} and 0 <= body["confidence"] <= 1
            got[text] = body["reason"]
        assert got == expected
