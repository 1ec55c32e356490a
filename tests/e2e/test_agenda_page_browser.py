"""The clinic's agenda on /integracoes in a real browser (Debian chromium via Playwright): a real
hub process on the CalDAV agenda and a real Radicale. The admin points a cardiologist at the
clinic's calendar and saves; the hub then offers that doctor's times from the calendar (a
reception event makes its time busy); "Sincronizar agora" reads the calendar and says what it did."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.support.calendar_reception import Reception
from tests.support.net import free_port
from tests.support.radicale_server import HUB_PASSWORD, HUB_USER, RadicaleServer
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "agenda-admin-password-0123")
NO_REFUSAL = re.compile(r"^$^")


@pytest.fixture(scope="module")
def radicale() -> Iterator[RadicaleServer]:
    with RadicaleServer() as server:
        yield server


@pytest.fixture(scope="module")
def agenda_hub(tmp_path_factory: pytest.TempPathFactory, radicale: RadicaleServer) -> Iterator[Hub]:
    state_dir = tmp_path_factory.mktemp("hub-agenda")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port), "PUBLIC_BASE_URL": base,
           "POLL_INTERVAL_SECONDS": "0.5", "ATTACHMENTS_DIR": str(state_dir / "files"),
           "AGENDA_BACKEND": "caldav", "CALDAV_URL": radicale.url, "CALDAV_USERNAME": HUB_USER,
           "CALDAV_PASSWORD": HUB_PASSWORD, "AGENDA_SYNC_INTERVAL_SECONDS": "3600"}
    proc = start_hub(state_dir, env, "hub-agenda")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _slots(base: str, token: str, doctor_id: int) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        r = await api.get("/api/clinic/slots", params={"doctor_id": str(doctor_id), "limit": "5"},
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        items: list[dict[str, str]] = r.json()
        return items


async def test_admin_points_a_doctor_at_the_clinics_calendar(agenda_hub: Hub, radicale: RadicaleServer,
                                                             browser: Browser) -> None:
    base = agenda_hub.url
    calendar = radicale.make_calendar("dr-ricardo")
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        token = (await api.post("/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})).json()["token"]
        doctors = (await api.get("/api/clinic/doctors", params={"specialty": "cardiologia"},
                                 headers={"Authorization": f"Bearer {token}"})).json()
    doctor = doctors[0]
    errors: list[str] = []
    context, page = await new_page(browser, errors, NO_REFUSAL)
    try:
        await sign_in_at(page, base, "/integracoes", *ADMIN, timeout_ms=UI_MS)
        await expect(page.get_by_test_id("agenda-backend")).to_contain_text("CalDAV", timeout=UI_MS)
        row = page.locator(f'[data-testid="agenda-row"][data-doctor-id="{doctor["id"]}"]')
        await row.get_by_role("textbox", name=f"Agenda de {doctor['name']}").fill(calendar)
        await row.get_by_role("button", name=f"Salvar a agenda de {doctor['name']}").click()
        await expect(page.get_by_test_id("integrations-status")).to_contain_text("salva", timeout=UI_MS)

        # The doctor's times now come from that calendar: a reception event makes its time busy.
        first = (await _slots(base, token, doctor["id"]))[0]
        await Reception(radicale).book(calendar, datetime.fromisoformat(first["start"]),
                                       datetime.fromisoformat(first["end"]))
        assert first["slot_id"] not in {s["slot_id"] for s in await _slots(base, token, doctor["id"])}

        await page.get_by_role("button", name="Sincronizar agora").click()
        await expect(page.get_by_test_id("integrations-status")).to_contain_text("Agenda sincronizada",
                                                                                 timeout=UI_MS)
        await page.reload()
        field = row.get_by_role("textbox", name=f"Agenda de {doctor['name']}")
        await expect(field).to_have_value(calendar, timeout=UI_MS)
        assert not errors, errors
    finally:
        await context.close()
