"""LGPD data-subject requests from the patient's side, end to end through the website chat: a real
hub process (its `POST /api/clinic/privacy-requests`), the real trained model behind a real Rasa
server and the real action server (bot/actions/privacy.py)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Hub, hub_env
from tests.e2e.test_bot_flows_webchat import _patient
from tests.support.stack import BotStack, start_hub


@pytest.fixture
def privacy_hub(bot_stack: BotStack, tmp_path: Path) -> Iterator[Hub]:
    """A hub on the port the actions call back, with its own SQLite file and demo clinic."""
    env = hub_env(tmp_path, bot_stack)
    proc = start_hub(tmp_path, env, "hub-privacy")
    yield Hub(proc, env, tmp_path)
    proc.kill()


def _requests(hub: Hub) -> list[tuple[str, str | None, str]]:
    """(kind, conversation_id, verified_by) of every privacy request row, oldest first."""
    with sqlite3.connect(hub.state_dir / "hub.db") as db:
        rows = db.execute("SELECT kind, conversation_id, verified_by FROM privacy_requests ORDER BY id").fetchall()
    return [(str(k), c, str(v)) for k, c, v in rows]


def _conversations(hub: Hub) -> list[str]:
    with sqlite3.connect(hub.state_dir / "hub.db") as db:
        return [str(r[0]) for r in db.execute("SELECT id FROM conversations ORDER BY created_at").fetchall()]


async def test_erase_my_data_asks_confirms_and_opens_an_erasure_request(privacy_hub: Hub) -> None:
    async with _patient(privacy_hub) as patient:
        greeting = await patient.say("oi, boa noite")
        assert "LGPD" in greeting  # the consent notice is on screen, unanswered
        asked = await patient.say("quero que apaguem meus dados")
        assert "Confirma que quer apagar seus dados?" in asked, asked
        assert [b["title"] for b in patient.last_buttons] == ["Sim, apagar", "Não"]
        assert _requests(privacy_hub) == []  # nothing before the patient confirms
        done = await patient.tap("Sim, apagar")  # answers the erasure question, not the consent notice
        assert "Pedido de eliminação registrado" in done and "15 dias" in done, done
        assert "consentimento foi registrado" not in done
    conversation = _conversations(privacy_hub)[0]
    assert _requests(privacy_hub) == [("erasure", conversation, "channel")]


async def test_access_gives_the_simplified_answer_and_a_red_flag_still_wins(privacy_hub: Hub) -> None:
    async with _patient(privacy_hub) as patient:
        answer = await patient.say("quero saber quais dados voces tem de mim")
        assert "Resumo do que a clínica guarda sobre você" in answer and "15 dias" in answer, answer
        assert "mensagens:" in answer
        notice = await patient.say("qual a politica de privacidade de vcs?")
        assert re.search(r"https?://\S+/privacidade/aviso", notice), notice
        asked = await patient.say("apaga meus dados")
        assert "Confirma que quer apagar" in asked
        urgent = await patient.say("to com uma dor no peito muito forte e falta de ar")
        assert "SAMU (192)" in urgent, urgent
    assert [kind for kind, _, _ in _requests(privacy_hub)] == ["access"]  # no erasure was opened
