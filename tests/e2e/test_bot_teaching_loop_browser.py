"""The whole teach-the-bot loop by a manager in a real browser (Debian chromium via Playwright), on
real parts: a hub process (SQLite, demo team), a Rasa server + action server of this module's own (the
test deploys), a real training run in the bot environment, patients on the real web chat.

A patient asks something the bot does not know and then asks for a person; the manager opens that
conversation in the inbox and corrects its reason; on /bot the message is in "O que o bot não
entendeu" (flag "motivo corrigido"); "Nova intenção com esta mensagem" → an intent with a NEW reason
tag the clinic creates ("vacinas") and an answer → "Treinar novo modelo" (live progress) → the
evaluation side by side and the gate → "Implantar" → a new patient gets the staff's answer, the
conversation carries the new reason, the dashboard counts it → "Voltar à versão anterior" → the
old behaviour is back.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Hub, new_page
from tests.e2e.test_bot_flows_webchat import _patient
from tests.e2e.test_bot_teaching_page_browser import API_REFUSALS, group, sign_in
from tests.support.stack import BotStack, start_hub

UI_MS = 30_000
TRAIN_MS = 600_000
ADMIN_PASSWORD = "loop-admin-password-0123"
DEMO_PASSWORD = "loop-demo-password-0123"
MANAGER = "gerente@clinica.example"
ASK = "a vacina da gripe ja chegou ai?"
MORE = ["vocês têm vacina da gripe", "tem vacina contra gripe aí", "quero tomar a vacina da gripe",
        "a campanha de vacinação da gripe já começou", "vacinam criança contra gripe",
        "onde tomo a vacina da gripe na clínica", "vcs aplicam vacina de gripe", "preciso da vacina da influenza",
        "tem dose da vacina da gripe pra idoso"]
TAUGHT = "Sim! A vacina da gripe 2026 chegou: de segunda a sexta, das 8h às 17h, sem agendamento."


@pytest.fixture(scope="module")
def loop_hub(deploy_bot: BotStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state_dir = tmp_path_factory.mktemp("hub-teach-loop")
    env = {**deploy_bot.hub_env(), "DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}",
           "CLINIC_ADMIN_PASSWORD": ADMIN_PASSWORD, "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true",
           "POLL_INTERVAL_SECONDS": "0.3", "PUBLIC_BASE_URL": f"http://127.0.0.1:{deploy_bot.hub_port}",
           "BOT_MODELS_DIR": str(state_dir / "bot-models")}
    proc = start_hub(state_dir, env, "hub-teach-loop")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _ask(hub: Hub) -> str:
    """A new patient consents and asks the question; the bot's answer."""
    async with _patient(hub) as patient:
        await patient.say("oi")
        await patient.tap("Aceito")
        return await patient.say(ASK)


def _reasons(hub: Hub) -> list[str]:
    with sqlite3.connect(hub.state_dir / "hub.db") as db:
        return [r[0] for r in db.execute(
            "SELECT c.reason FROM conversations c JOIN messages m ON m.conversation_id = c.id "
            "WHERE m.direction = 'in' AND m.text = ? ORDER BY m.id", (ASK,)).fetchall()]


async def test_manager_teaches_trains_deploys_and_rolls_back(loop_hub: Hub, browser: Browser,
                                                              artifacts: Path) -> None:
    base = loop_hub.url
    # -- a patient the bot cannot help, handed to the team --------------------------------------
    async with _patient(loop_hub) as patient:
        await patient.say("oi")
        await patient.tap("Aceito")
        before = await patient.say(ASK)
        assert TAUGHT not in before
        await patient.say("quero falar com um atendente")
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        login = await api.post("/api/auth/login", json={"email": MANAGER, "password": DEMO_PASSWORD})
        api.headers["Authorization"] = f"Bearer {login.json()['token']}"
        queue = (await api.get("/api/queue")).json()
        assert len(queue) == 1, queue
        conv_id = queue[0]["conversation_id"]

        errors: list[str] = []
        context, page = await new_page(browser, errors, API_REFUSALS)
        try:
            await sign_in(page, base, MANAGER, DEMO_PASSWORD)

            # -- the inbox: the manager corrects the conversation's reason ------------------------
            await page.goto(f"{base}/inbox?c={conv_id}")
            await expect(page.get_by_test_id("bot-context")).to_be_visible(timeout=UI_MS)
            await page.get_by_test_id("reason-select").select_option("exams")
            await page.get_by_test_id("reason-save").click()
            await expect(page.get_by_test_id("bot-reason")).to_have_text("Exames", timeout=UI_MS)

            # -- /bot: the message is up for review; a new intent from it -------------------------
            await page.goto(f"{base}/bot")
            item = group(page, ASK)
            await expect(item.locator('[data-flag="reason_corrected"]')).to_have_text("motivo corrigido",
                                                                                      timeout=UI_MS)
            await item.get_by_role("button", name="Nova intenção com esta mensagem").click()
            form = page.get_by_test_id("intent-form")
            examples = form.get_by_label("Exemplos (um por linha)")
            await expect(examples).to_have_value(ASK)
            await form.get_by_label("Nome", exact=True).fill("Vacina gripe")
            await form.get_by_label("Motivo", exact=True).select_option(label="Novo motivo…")
            await form.get_by_label("Nome do novo motivo").fill("vacinas")
            await examples.fill("\n".join([ASK, *MORE]))
            await form.get_by_label("Resposta do bot").fill(TAUGHT)
            await form.get_by_role("button", name="Criar intenção").click()
            warnings = page.get_by_test_id("intent-warnings")
            await expect(warnings).to_contain_text("Intenção staff_vacina_gripe criada.", timeout=UI_MS)
            await expect(warnings).to_contain_text("vacinas")  # the new reason is announced

            # -- train, watch it, read the comparison and the gate ---------------------------------
            await page.get_by_test_id("train-button").click()
            panel = page.get_by_test_id("run-panel")
            await expect(panel).to_be_visible(timeout=UI_MS)
            await expect(page.get_by_test_id("run-status")).to_have_attribute(
                "data-status", re.compile("training|evaluating"), timeout=UI_MS)
            await expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "ready",
                                                                              timeout=TRAIN_MS)
            await expect(page.get_by_test_id("gate-status")).to_have_attribute("data-passed", "true")
            await expect(page.get_by_test_id("gate-status")).to_have_text("Aprovado")
            table = page.get_by_test_id("eval-table")
            await expect(table).to_be_visible()
            await expect(table.get_by_test_id("eval-row")).to_have_count(7)
            run_id = await panel.get_attribute("data-id")
            assert run_id and run_id.isdigit()

            # -- deploy: the new answer and the new reason reach a patient -------------------------
            await page.get_by_test_id(f"deploy-{run_id}").click()
            await expect(page.get_by_test_id("deployed-version")).to_have_attribute("data-deployed", run_id,
                                                                                    timeout=UI_MS)
            await expect(page.get_by_test_id("rollback-button")).to_be_visible()
            await page.screenshot(path=str(artifacts / "bot-teaching-deployed.png"), full_page=True)
            assert TAUGHT in await _ask(loop_hub)
            assert _reasons(loop_hub)[-1] == "vacinas"
            dashboard = (await api.get("/api/metrics")).json()
            by_reason = {r["reason"]: r["contacts"] for r in dashboard["reasons"]}
            assert by_reason.get("vacinas", 0) >= 1, by_reason

            # -- rollback: the old behaviour is back ------------------------------------------------
            await page.get_by_test_id("rollback-button").click()
            await expect(page.get_by_test_id("deployed-version")).to_have_attribute("data-deployed", "base",
                                                                                    timeout=UI_MS)
            assert TAUGHT not in await _ask(loop_hub)
            assert not errors, errors
        finally:
            await context.close()
