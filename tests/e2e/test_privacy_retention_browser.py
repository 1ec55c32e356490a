"""Retention and the incident register in a real browser (Debian chromium via Playwright) against a
real hub process on SQLite with the demo clinic seeded; no bot. The admin shortens the transcript
period on /privacidade/retencao, runs the disposal now and sees what it disposed (counts, in the
result and in the history); the patient texts are gone from the database while the rows stay. On
/privacidade/incidentes the admin registers an incident detected on a Friday and sees its ANPD
deadline three working days later (flagged overdue), then marks the ANPD as notified. An attendant
is refused both pages, and the web chat widget links to the public privacy notice."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message, Patient
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "privacy-admin-password-0123")
DEMO_PASSWORD = "privacy-demo-password-0123"
BRUNO = "bruno@clinica.example"
PAGE_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 403 ")
NO_REFUSAL = re.compile(r"^$^")
SECRET = "dor no peito desde ontem"


@pytest.fixture(scope="module")
def privacy_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub process with its own SQLite file, the admin and the demo team; the bot is a dead address."""
    state_dir = tmp_path_factory.mktemp("hub-privacy")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "POLL_INTERVAL_SECONDS": "0.5", "ATTACHMENTS_DIR": str(state_dir / "files"),
           "PRIVACY_OFFICER_EMAIL": "encarregado@clinica.example"}
    proc = start_hub(state_dir, env, "hub-privacy")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _old_conversation(url: str, n: int) -> list[int]:
    """A resolved conversation whose `n` patient messages are 100 days old."""
    db = Database(url)
    db.connect()
    old = datetime.now(UTC) - timedelta(days=100)
    try:
        async with db.session() as s:
            p = Patient(display_name="Paciente Antigo", created_at=old)
            s.add(p)
            await s.flush()
            ident = ChannelIdentity(channel="webchat", external_id=uuid.uuid4().hex * 2, patient_id=p.id,
                                    created_at=old)
            s.add(ident)
            await s.flush()
            conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel="webchat",
                                state="resolved", reason="urgent", priority="normal", bot_failures=0,
                                created_at=old, updated_at=old)
            s.add(conv)
            ids = []
            for i in range(n):
                m = Message(conversation_id=conv.id, direction="in", sender="patient", channel="webchat",
                            provider_message_id=uuid.uuid4().hex, text=f"{SECRET} {i}", payload={},
                            status="processed", attempts=0, reason="urgent", created_at=old + timedelta(minutes=i))
                s.add(m)
                await s.flush()
                ids.append(m.id)
            return ids
    finally:
        await db.close()


async def _texts(url: str, ids: list[int]) -> list[tuple[str, bool]]:
    db = Database(url)
    db.connect()
    try:
        async with db.session() as s:
            rows = (await s.execute(select(Message.text, Message.redacted_at).where(Message.id.in_(ids)))).all()
            return [(t, r is not None) for t, r in rows]
    finally:
        await db.close()


async def test_admin_sets_a_period_runs_disposal_and_registers_an_incident(privacy_hub: Hub, browser: Browser) -> None:
    base = privacy_hub.url
    url = privacy_hub.env["DATABASE_URL"]
    ids = await _old_conversation(url, 3)
    errors: list[str] = []
    context, page = await new_page(browser, errors, NO_REFUSAL)
    try:
        await sign_in_at(page, base, "/privacidade/retencao", *ADMIN, timeout_ms=UI_MS)
        days = page.get_by_test_id("days-transcripts")
        await expect(days).to_have_value("730", timeout=UI_MS)
        await days.fill("30")
        await page.get_by_test_id("policies-save").click()
        await expect(page.get_by_test_id("retention-status")).to_have_text("Prazos salvos.", timeout=UI_MS)
        await expect(days).to_have_value("30")

        await page.get_by_test_id("run-now").click()
        result = page.get_by_test_id("run-result")
        await expect(result).to_have_text(
            "Descartados agora: Conversas de atendimento (texto das mensagens): 3.", timeout=UI_MS)
        today = page.get_by_test_id("run-row").first
        await expect(today.get_by_test_id("run-counts")).to_contain_text(
            "Conversas de atendimento (texto das mensagens): 3")
        await expect(today).to_contain_text("Concluída")
        assert await _texts(url, ids) == [("", True)] * 3  # rows kept, texts gone

        # The incident register: detected on Friday 6 November 2026 -> due Wednesday 11 November.
        await page.get_by_role("link", name="Incidentes").click()
        await expect(page).to_have_url(base + "/privacidade/incidentes")
        await page.get_by_test_id("incident-title").fill("Planilha de contatos enviada por engano")
        await page.get_by_test_id("incident-description").fill("Planilha com nomes e telefones de pacientes "
                                                               "enviada a um fornecedor.")
        await page.get_by_test_id("incident-severity").select_option("high")
        await page.get_by_test_id("incident-detected").fill("2026-11-06T10:00")
        await page.get_by_test_id("incident-categories").fill("nome, telefone")
        await page.get_by_test_id("incident-save").click()
        await expect(page.get_by_test_id("incidents-status")).to_contain_text(
            "Prazo para comunicar a ANPD: 11/11/2026", timeout=UI_MS)
        row = page.get_by_test_id("incident-row")
        await expect(row).to_have_count(1)
        await expect(row.get_by_test_id("anpd-due")).to_have_text(re.compile(r"^11/11/2026,? 23:59$"))
        await expect(row.get_by_test_id("overdue")).to_have_text("Prazo vencido")
        await row.get_by_test_id("mark-notified").click()
        await expect(row.get_by_test_id("incident-status")).to_have_text("Comunicado à ANPD", timeout=UI_MS)
        await expect(row.get_by_test_id("overdue")).to_have_count(0)
        assert errors == []
    finally:
        await context.close()


async def test_attendant_is_refused_and_the_widget_links_the_notice(privacy_hub: Hub, browser: Browser) -> None:
    base = privacy_hub.url
    errors: list[str] = []
    context, page = await new_page(browser, errors, PAGE_REFUSAL)
    try:
        await sign_in_at(page, base, "/privacidade/retencao", BRUNO, DEMO_PASSWORD, timeout_ms=UI_MS)
        await expect(page.get_by_test_id("retention-forbidden")).to_be_visible()
        await page.goto(base + "/privacidade/incidentes")
        await expect(page.get_by_test_id("incidents-forbidden")).to_be_visible()

        # The demo site's chat widget: its footnote links the public notice (no login needed).
        await page.goto(base + "/")
        await page.locator(".atende-launcher").click()
        link = page.get_by_test_id("atende-privacy-link")
        await expect(link).to_have_text("Aviso de privacidade", timeout=UI_MS)
        assert await link.get_attribute("href") == base + "/privacidade/aviso"
        anonymous = await browser.new_context(locale="pt-BR")
        try:
            notice = await anonymous.new_page()
            await notice.goto(base + "/privacidade/aviso")
            await expect(notice.get_by_role("heading", level=1)).to_contain_text("Clínica Exemplo")
            await expect(notice.get_by_test_id("notice-dpo")).to_have_text("encarregado@clinica.example")
            await expect(notice.get_by_test_id("notice-retention")).to_contain_text("2 anos")
        finally:
            await anonymous.close()
        assert errors == []
    finally:
        await context.close()
