"""The WhatsApp template picker in a real browser (Debian chromium driven by Playwright) against a
real hub process on SQLite and a local server speaking Twilio's REST API: the patient's last
WhatsApp message is older than 24 hours, so the attendant sees the closed-window notice, cannot
send free text, picks an approved template, fills its variables and sends it; Twilio receives
`ContentSid` + `ContentVariables` (no `Body`) and the message shows in the thread."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update

from handoff.adapters.sql.models import Conversation, Message, StaffUser
from tests.channels.conftest import TWILIO_WHATSAPP_FROM, Providers, running_hub
from tests.conftest import Backend
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio
from tests.support.hub import wait_for

UI_MS = 60_000  # generous: the browser, the hub and other suites share 2 busy cores
ADMIN = {"email": "admin@clinica.example", "password": "test-password-123"}  # running_hub's CLINIC_ADMIN_PASSWORD
PAULA = {"email": "paula@clinica.example", "name": "Paula Ribeiro", "role": "attendant",
         "password": "paula-senha-forte-123"}
WINDOW_CLOSED = "A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado."
FILL_VARIABLES = "Preencha todas as variáveis do modelo."
LEMBRETE_SID = "HX00000000000000000000000000000002"  # settings' demo template `lembrete_consulta`
WHEN = "12/12 às 9h"
SENT_TEXT = f"Olá Maria, lembramos da sua consulta em {WHEN}. Responda esta mensagem se precisar remarcar."


async def new_page(context: BrowserContext, errors: list[str]) -> Page:
    """A page that records uncaught exceptions and console errors into `errors`."""
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return page


async def sign_in(page: Page, base: str) -> None:
    """/inbox without a session goes to /login; the attendant signs in and lands on /inbox, live."""
    await page.goto(base + "/inbox")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Finbox$"))
    await page.get_by_label("E-mail").fill(PAULA["email"])
    await page.get_by_label("Senha").fill(PAULA["password"])
    await page.get_by_label("Senha").press("Enter")
    await expect(page).to_have_url(base + "/inbox", timeout=UI_MS)
    await expect(page.get_by_test_id("me-name")).to_have_text(PAULA["name"])
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "online", timeout=UI_MS)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_attendant_sends_an_approved_template_outside_the_24_hour_window(
    backend: Backend, tmp_path: Path, browser: Browser, artifacts: Path
) -> None:
    providers = Providers(FakeTwilio().start(), FakeMeta().start())
    tw = providers.twilio
    try:
        async with running_hub(backend, tmp_path, providers) as hub:
            base = hub.base_url
            # Paula, an attendant, created by the admin through the staff API.
            async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                token = (await api.post("/api/auth/login", json=ADMIN)).json()["token"]
                r = await api.post("/api/staff", json=PAULA, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 201, r.text

            # Maria wrote on WhatsApp (through the real webhook) more than 24 hours ago, and Paula
            # holds the conversation: the message and the conversation are aged in the database.
            phone = "+55119" + str(uuid.uuid4().int)[:8]
            form = tw.inbound_form(sid="SM" + uuid.uuid4().hex, from_="whatsapp:" + phone, to=TWILIO_WHATSAPP_FROM,
                                   body="Oi, preciso remarcar minha consulta", profile_name="Maria Souza")
            assert tw.post_webhook(hub.url("/channels/twilio/messages"), form).status_code == 200
            conv = await wait_for(lambda: hub.conversation_of("whatsapp", phone), what="the conversation")
            then = datetime.now(UTC) - timedelta(hours=25)
            async with hub.rt.db.session() as s:
                paula_id = (await s.execute(select(StaffUser.id).where(StaffUser.email == PAULA["email"]))
                            ).scalar_one()
                await s.execute(update(Message).where(Message.conversation_id == conv.id).values(created_at=then))
                row = await s.get(Conversation, conv.id)
                assert row is not None
                row.state, row.queue, row.assigned_agent_id = "assigned", "reception", paula_id
                row.assigned_at, row.last_inbound_at = datetime.now(UTC), then

            def to_patient() -> list[dict[str, Any]]:
                return [r for r in tw.requests if r.get("To") == "whatsapp:" + phone]

            errors: list[str] = []
            context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR",
                                                timezone_id="America/Sao_Paulo")
            try:
                page = await new_page(context, errors)
                await sign_in(page, base)

                # Her conversation is in "mine"; opening it shows the patient's old message and
                # the closed-window notice in pt-BR.
                await page.get_by_test_id("tab-mine").click()
                item = page.get_by_test_id("mine-item")
                await expect(item).to_have_count(1, timeout=UI_MS)
                await item.get_by_role("button").click()
                timeline = page.get_by_test_id("timeline")
                await expect(timeline.locator('[data-testid="msg"][data-sender="patient"]')).to_contain_text(
                    "Oi, preciso remarcar minha consulta", timeout=UI_MS)
                await expect(page.get_by_test_id("conv-banner")).to_have_text(WINDOW_CLOSED)

                # Free text is not possible: the composer is disabled, and the server refuses it too.
                await expect(page.get_by_test_id("composer-input")).to_be_disabled()
                await expect(page.get_by_test_id("composer-send")).to_be_disabled()
                refused = await page.request.post(f"{base}/api/conversations/{conv.id}/reply",
                                                  data={"text": "Olá, Maria!"},
                                                  headers={"X-Requested-With": "atende"})
                assert refused.status == 409 and (await refused.json())["error"]["code"] == "window_closed"

                # The picker offers the approved templates; Maria's first name is filled in.
                picker = page.get_by_test_id("template-picker")
                await expect(picker).to_be_visible()
                select_ = page.get_by_test_id("template-select")
                await expect(select_.locator("option")).to_have_text(["Retomar o atendimento", "Lembrete de consulta"])
                await select_.select_option("lembrete_consulta")
                variables = page.get_by_test_id("template-var")
                await expect(variables).to_have_count(2)
                await expect(variables.nth(0)).to_have_value("Maria")
                await expect(variables.nth(1)).to_have_value("")
                await expect(page.get_by_label("data e horário")).to_be_visible()
                preview = page.get_by_test_id("template-preview")
                await expect(preview).to_have_text(
                    "Olá Maria, lembramos da sua consulta em {{2}}. Responda esta mensagem se precisar remarcar.")

                # A missing variable is refused in the page: nothing reaches Twilio.
                send = page.get_by_test_id("template-send")
                await send.click()
                await expect(page.get_by_test_id("toast").filter(has_text=FILL_VARIABLES)).to_be_visible()
                assert await hub.messages(Message.conversation_id == conv.id, Message.direction == "out") == []

                # Filled in: the preview is the text Maria will read; sending puts it in the thread.
                await page.get_by_label("data e horário").fill(WHEN)
                await expect(preview).to_have_text(SENT_TEXT)
                await send.click()
                agent_msg = timeline.locator('[data-testid="msg"][data-sender="agent"]')
                await expect(agent_msg).to_have_count(1, timeout=UI_MS)
                await expect(agent_msg).to_contain_text(SENT_TEXT)
                await expect(page.get_by_test_id("toast").filter(has_text="Modelo “Lembrete de consulta”")
                             ).to_contain_text("Modelo “Lembrete de consulta” enviado.")
                await expect(page.get_by_test_id("conv-banner")).to_have_text(WINDOW_CLOSED)  # still closed
                await page.screenshot(path=artifacts / "inbox-template-sent.png")

                # Twilio received the template (Content API), not free text.
                (request, *others) = await wait_for(lambda: _async(to_patient()), what="the template at Twilio")
                assert others == []
                assert request["ContentSid"] == LEMBRETE_SID and request["From"] == TWILIO_WHATSAPP_FROM
                assert json.loads(request["ContentVariables"]) == {"1": "Maria", "2": WHEN}
                assert "Body" not in request

                async def sent() -> list[Message]:
                    rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
                    return rows if rows and rows[0].status == "sent" else []
                (out,) = await wait_for(sent, what="the template marked sent")
                assert out.sender == "agent" and out.text == SENT_TEXT
                assert out.payload["template"]["id"] == "lembrete_consulta"
                assert out.payload["template"]["variables"] == ["Maria", WHEN]

                # Opened again, the thread shows it as sent.
                await page.reload()
                await page.get_by_test_id("tab-mine").click()
                await expect(item).to_have_count(1, timeout=UI_MS)
                await item.get_by_role("button").click()
                await expect(agent_msg).to_contain_text(SENT_TEXT, timeout=UI_MS)
                await expect(agent_msg.locator(".msg-status")).to_have_text(" · Enviada")
                assert errors == [], errors
            finally:
                await context.close()
    finally:
        tw.close()
        providers.meta.close()


async def _async(value: Any) -> Any:
    return value
