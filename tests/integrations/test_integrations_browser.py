"""The delivery log in a real browser (Debian chromium via Playwright) against a real hub process
(`python -m handoff`, SQLite, demo clinic and team) whose interaction register sends to a local
CRM receiver: a resolved conversation's record fails (the CRM is down) until it is dead; the
manager sees it on /integracoes (reached from the inbox's nav), presses "Reenviar" once the CRM is
back, and it is delivered, signed; an attendant is refused the page. The hub's log carries none of
the patient's data."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import (
    AuditLog,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    ConversationEvent,
    Message,
    Patient,
)
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.integrations.conftest import SECRET, Receiver
from tests.support.log_scan import leaks_in_files
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
DEMO_PASSWORD = "integracoes-demo-password-0123"
MANAGER, BRUNO = "gerente@clinica.example", "bruno@clinica.example"
PAGE_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 403 ")
NO_REFUSAL = re.compile(r"^$^")
PATIENT_TEXT = "minha pressao esta alta desde ontem"
PHONE = "+5511987650001"


@pytest.fixture(scope="module")
def crm() -> Iterator[Receiver]:
    receiver = Receiver(SECRET)  # not listening until the test says so
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def integrations_hub(tmp_path_factory: pytest.TempPathFactory, crm: Receiver) -> Iterator[Hub]:
    """A hub process with the demo team, sending records to `crm` (one attempt, then dead)."""
    state_dir = tmp_path_factory.mktemp("hub-integrations")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": "admin@clinica.example",
           "CLINIC_ADMIN_PASSWORD": "integracoes-admin-password-0123", "DEMO_STAFF_PASSWORD": DEMO_PASSWORD,
           "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port), "PUBLIC_BASE_URL": base,
           "POLL_INTERVAL_SECONDS": "0.5", "ATTACHMENTS_DIR": str(state_dir / "files"),
           "CRM_WEBHOOK_URL": crm.url, "CRM_WEBHOOK_SECRET": SECRET, "INTERACTION_MAX_ATTEMPTS": "1",
           "INTERACTION_POLL_SECONDS": "0.3"}
    proc = start_hub(state_dir, env, "hub-integrations")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _resolved_conversation(url: str) -> tuple[str, int]:
    """A WhatsApp conversation handed off and resolved a minute ago, with the patient's consent."""
    db = Database(url)
    db.connect()
    at = datetime.now(UTC) - timedelta(minutes=2)
    try:
        async with db.session() as s:
            p = Patient(display_name="Paciente Integração", phone=PHONE, created_at=at)
            s.add(p)
            await s.flush()
            ident = ChannelIdentity(channel="whatsapp", external_id=PHONE, patient_id=p.id, created_at=at)
            s.add(ident)
            await s.flush()
            conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel="whatsapp",
                                state="resolved", reason="other", priority="normal", bot_failures=0,
                                created_at=at, updated_at=at, outcome="resolved", resolved_at=at)
            s.add(conv)
            await s.flush()
            s.add_all([
                ConsentRow(patient_id=p.id, granted=True, version="privacidade-v1", created_at=at),
                Message(conversation_id=conv.id, direction="in", sender="patient", channel="whatsapp",
                        provider_message_id=uuid.uuid4().hex, text=PATIENT_TEXT, payload={}, status="processed",
                        attempts=0, reason="other", created_at=at),
                ConversationEvent(conversation_id=conv.id, type="handoff", actor="bot", data={},
                                  created_at=at + timedelta(seconds=5)),
                ConversationEvent(conversation_id=conv.id, type="resolved", actor="system",
                                  data={"outcome": "resolved"}, created_at=at + timedelta(seconds=60)),
            ])
            return conv.id, p.id
    finally:
        await db.close()


async def _replay_audits(url: str) -> list[tuple[str | None, int | None]]:
    db = Database(url)
    db.connect()
    try:
        async with db.session() as s:
            rows = (await s.execute(select(AuditLog).where(AuditLog.action == "integrations.replay"))).scalars()
            return [(a.subject, a.patient_id) for a in rows]
    finally:
        await db.close()


async def test_manager_sees_a_dead_delivery_and_replays_it(integrations_hub: Hub, crm: Receiver,
                                                           browser: Browser) -> None:
    base, url = integrations_hub.url, integrations_hub.env["DATABASE_URL"]
    conv_id, patient_id = await _resolved_conversation(url)
    errors: list[str] = []
    context, page = await new_page(browser, errors, NO_REFUSAL)
    try:
        await sign_in_at(page, base, "/inbox", MANAGER, DEMO_PASSWORD, timeout_ms=UI_MS)
        link = page.get_by_test_id("integrations-link")
        await expect(link).to_be_visible(timeout=UI_MS)
        await link.click()
        await expect(page).to_have_url(base + "/integracoes")
        row = page.get_by_test_id("delivery-row")
        deadline = time.monotonic() + 30
        while await row.count() == 0 or await row.first.get_attribute("data-status") != "dead":
            assert time.monotonic() < deadline, "the record never went dead while the CRM was down"
            await page.get_by_test_id("refresh").click()
            await page.wait_for_timeout(300)
        await expect(row).to_have_count(1)
        await expect(row.get_by_test_id("delivery-status")).to_have_text("Falhou")
        await expect(row.get_by_test_id("delivery-attempts")).to_have_text("1")
        await expect(row.get_by_test_id("delivery-last")).to_have_text("ConnectError")
        await expect(row).to_contain_text("WhatsApp · resolvido por atendente")
        assert await row.get_by_role("link", name="ver conversa").get_attribute("href") == f"{base}/inbox?c={conv_id}"

        crm.start()  # the CRM is back
        await row.get_by_test_id("replay").click()
        await expect(page.get_by_test_id("integrations-status")).to_contain_text("será reenviado", timeout=UI_MS)
        deadline = time.monotonic() + 30
        while await row.first.get_attribute("data-status") != "delivered":
            assert time.monotonic() < deadline, "the replayed record was not delivered"
            await page.get_by_test_id("refresh").click()
            await page.wait_for_timeout(300)
        await expect(row.get_by_test_id("delivery-status")).to_have_text("Entregue")
        await expect(row.get_by_test_id("delivery-attempts")).to_have_text("1 (reenviado 1×)")
        await expect(row.get_by_test_id("delivery-last")).to_have_text("HTTP 200")
        assert errors == []
    finally:
        await context.close()
    [got] = crm.accepted  # signed with the shared secret (the receiver checked it)
    assert got["body"]["conversation_id"] == conv_id and got["body"]["outcome"] == "resolvido_por_atendente"
    assert PATIENT_TEXT not in got["raw"].decode()
    assert await _replay_audits(url) == [(f"interaction_delivery:{got['body']['delivery_id']}", patient_id)]
    logs = sorted(integrations_hub.state_dir.glob("hub*.log"))
    assert logs and leaks_in_files(logs, [PATIENT_TEXT, PHONE, PHONE[3:], SECRET]) == []


async def test_an_attendant_is_refused_the_page(integrations_hub: Hub, browser: Browser) -> None:
    errors: list[str] = []
    context, page = await new_page(browser, errors, PAGE_REFUSAL)
    try:
        await sign_in_at(page, integrations_hub.url, "/integracoes", BRUNO, DEMO_PASSWORD, timeout_ms=UI_MS)
        await expect(page.get_by_test_id("integrations-forbidden")).to_be_visible()
        assert errors == []
    finally:
        await context.close()
