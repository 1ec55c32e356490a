"""The staff page "Ensinar o bot" (/bot) in a real browser (Debian chromium via Playwright) against
real hub processes on SQLite with the demo team seeded.

Most tests use a hub with the real bot stack (the trained model behind a real Rasa server and the
action server): patients write on the real web chat, the bot reads their messages, and those it
handed over ("quero falar com um atendente" twice, "quero fazer uma reclamação" once, each right
after a bot answer) fill the review inbox; creating or editing an intent asks the real Rasa server
whether an example reads as a red flag. The manager signs in through /login?next=/bot, sees the
review groups, starts an intent from a message, is refused below 5 examples and on a bot intent's
name (the API's pt-BR message), creates it (the warning below 10 examples shown), edits it, is
refused a red-flag example (the examples listed), deletes it after the confirm dialog, rewords a
simple answer and restores it, and sees the training and registry controls. An attendant sees the
review inbox read-only except for labelling (labels a group, ignores the other, sees the empty
state) and none of the create/train/deploy controls (the API refuses them anyway).

A second hub has a dead RASA_URL: an anonymous visit is sent to /login, the empty review inbox says
so in pt-BR, and creating an intent shows the API's 503 `bot_unavailable` message. Training and
deploying are exercised by the registry's own end-to-end test; here only their controls are checked.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.support.net import free_port
from tests.support.stack import BotStack, start_hub
from tests.support.wait import eventually

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "bot-page-admin-password-0123")
DEMO_PASSWORD = "bot-page-demo-password-0123"
MANAGER = "gerente@clinica.example"
ANA = "ana@clinica.example"
HUMAN = "quero falar com um atendente"
COMPLAINT = "quero fazer uma reclamação"
VACINA = ["vocês têm vacina da gripe", "tem vacina contra gripe aí", "quero tomar a vacina da gripe",
          "a campanha de vacinação já começou", "quanto custa a vacina da gripe", "vacinam criança contra gripe"]
VACINA_ANSWER = "Sim! A vacina da gripe está disponível de segunda a sexta, das 8h às 17h."
RED_FLAG = "estou com dor no peito forte e falta de ar"
GOODBYE_DEFAULT = "Até logo! Se precisar, é só chamar por aqui."
# Chromium logs every refused load ("Failed to load resource: … status of 422 (…)"): the refusals a
# test provokes on purpose are these, nothing else may reach the console.
API_REFUSALS = re.compile(r"^Failed to load resource: the server responded with a status of (400|422) ")
BOT_DOWN = re.compile(r"^Failed to load resource: the server responded with a status of 503 ")
NOTHING = re.compile(r"^$")


def base_env(state_dir: Path, port: int) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "CLINIC_ADMIN_EMAIL": ADMIN[0],
            "CLINIC_ADMIN_PASSWORD": ADMIN[1], "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true",
            "HUB_PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "POLL_INTERVAL_SECONDS": "0.3"}


# -- patients on the real web chat ------------------------------------------------------------------

async def until(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], what: str,
                timeout: float = 90) -> dict[str, Any]:
    """The next frame matching `wanted` (earlier ones are skipped)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                frame: dict[str, Any] = json.loads(await ws.recv())
                if wanted(frame):
                    return frame
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def patient_says(hub: Hub, first: str, then: str) -> None:
    """A new web chat visitor writes `first`, waits for the bot's answer, then writes `then`."""
    visitor = uuid.uuid4().hex + uuid.uuid4().hex
    async with connect(f"ws://127.0.0.1:{hub.proc.port}/webchat/ws?visitor={visitor}", open_timeout=60) as ws:
        await until(ws, lambda f: f.get("type") == "history", "history")
        await ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": first}))
        await until(ws, lambda f: f.get("type") == "message" and f.get("sender") == "bot", "the bot's answer")
        client_id = uuid.uuid4().hex
        await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": then}))
        await until(ws, lambda f: f.get("type") == "ack" and f.get("client_id") == client_id, "ack")


async def api_token(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        r = await api.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])


async def api_get(base: str, token: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api:
        r = await api.get(path)
        assert r.status_code == 200, r.text
        return r.json()


async def review_groups(base: str, token: str) -> dict[str, dict[str, Any]]:
    """The review inbox by text."""
    return {i["text"]: i for i in (await api_get(base, token, "/api/bot/review"))["items"]}


async def seed_review(hub: Hub) -> None:
    """Three patients the bot hands over right after answering them; wait until the review shows them."""
    await patient_says(hub, "oi", HUMAN)
    await patient_says(hub, "oi", HUMAN)
    await patient_says(hub, "oi", COMPLAINT)
    token = await api_token(hub.url, ADMIN[0], ADMIN[1])
    async def shown() -> dict[str, dict[str, Any]] | None:
        groups = await review_groups(hub.url, token)
        return groups if groups.get(HUMAN, {}).get("count") == 2 and COMPLAINT in groups else None
    await eventually(shown, timeout=90, interval=0.5, what="the review inbox showing the patients' messages")


@pytest.fixture(scope="module")
def teach_hub(bot_stack: BotStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with the real bot (on the port the actions call back) and three reviewable messages."""
    state_dir = tmp_path_factory.mktemp("hub-bot-page")
    env = {**base_env(state_dir, bot_stack.hub_port), **bot_stack.hub_env()}
    proc = start_hub(state_dir, env, "hub-bot-page")
    hub = Hub(proc, env, state_dir)
    try:
        asyncio.run(seed_review(hub))
        yield hub
    finally:
        proc.kill()


@pytest.fixture(scope="module")
def botless_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub whose bot is a dead address."""
    state_dir = tmp_path_factory.mktemp("hub-bot-page-down")
    env = {**base_env(state_dir, free_port()), "RASA_URL": "http://127.0.0.1:9", "ACTIONS_URL": "http://127.0.0.1:9"}
    proc = start_hub(state_dir, env, "hub-bot-page-down")
    yield Hub(proc, env, state_dir)
    proc.kill()


# -- the browser ------------------------------------------------------------------------------------

async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Sign in through /login?next=/bot."""
    await sign_in_at(page, base, "/bot", email, password, UI_MS)


def group(page: Page, text: str) -> Locator:
    return page.get_by_test_id("review-item").filter(
        has=page.get_by_test_id("review-text").get_by_text(text, exact=True))


def answer(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="answer-row"][data-name="{name}"]')


async def test_manager_teaches_the_bot(teach_hub: Hub, browser: Browser, artifacts: Path) -> None:
    base = teach_hub.url
    token = await api_token(base, MANAGER, DEMO_PASSWORD)
    errors: list[str] = []
    context, page = await new_page(browser, errors, API_REFUSALS)
    try:
        await sign_in(page, base, MANAGER, DEMO_PASSWORD)
        await expect(page).to_have_title("Ensinar o bot — atende")
        await expect(page.get_by_role("heading", name="Ensinar o bot", level=1)).to_be_visible()
        await expect(page.get_by_test_id("me-name")).to_have_text("Marina Alves (gerente)", timeout=UI_MS)
        served = await context.request.get(base + "/bot")
        assert served.status == 200 and "script-src 'self'" in served.headers["content-security-policy"]
        assert "<script>" not in await served.text()  # no inline script: the CSP would block it

        # -- 1. what the bot did not understand: masked groups, bot reading, flags, conversation link
        groups = await review_groups(base, token)
        human, complaint = group(page, HUMAN), group(page, COMPLAINT)
        await expect(page.get_by_test_id("review-item")).to_have_count(2, timeout=UI_MS)
        await expect(human.get_by_test_id("review-count")).to_have_text("2 mensagens")
        await expect(human.get_by_test_id("review-intent")).to_contain_text("request_human")
        confidence = round(groups[HUMAN]["confidence"] * 100)
        await expect(human.get_by_test_id("review-confidence")).to_have_text(f"{confidence}%")
        await expect(human.locator('[data-flag="asked_for_human"]')).to_have_text("pediu atendente")
        link = human.get_by_test_id("review-link")
        await expect(link).to_have_attribute("href", f"/inbox?c={groups[HUMAN]['conversation_id']}")
        await expect(link).to_have_text("Abrir conversa (+1 outra)")
        await expect(complaint.get_by_test_id("review-count")).to_have_text("1 mensagem")
        await expect(complaint.get_by_test_id("review-link")).to_have_text("Abrir conversa")
        await expect(page.get_by_test_id("review-empty")).to_be_hidden()

        # "Nova intenção com esta mensagem" puts the message in the form as its first example.
        form = page.get_by_test_id("intent-form")
        await complaint.get_by_role("button", name="Nova intenção com esta mensagem").click()
        examples = form.get_by_label("Exemplos (um por linha)")
        await expect(examples).to_have_value(COMPLAINT)
        await expect(form.get_by_label("Nome", exact=True)).to_be_focused()
        counter = page.get_by_test_id("example-count")
        await expect(counter).to_have_text("1 exemplo diferente — mínimo de 5 para salvar")
        await expect(counter).to_have_attribute("data-level", "error")

        # -- 2. create an intent: refused below 5 examples, then a bot intent's name (the API's words)
        error, warnings = page.get_by_test_id("intent-error"), page.get_by_test_id("intent-warnings")
        await form.get_by_label("Nome", exact=True).fill("Vacina gripe")
        await form.get_by_label("Motivo", exact=True).select_option(label="Outros")
        await examples.fill("\n".join(VACINA[:4]))
        await expect(counter).to_have_text("4 exemplos diferentes — mínimo de 5 para salvar")
        await form.get_by_label("Resposta do bot").fill(VACINA_ANSWER)
        await form.get_by_role("button", name="Criar intenção").click()
        await expect(error).to_have_text("São necessários pelo menos 5 exemplos diferentes (há 4).")
        await examples.fill("\n".join(VACINA))
        await expect(counter).to_have_text(
            "6 exemplos diferentes — recomendado pelo menos 10 para o bot reconhecer bem")
        await expect(counter).to_have_attribute("data-level", "warn")
        await form.get_by_label("Nome", exact=True).fill("clinic_hours")
        await form.get_by_role("button", name="Criar intenção").click()
        await expect(error).to_have_text("Já existe uma intenção do bot chamada clinic_hours.")
        assert (await api_get(base, token, "/api/bot/intents"))["intents"] == []

        await form.get_by_label("Nome", exact=True).fill("Vacina gripe")
        await form.get_by_role("button", name="Criar intenção").click()
        await expect(warnings).to_contain_text("Intenção staff_vacina_gripe criada.", timeout=UI_MS)
        await expect(warnings).to_contain_text("Atenção: Menos de 10 exemplos: o bot pode não reconhecer bem.")
        await expect(error).to_be_hidden()
        row = page.locator('[data-testid="intent-row"][data-name="staff_vacina_gripe"]')
        await expect(row.locator('[data-col="reason"]')).to_have_text("Outros")
        await expect(row.locator('[data-col="examples"]')).to_contain_text("6 exemplos")
        await expect(row.locator('[data-col="action"]')).to_contain_text("Responde: Sim! A vacina da gripe")
        await expect(examples).to_have_value("")
        stored = (await api_get(base, token, "/api/bot/intents"))["intents"]
        assert [(i["name"], i["reason"], i["examples"], i["answer"]["text"]) for i in stored] == [
            ("staff_vacina_gripe", "other", VACINA, VACINA_ANSWER)]
        # the new intent is a label choice in the review inbox
        await expect(human.get_by_label("Atribuir a intenção").locator("option[value='staff_vacina_gripe']")
                     ).to_have_count(1)

        # -- edit: one more example and a hand-off to a queue; a red-flag example is refused
        await page.get_by_role("button", name="Editar staff_vacina_gripe").click()
        await expect(page.get_by_test_id("intent-form-title")).to_have_text("Editar staff_vacina_gripe")
        await expect(form.get_by_label("Nome", exact=True)).to_be_disabled()
        await expect(examples).to_have_value("\n".join(VACINA))
        await examples.fill("\n".join([*VACINA, "tem vacina de gripe pra idoso", RED_FLAG]))
        await form.get_by_role("button", name="Salvar alterações").click()
        await expect(error).to_contain_text("Exemplos com sinal de alerta (urgência) não podem entrar", timeout=UI_MS)
        await expect(error.get_by_test_id("error-examples")).to_have_text(RED_FLAG)
        await expect(error).to_contain_text("Tire esses exemplos, use o motivo Urgente ou peça a um administrador.")
        await expect(page.get_by_test_id("intent-override")).to_be_hidden()  # a manager cannot release it
        await examples.fill("\n".join([*VACINA, "tem vacina de gripe pra idoso"]))
        await form.get_by_label("Encaminhar para a fila").select_option("reception")
        await form.get_by_role("button", name="Salvar alterações").click()
        await expect(warnings).to_contain_text("Intenção staff_vacina_gripe atualizada.", timeout=UI_MS)
        await expect(row.locator('[data-col="examples"]')).to_contain_text("7 exemplos")
        await expect(row.locator('[data-col="action"]')).to_contain_text("Encaminha para a equipe: fila Recepção")
        await expect(page.get_by_test_id("intent-form-title")).to_have_text("Nova intenção")
        stored = (await api_get(base, token, "/api/bot/intents"))["intents"]
        assert len(stored[0]["examples"]) == 7 and stored[0]["handoff"] == {"queue": "reception", "skill": None}

        # -- delete: cancelling the confirm dialog keeps it, confirming removes it
        await page.get_by_role("button", name="Excluir staff_vacina_gripe").click()
        confirm = page.get_by_role("alertdialog", name="Excluir a intenção staff_vacina_gripe?")
        await expect(confirm.get_by_role("button", name="Cancelar")).to_be_focused()
        await confirm.get_by_role("button", name="Cancelar").click()
        await expect(confirm).to_be_hidden()
        await expect(row).to_have_count(1)
        await page.get_by_role("button", name="Excluir staff_vacina_gripe").click()
        await confirm.get_by_role("button", name="Excluir").click()
        await expect(confirm).to_be_hidden()
        await expect(row).to_have_count(0)
        await expect(page.get_by_test_id("intents-empty")).to_have_text("Nenhuma intenção ensinada ainda.")
        assert (await api_get(base, token, "/api/bot/intents"))["intents"] == []

        # -- simple answers: reword one, then restore the bot's text
        goodbye = answer(page, "utter_goodbye")
        await page.get_by_test_id("answers-filter").fill("goodbye")
        await expect(page.get_by_test_id("answer-row")).to_have_count(1)
        await expect(goodbye.get_by_test_id("answer-text")).to_have_text(GOODBYE_DEFAULT)
        await goodbye.get_by_role("button", name="Editar utter_goodbye").click()
        await goodbye.get_by_label("Texto de utter_goodbye").fill("Até breve! Qualquer dúvida, é só chamar.")
        await goodbye.get_by_role("button", name="Salvar").click()
        await expect(goodbye.get_by_test_id("answer-text")).to_have_text("Até breve! Qualquer dúvida, é só chamar.")
        await expect(goodbye.get_by_test_id("answer-edited")).to_have_text("editada pela equipe")
        stored_answers = {a["name"]: a for a in (await api_get(base, token, "/api/bot/answers"))["answers"]}
        assert stored_answers["utter_goodbye"]["edited"] is True
        assert stored_answers["utter_goodbye"]["text"] == "Até breve! Qualquer dúvida, é só chamar."
        await goodbye.get_by_role("button", name="Restaurar utter_goodbye").click()
        await expect(goodbye.get_by_test_id("answer-text")).to_have_text(GOODBYE_DEFAULT)
        await expect(goodbye).to_have_attribute("data-edited", "false")
        await expect(goodbye.get_by_role("button", name="Restaurar utter_goodbye")).to_have_count(0)
        stored_answers = {a["name"]: a for a in (await api_get(base, token, "/api/bot/answers"))["answers"]}
        assert stored_answers["utter_goodbye"]["edited"] is False

        # -- 3 and 4: training and the registry (nothing trained yet: the base model is live)
        await expect(page.get_by_test_id("train-button")).to_be_visible()
        await expect(page.get_by_test_id("train-button")).to_have_text("Treinar novo modelo")
        await expect(page.get_by_test_id("deployed-version")).to_have_text(
            "No ar: modelo base do bot (nenhuma versão treinada pela equipe foi implantada).", timeout=UI_MS)
        await expect(page.get_by_test_id("models-empty")).to_be_visible()
        await expect(page.get_by_test_id("rollback-button")).to_be_hidden()  # nothing deployed to undo
        await expect(page.get_by_test_id("run-panel")).to_be_hidden()
        await expect(page.get_by_test_id("readonly-note")).to_be_hidden()

        await page.screenshot(path=str(artifacts / "bot-teaching.png"), full_page=True)
        # The inbox links here for managers.
        await page.goto(base + "/inbox")
        await expect(page.get_by_test_id("bot-link")).to_be_visible(timeout=UI_MS)
        await page.get_by_test_id("bot-link").click()
        await expect(page).to_have_url(base + "/bot", timeout=UI_MS)
        await expect(page.get_by_test_id("review-item")).to_have_count(2, timeout=UI_MS)  # nothing labelled yet
        assert errors == []
    finally:
        await context.close()


async def test_attendant_labels_but_cannot_teach(teach_hub: Hub, browser: Browser) -> None:
    base = teach_hub.url
    token = await api_token(base, MANAGER, DEMO_PASSWORD)
    errors: list[str] = []
    context, page = await new_page(browser, errors, NOTHING)
    try:
        await sign_in(page, base, ANA, DEMO_PASSWORD)
        await expect(page.get_by_test_id("me-name")).to_have_text("Ana Souza", timeout=UI_MS)
        await expect(page.get_by_test_id("readonly-note")).to_be_visible()
        human, complaint = group(page, HUMAN), group(page, COMPLAINT)
        await expect(human).to_have_count(1, timeout=UI_MS)
        await expect(complaint).to_have_count(1)
        await expect(page.get_by_test_id("answer-row").first).to_be_visible()

        # No create, edit, train, deploy or rollback controls, and no manager-only data loaded.
        for hidden in ("intent-form", "train-section", "train-button", "models-section", "rollback-button",
                       "deployed-version"):
            await expect(page.get_by_test_id(hidden)).to_be_hidden()
        await expect(page.get_by_test_id("review-new-intent")).to_have_count(0)
        await expect(page.get_by_test_id("answer-edit")).to_have_count(0)
        await expect(page.get_by_role("button", name="Treinar novo modelo")).to_be_hidden()
        await expect(page.get_by_role("link", name="Painel do gestor")).to_be_hidden()
        # the API refuses them anyway
        refused = await context.request.post(base + "/api/bot/models", headers={"X-Requested-With": "atende"})
        assert refused.status == 403
        refused = await context.request.post(base + "/api/bot/intents", headers={"X-Requested-With": "atende"},
                                             data={"name": "x", "reason": "other", "examples": VACINA})
        assert refused.status == 403

        # Label the "atendente" group with the bot's own intent; ignore the complaint.
        picker = human.get_by_label("Atribuir a intenção")
        await human.get_by_role("button", name="Atribuir").click()
        await expect(human.get_by_test_id("review-error")).to_have_text(
            "Escolha a intenção (ou digite o nome de uma intenção do bot).")
        await picker.select_option("request_human")
        await human.get_by_role("button", name="Atribuir").click()
        await expect(page.get_by_test_id("teach-status")).to_have_text(
            "2 mensagens atribuídas a request_human.", timeout=UI_MS)
        await expect(human).to_have_count(0)
        await complaint.get_by_role("button", name="Ignorar").click()
        await expect(page.get_by_test_id("teach-status")).to_have_text("1 mensagem ignorada.", timeout=UI_MS)
        await expect(page.get_by_test_id("review-empty")).to_have_text(re.compile(
            r"^Nada para revisar: o bot entendeu todas as mensagens dos\s+últimos 30 dias\.$"))
        assert await review_groups(base, token) == {}
        layer = await api_get(base, token, "/api/bot/layer")
        assert sorted((x["text"], x["intent"]) for x in layer["labelled"]) == [(HUMAN, "request_human")] * 2

        # The inbox has no link here for attendants.
        await page.goto(base + "/inbox")
        await expect(page.get_by_test_id("me-name")).to_have_text("Ana Souza", timeout=UI_MS)
        await expect(page.get_by_test_id("bot-link")).to_be_hidden()
        assert errors == []
    finally:
        await context.close()


async def test_bot_down_and_anonymous(botless_hub: Hub, browser: Browser) -> None:
    base = botless_hub.url
    anonymous = await browser.new_context()
    try:
        bare = await anonymous.request.get(base + "/bot", max_redirects=0)
        assert bare.status == 302 and bare.headers["location"] == "/login?next=%2Fbot"
        script = await anonymous.request.get(base + "/bot/bot.js")
        assert script.status == 200 and script.headers["x-content-type-options"] == "nosniff"
    finally:
        await anonymous.close()

    errors: list[str] = []
    context, page = await new_page(browser, errors, BOT_DOWN)
    try:
        await sign_in(page, base, MANAGER, DEMO_PASSWORD)
        await expect(page.get_by_test_id("review-empty")).to_be_visible(timeout=UI_MS)
        await expect(page.get_by_test_id("review-item")).to_have_count(0)
        form = page.get_by_test_id("intent-form")
        await form.get_by_label("Nome", exact=True).fill("Vacina gripe")
        await form.get_by_label("Exemplos (um por linha)").fill("\n".join(VACINA))
        await form.get_by_label("Resposta do bot").fill(VACINA_ANSWER)
        await form.get_by_role("button", name="Criar intenção").click()
        await expect(page.get_by_test_id("intent-error")).to_have_text(
            "O bot não respondeu para conferir os exemplos: tente de novo.", timeout=UI_MS)
        await expect(page.get_by_test_id("intents-empty")).to_be_visible()
        await expect(form.get_by_label("Exemplos (um por linha)")).to_have_value("\n".join(VACINA))  # nothing lost
        assert errors == []
    finally:
        await context.close()
