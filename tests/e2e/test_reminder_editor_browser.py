"""The reminder editor on /lembretes in a real browser (Debian chromium via Playwright) against a
real hub process on a SQLite file. A manager edits the 24 h text; the preview follows the draft
per channel (WhatsApp buttons, SMS numbered options, e-mail confirm link); saves it; sends
themself the test e-mail (the sandbox's stand-in mail server); the next 24 h reminder the
service sends (on the same database, with the test's clock) says the new text. An attendant gets
the 403 page and the API refuses them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from handoff.adapters.sql.models import Message
from handoff.runtime import HubRuntime
from handoff.services import staff as staff_service
from handoff.settings import Settings
from tests.conftest import Backend
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.reminders.conftest import NOW, add_clinic, local, seed_appointment, seed_patient
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "lembretes-admin-password-0123")
MANAGER = ("gestora@clinica.example", "gestora-senha-lembretes-01")
ATTENDANT = ("atendente@clinica.example", "atendente-senha-lembretes-01")
BAD_DRAFT = re.compile(r".*status of 400.*")  # the preview of the draft with an unknown placeholder
FORBIDDEN_CONSOLE = re.compile(r".*(403|Forbidden).*")
NEW_TEXT = "Olá {nome}! Sua consulta de {especialidade} é {quando}, com {medico}."


@pytest.fixture(scope="module")
def reminder_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state_dir = tmp_path_factory.mktemp("hub-reminders")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "SEED_DEMO_CLINIC": "false", "HUB_PORT": str(port), "PUBLIC_BASE_URL": base,
           "CHANNEL_SANDBOX": "true", "REMINDERS_ENABLED": "false", "POLL_INTERVAL_SECONDS": "0.5",
           "ATTACHMENTS_DIR": str(state_dir / "files")}
    proc = start_hub(state_dir, env, "hub-reminders")
    yield Hub(proc, env, state_dir)
    proc.kill()


def _runtime_settings(hub: Hub) -> Settings:
    """The test's own runtime on the hub's database (no workers: the test drives the service)."""
    return Settings(_env_file=None, database_url=hub.env["DATABASE_URL"], rasa_url="http://127.0.0.1:9",  # type: ignore[call-arg]
                    public_base_url=hub.url, seed_demo_clinic=False, reminders_enabled=False,
                    clinic_admin_password=ADMIN[1], channel_sandbox=False)


async def test_manager_edits_the_24h_text_and_the_next_reminder_says_it(reminder_hub: Hub, browser: Browser,
                                                                       artifacts: Path) -> None:
    base = reminder_hub.url
    rt = await HubRuntime.open(_runtime_settings(reminder_hub))
    try:
        world = await add_clinic(rt, Backend("sqlite", reminder_hub.env["DATABASE_URL"], None))
        await staff_service.create_staff(rt.uow, MANAGER[0], "Gestora", "manager", MANAGER[1])
        await staff_service.create_staff(rt.uow, ATTENDANT[0], "Atendente", "attendant", ATTENDANT[1],
                                         queues=("reception",))

        errors: list[str] = []
        context, page = await new_page(browser, errors, BAD_DRAFT)
        try:
            await sign_in_at(page, base, "/lembretes", *MANAGER, timeout_ms=UI_MS)
            await expect(page.get_by_test_id("kind")).to_have_value("24h", timeout=UI_MS)
            await expect(page.get_by_test_id("text-origin")).to_contain_text("padrão")
            await expect(page.get_by_role("region", name="Modelo aprovado do WhatsApp")).to_contain_text(
                "não pode editá-lo")
            await expect(page.get_by_test_id("template-body")).to_contain_text("Olá {{1}}, lembrete da sua consulta")
            # the built-in text previewed, WhatsApp first
            preview = page.get_by_test_id("preview-text")
            await expect(preview).to_contain_text("Olá, Maria! Lembrete da sua consulta", timeout=UI_MS)

            await page.get_by_test_id("body").fill(NEW_TEXT)
            await expect(preview).to_contain_text("Olá Maria! Sua consulta de Cardiologia é ", timeout=UI_MS)
            await expect(page.get_by_test_id("preview-buttons").get_by_role("listitem")).to_have_text(
                ["Confirmar", "Cancelar", "Remarcar"])
            await page.get_by_role("radio", name="SMS").check()
            await expect(preview).to_contain_text("1. Confirmar", timeout=UI_MS)
            await expect(preview).to_contain_text("Olá Maria! Sua consulta de Cardiologia")
            await expect(page.get_by_test_id("preview-buttons").get_by_role("listitem")).to_have_count(0)
            await page.get_by_role("radio", name="E-mail").check()
            await expect(preview).to_contain_text("/lembrete/exemplo/confirmar", timeout=UI_MS)

            # an unknown placeholder is named in the error
            await page.get_by_test_id("body").fill("Olá {paciente}")
            await expect(page.get_by_test_id("reminders-error")).to_contain_text("{paciente}", timeout=UI_MS)
            await page.get_by_test_id("body").fill(NEW_TEXT)
            await expect(preview).to_contain_text("Olá Maria! Sua consulta", timeout=UI_MS)

            await page.get_by_test_id("save-text").click()
            await expect(page.get_by_test_id("reminders-status")).to_contain_text("Texto salvo", timeout=UI_MS)
            await expect(page.get_by_test_id("text-origin")).to_contain_text("Texto da clínica")
            await page.screenshot(path=str(artifacts / "reminder-editor.png"), full_page=True)

            await page.get_by_test_id("send-test").click()
            await expect(page.get_by_test_id("reminders-status")).to_contain_text(
                f"E-mail de teste enviado para {MANAGER[0]}", timeout=UI_MS)
            assert not errors, errors
        finally:
            await context.close()

        # The next 24 h reminder (service level, the test's clock) says the saved text.
        pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
        await seed_appointment(world, pid, local(9, 9, 30))  # Wednesday 09:30
        tomorrow = local(8, 9, 31)  # the 48 h one is stale by now; the 24 h one is due
        await world.service.plan(tomorrow)
        assert await world.service.send_due(tomorrow) == {"skipped_stale": 1, "sent": 1}
        async with rt.db.session() as s:
            (msg,) = (await s.execute(select(Message).where(Message.conversation_id == conv,
                                                            Message.direction == "out"))).scalars()
        assert msg.text == ("Olá Maria! Sua consulta de Cardiologia é quarta-feira, 09/12, às 09:30, "
                            "com Dra. Helena Prado.")
    finally:
        await rt.close()

    # An attendant: the 403 page, and the API refuses.
    errors = []
    context, page = await new_page(browser, errors, FORBIDDEN_CONSOLE)
    try:
        await sign_in_at(page, base, "/lembretes", *ATTENDANT, timeout_ms=UI_MS)
        await expect(page.get_by_test_id("reminders-forbidden")).to_be_visible(timeout=UI_MS)
        assert not errors, errors
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        token = (await api.post("/api/auth/login", json={"email": ATTENDANT[0], "password": ATTENDANT[1]})).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        assert (await api.get("/api/reminders/texts", headers=headers)).status_code == 403
        r = await api.put("/api/reminders/texts", headers=headers, json={"kind": "24h", "body": "x"})
        assert r.status_code == 403
