"""The manager dashboard in a real browser (Debian chromium via Playwright) against a real hub
process on SQLite holding the hand-built scenario (tests/metrics/scenario.py): the page needs a
session, shows the scenario's figures in its KPI cards and hand-drawn SVG charts, and moves
when the operation changes (staff WebSocket event, or its 15 s polling fallback)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import Conversation, StaffUser
from tests.metrics import scenario
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 60_000  # generous: the machine is shared and slow


async def _attr(page: Page, selector: str, name: str) -> str | None:
    return await page.locator(selector).first.get_attribute(name, timeout=UI_MS)


async def test_manager_dashboard_in_chromium(tmp_path: Path, browser: Browser) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    db.connect()
    try:
        sc = await scenario.load(db)
        async with db.session() as s:
            # The live hub's workers must leave "now" alone: nobody online (no assignment), and no
            # held conversation whose offline agent would get it requeued.
            await s.execute(update(StaffUser).values(presence="offline"))
            held = [sc.conversations[k] for k in ("C16", "C17", "C18")]
            await s.execute(update(Conversation).where(Conversation.id.in_(held))
                            .values(state="bot", assigned_agent_id=None))
    finally:
        await db.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": url, "RASA_URL": "http://127.0.0.1:9", "ACTIONS_URL": "http://127.0.0.1:9",
           "CLINIC_ADMIN_PASSWORD": "admin-" + "x" * 16, "POLL_INTERVAL_SECONDS": "0.5", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "ASSIGNMENT_INTERVAL_SECONDS": "2", "SLA_MONITOR_INTERVAL_SECONDS": "2"}
    proc = await asyncio.to_thread(start_hub, tmp_path, env, "hub-dashboard")
    try:
        context = await browser.new_context(viewport={"width": 1400, "height": 1100}, locale="pt-BR",
                                            timezone_id="America/Sao_Paulo")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Without a session the page sends the browser to the sign-in page, which comes back with
        # the session cookie (HttpOnly, set by POST /api/auth/login) to the same dashboard URL.
        wanted = f"/dashboard?from={scenario.FROM}&to={scenario.TO}&answer_seconds=60"
        await page.goto(base + wanted)
        assert "/login?next=%2Fdashboard" in page.url
        await page.get_by_test_id("login-email").fill(scenario.MANAGER_EMAIL)
        await page.get_by_test_id("login-password").fill(scenario.PASSWORD)
        await page.get_by_test_id("login-submit").click()
        await page.wait_for_url(re.compile(r".*/dashboard\?from=2025-03-10&to=2025-03-23.*"), timeout=UI_MS)
        assert any(c["name"] == "atende_session" and c["httpOnly"] for c in await context.cookies())

        card = page.get_by_test_id
        await expect(card("kpi-tmr-value")).to_have_text("17 min 24 s", timeout=UI_MS)  # 1044 s
        await expect(card("kpi-tmr-detail")).to_contain_text("mediana 10 min 00 s · p90 38 min 00 s")
        expected = {
            "handoffs": "7", "asa": "50 s", "aht": "37 min 18 s", "resolution": "71,4%", "fcr": "80,0%",
            "sla": "75,0%", "contacts": "15", "containment": "53,3%", "conversion": "66,7%", "csat": "4,00",
            "nps": "33", "queue": "2",
        }
        for key, text in expected.items():
            await expect(card(f"kpi-{key}-value")).to_have_text(text)
        await expect(card("range-from")).to_have_value(scenario.FROM)
        await expect(card("range-to")).to_have_value(scenario.TO)

        # Charts: hand-drawn SVG carrying their numbers.
        heat = '[data-testid="chart-heatmap"] rect'
        assert await _attr(page, f'{heat}[data-wd="4"][data-hour="22"]', "data-value") == "1"  # Fri 22h, not Sat 01h
        assert await _attr(page, f'{heat}[data-wd="5"][data-hour="1"]', "data-value") == "0"
        assert await page.locator(f'{heat}:not([data-value="0"])').count() == 15
        assert await page.locator(heat).count() == 7 * 24
        bars = '[data-testid="chart-reasons"] rect'
        assert await _attr(page, f'{bars}[data-reason="booking"][data-series="contacts"]', "data-value") == "6"
        assert await _attr(page, f'{bars}[data-reason="billing"][data-series="handoffs"]', "data-value") == "1"
        dots = '[data-testid="chart-hourly"] circle'
        assert await _attr(page, f'{dots}[data-series="contacts"][data-hour="9"]', "data-value") == "3"
        assert await page.locator('[data-testid="chart-hourly"] polyline').count() == 2
        staffing = '[data-testid="staffing-table"] td'
        assert await _attr(page, f'{staffing}[data-wd="0"][data-hour="9"]', "data-agents") == "2"
        assert await _attr(page, f'{staffing}[data-wd="0"][data-hour="9"]', "class") == "has"
        href = await card("csv-export").get_attribute("href")
        assert href is not None and "from=2025-03-10" in href and "to=2025-03-23" in href
        await expect(card("live-status")).to_have_attribute("data-mode", re.compile("^(socket|polling)$"),
                                                            timeout=UI_MS)
        await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # The dashboard moves: the manager closes one of the two waiting conversations (API).
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            login = await api.post("/api/auth/login", json={"email": scenario.MANAGER_EMAIL,
                                                            "password": scenario.PASSWORD})
            assert login.status_code == 200, login.text
            api.headers["Authorization"] = f"Bearer {login.json()['token']}"
            api.cookies.clear()
            r = await api.post(f"/api/conversations/{sc.conversations['C7']}/resolve", json={"outcome": "resolved"})
            assert r.status_code == 200, r.text
        await expect(card("kpi-queue-value")).to_have_text("1", timeout=UI_MS)

        # The date picker: one day (Saturday 15) — E8 and E6's CSAT answer without NPS.
        await card("range-from").fill("2025-03-15")
        await card("range-to").fill("2025-03-15")
        await card("range-apply").click()
        await expect(card("kpi-handoffs-value")).to_have_text("1", timeout=UI_MS)
        await expect(card("kpi-nps-value")).to_have_text("—")
        await expect(card("kpi-nps-detail")).to_have_text("sem respostas de NPS")
        assert "from=2025-03-15" in page.url
        assert not errors, errors
        await context.close()
    finally:
        await asyncio.to_thread(proc.kill)
