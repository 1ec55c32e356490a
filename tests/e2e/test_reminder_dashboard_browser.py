"""Reminders on the staff pages in a real browser (Debian chromium via Playwright) against a real
hub process on SQLite (issue 15 item 5), with the known data of tests/metrics/
test_reminder_dashboard.py written relative to the real clock:
- a manager sees the dashboard region "Lembretes e faltas" with those numbers;
- an attendant sees, in the patient card of their conversation, each upcoming appointment's
  reminder history ("Lembrete 24 h enviado · entregue · lido · confirmou")."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from playwright.async_api import Browser, Page, expect

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Patient, StaffUser
from handoff.domain.clinic.calendar import to_clinic
from tests.metrics.test_reminder_dashboard import seed
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 60_000  # the machine is shared and slow
PASSWORD = "senha-lembretes-" + "q" * 8
MANAGER = "gerente.lembretes@clinica.example"
ATTENDANT = "ana.lembretes@clinica.example"


async def _login(page: Page, base: str, path: str, email: str) -> None:
    await page.goto(base + path)
    assert "/login?next=" in page.url
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(re.compile(".*" + re.escape(path.split("?")[0]) + ".*"), timeout=UI_MS)


async def test_manager_dashboard_and_attendant_reminder_history(tmp_path: Path, browser: Browser) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    now = datetime.now(UTC)
    db = Database(url)
    db.connect()
    try:
        pw = PasswordHasher().hash(PASSWORD)
        async with db.session() as s:
            manager = StaffUser(email=MANAGER, name="Gerente Lembretes", role="manager", password_hash=pw,
                                active=True, created_at=now - timedelta(days=90), presence="offline",
                                max_concurrent=4)
            ana = StaffUser(email=ATTENDANT, name="Ana Lembretes", role="attendant", password_hash=pw, active=True,
                            created_at=now - timedelta(days=90), presence="online", max_concurrent=4)
            patient = Patient(display_name="Paciente Lembrete", created_at=now - timedelta(days=60))
            s.add_all([manager, ana, patient])
            await s.flush()
            ident = ChannelIdentity(channel="whatsapp", external_id=f"+55119{uuid.uuid4().int % 10**8:08d}",
                                    patient_id=patient.id, created_at=now - timedelta(days=60))
            s.add(ident)
            await s.flush()
            conv = Conversation(id=str(uuid.uuid4()), patient_id=patient.id, identity_id=ident.id,
                                channel="whatsapp", state="assigned", queue="reception", reason="confirmation",
                                priority="normal", assigned_agent_id=ana.id, assigned_at=now - timedelta(minutes=5),
                                created_at=now - timedelta(hours=1), updated_at=now - timedelta(minutes=5),
                                last_inbound_at=now - timedelta(minutes=30))
            s.add(conv)
            patient_id, conv_id = patient.id, conv.id
        ids = await seed(db, now, patient_id=patient_id)
    finally:
        await db.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": url, "RASA_URL": "http://127.0.0.1:9", "ACTIONS_URL": "http://127.0.0.1:9",
           "CLINIC_ADMIN_PASSWORD": "admin-" + "x" * 16, "POLL_INTERVAL_SECONDS": "0.5", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "REMINDERS_ENABLED": "false", "SEED_DEMO_CLINIC": "false"}
    proc = await asyncio.to_thread(start_hub, tmp_path, env, "hub-reminder-dashboard")
    try:
        errors: list[str] = []
        # The manager: the last 7 clinic days, which hold every seeded send and offer.
        context = await browser.new_context(viewport={"width": 1400, "height": 1100}, locale="pt-BR",
                                            timezone_id="America/Sao_Paulo")
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        first, last = to_clinic(now - timedelta(days=6)).date(), to_clinic(now).date()
        await _login(page, base, f"/dashboard?from={first}&to={last}", MANAGER)
        card = page.get_by_test_id
        await expect(card("kpi-rem-sent-value")).to_have_text("5", timeout=UI_MS)
        await expect(card("kpi-rem-sent-detail")).to_have_text("3 entregues · 1 lido")
        await expect(card("kpi-rem-delivered-value")).to_have_text("3")
        await expect(card("kpi-rem-read-value")).to_have_text("1")
        await expect(card("kpi-rem-confirmation-value")).to_have_text("20,0%")
        await expect(card("kpi-rem-cancelled-value")).to_have_text("3")
        await expect(card("kpi-rem-cancelled-detail")).to_have_text("mediana de 24,0 h antes da consulta")
        await expect(card("kpi-waitlist-refilled-value")).to_have_text("1")
        await expect(card("kpi-waitlist-refilled-detail")).to_have_text("3 ofertas · 1 expirada · 1 recusada")
        await expect(card("kpi-noshow-value")).to_have_text("40,0%")
        await expect(card("kpi-noshow-detail")).to_have_text("2 de 5 · semana anterior 25,0% (+15,0 p.p.)")
        row = page.locator(f'[data-testid="noshow-table"] tr[data-group="specialty"][data-key="{ids.cardio_id}"]')
        await expect(row.locator("td").nth(0)).to_have_text("Cardiologia")
        await expect(row.locator('td[data-week="this"]')).to_have_text("50,0% (2/4)")
        await expect(row.locator('td[data-week="last"]')).to_have_text("33,3% (1/3)")
        await expect(row.locator('td[data-week="delta"]')).to_have_text("+16,7 p.p.")
        doctor = page.locator(f'[data-testid="noshow-table"] tr[data-group="doctor"][data-key="{ids.rui_id}"]')
        await expect(doctor.locator("td").nth(0)).to_have_text("Dr. Rui Alves")
        await expect(doctor.locator('td[data-week="this"]')).to_have_text("0,0% (0/1)")
        assert await page.locator('[data-testid="noshow-table"] tr[data-group="weekday"]').count() >= 1
        await page.screenshot(path=str(tmp_path / "reminder-dashboard.png"), full_page=True)
        await context.close()

        # The attendant: their conversation's patient card lists the upcoming appointments (A1
        # confirmed, A5 scheduled; the cancelled ones are not upcoming) with their reminders.
        context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="pt-BR",
                                            timezone_id="America/Sao_Paulo")
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await _login(page, base, f"/inbox?c={conv_id}", ATTENDANT)
        a1 = page.locator(f'[data-testid="appt-reminders"][data-appointment="{ids.upcoming["A1"]}"]')
        await expect(a1.get_by_test_id("appt-reminder")).to_have_text(
            ["Lembrete 24 h enviado · entregue · lido · confirmou"], timeout=UI_MS)
        a5 = page.locator(f'[data-testid="appt-reminders"][data-appointment="{ids.upcoming["A5"]}"]')
        await expect(a5.get_by_test_id("appt-reminder")).to_have_text(["Lembrete 24 h enviado"])
        await expect(page.locator('[data-testid="appt-reminders"]')).to_have_count(2)
        await page.screenshot(path=str(tmp_path / "reminder-inbox.png"), full_page=True)
        await context.close()
        assert not errors, errors
    finally:
        await asyncio.to_thread(proc.kill)
