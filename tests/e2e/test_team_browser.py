"""The admin's team page (/equipe) in a real browser (Debian chromium via Playwright) against a real
hub process on SQLite with the demo team seeded. No bot: the hub's RASA_URL points nowhere, which
the team page never needs. The admin signs in through /login, sees the demo team, creates an
account (the API's refusals shown in pt-BR next to the form), changes its capacity, resets its
password, deactivates a demo attendant after the confirm dialog (who can then no longer sign in,
checked through the API) and reactivates her; an attendant opening /equipe is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "team-admin-password-0123")
DEMO_PASSWORD = "team-demo-password-0123"
ANA = "ana@clinica.example"
BRUNO = "bruno@clinica.example"
PAULA = {"name": "Paula Ribeiro", "email": "paula@clinica.example", "password": "paula-senha-forte-123"}
# Chromium logs every refused load ("Failed to load resource: … status of 409 (Conflict)"): the
# refusals each test provokes on purpose are these, nothing else may reach the console.
API_REFUSALS = re.compile(r"^Failed to load resource: the server responded with a status of (400|409) ")
PAGE_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 403 ")


@pytest.fixture(scope="module")
def team_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub process with its own SQLite file, the admin and the demo team; the bot is a dead address."""
    state_dir = tmp_path_factory.mktemp("hub-team")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "POLL_INTERVAL_SECONDS": "0.5"}
    proc = start_hub(state_dir, env, "hub-team")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def login_status(base: str, email: str, password: str) -> int:
    """The status of `POST /api/auth/login` (200 or 401)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        return (await api.post("/api/auth/login", json={"email": email, "password": password})).status_code


async def api_token(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        r = await api.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])


async def me_status(base: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        return (await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code


async def account(base: str, admin_token: str, email: str) -> dict[str, Any]:
    """One account as `GET /api/staff` shows it to the admin."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        r = await api.get("/api/staff", headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200, r.text
        found = [a for a in r.json() if a["email"] == email]
        assert len(found) == 1, r.json()
        return dict(found[0])


async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Sign in through /login?next=/equipe."""
    await sign_in_at(page, base, "/equipe", email, password, UI_MS)


def row(page: Page, email: str) -> Locator:
    return page.locator(f'[data-testid="staff-row"][data-email="{email}"]')


async def test_attendant_is_refused(team_hub: Hub, browser: Browser) -> None:
    errors: list[str] = []
    context, page = await new_page(browser, errors, PAGE_REFUSAL)
    try:
        await sign_in(page, team_hub.url, BRUNO, DEMO_PASSWORD)
        await expect(page.get_by_role("heading", name="Acesso restrito")).to_be_visible()
        await expect(page.get_by_test_id("team-forbidden")).to_contain_text(
            "acessível somente a administradores")
        await expect(page.get_by_test_id("staff-row")).to_have_count(0)
        await page.goto(team_hub.url + "/inbox")
        await expect(page.get_by_test_id("me-name")).to_have_text("Bruno Lima", timeout=UI_MS)  # profile applied
        await expect(page.get_by_test_id("dashboard-link")).to_be_hidden()
        await expect(page.get_by_test_id("team-link")).to_be_hidden()
        direct = await context.request.get(team_hub.url + "/equipe", max_redirects=0)
        assert direct.status == 403
        assert "Bruno" not in await direct.text() and "ana@clinica" not in await direct.text()
        anonymous = await browser.new_context()
        try:
            bare = await anonymous.request.get(team_hub.url + "/equipe", max_redirects=0)
            assert bare.status == 302 and bare.headers["location"] == "/login?next=%2Fequipe"
        finally:
            await anonymous.close()
        assert errors == []
    finally:
        await context.close()


async def test_admin_manages_the_team(team_hub: Hub, browser: Browser, artifacts: Path) -> None:
    base = team_hub.url
    admin_token = await api_token(base, *ADMIN)
    errors: list[str] = []
    context, page = await new_page(browser, errors, API_REFUSALS)
    try:
        await sign_in(page, base, *ADMIN)
        await expect(page).to_have_title("Equipe — atende")
        await expect(page.get_by_role("heading", name="Equipe", level=1)).to_be_visible()
        served = await context.request.get(base + "/equipe")
        assert served.status == 200 and "script-src 'self'" in served.headers["content-security-policy"]

        # The demo team and the admin, with role, queues, capacity, presence and access.
        await expect(page.get_by_test_id("staff-row")).to_have_count(5, timeout=UI_MS)
        ana = row(page, ANA)
        await expect(ana.locator('[data-col="name"]')).to_have_text("Ana Souza")
        await expect(ana.locator('[data-col="role"]')).to_have_text("Atendente")
        await expect(ana.locator('[data-col="queues"]')).to_contain_text("Recepção, Financeiro")
        await expect(ana.locator('[data-col="capacity"]')).to_contain_text("até 4 conversas")
        await expect(ana.locator('[data-col="presence"]')).to_have_text("Offline")
        await expect(ana.locator('[data-col="active"]')).to_have_text("Ativo")
        await expect(row(page, "gerente@clinica.example").locator('[data-col="role"]')).to_have_text("Gestor")
        me = row(page, ADMIN[0])
        await expect(me.locator('[data-col="name"]')).to_have_text("Administrador (você)")
        await expect(me.locator('[data-col="queues"]')).to_have_text("Todas as filas")

        # Create an account; the queue choices come from the accounts (the admin has every queue).
        create = page.get_by_test_id("create-form")
        await expect(create.get_by_role("checkbox")).to_have_count(5)
        await create.get_by_label("Nome", exact=True).fill(PAULA["name"])
        await create.get_by_label("E-mail").fill(PAULA["email"])
        await create.get_by_label("Papel").select_option("attendant")
        await create.get_by_label("Senha inicial").fill(PAULA["password"])
        await create.get_by_role("checkbox", name="Recepção (reception)").check()
        await create.get_by_role("checkbox", name="Exames (exams)").check()
        await create.get_by_label("Outras filas").fill("farmacia")
        await create.get_by_label("Habilidades").fill("insurer:unimed")
        await create.get_by_label("Conversas simultâneas (máx.)").fill("3")
        error = page.get_by_test_id("create-error")
        await create.get_by_role("button", name="Criar conta").click()
        await expect(error).to_have_text("Fila desconhecida: farmacia. Use somente filas configuradas na clínica.")
        await create.get_by_label("Outras filas").fill("")
        await create.get_by_label("Habilidades").fill("convenio unimed")
        await create.get_by_role("button", name="Criar conta").click()
        await expect(error).to_contain_text("Habilidades inválidas: use tipo:valor")
        await create.get_by_label("Habilidades").fill("insurer:unimed")
        await create.get_by_label("E-mail").fill(ANA)
        await create.get_by_role("button", name="Criar conta").click()
        await expect(error).to_have_text("Já existe uma conta com este e-mail.")
        await create.get_by_label("E-mail").fill(PAULA["email"])
        await create.get_by_role("button", name="Criar conta").click()
        await expect(page.get_by_test_id("team-status")).to_have_text("Conta de Paula Ribeiro criada.")
        await expect(error).to_be_hidden()
        paula = row(page, PAULA["email"])
        await expect(paula.locator('[data-col="queues"]')).to_contain_text("Recepção, Exames")
        await expect(paula.locator('[data-col="capacity"]')).to_contain_text("até 3 conversas")
        await expect(page.get_by_test_id("staff-row")).to_have_count(6)
        assert await login_status(base, PAULA["email"], PAULA["password"]) == 200

        # Change her capacity (and a per-channel cap) in the edit dialog.
        await page.get_by_role("button", name="Editar Paula Ribeiro").click()
        edit = page.get_by_role("dialog", name="Editar Paula Ribeiro")
        await expect(edit).to_be_visible()
        await expect(edit.get_by_role("checkbox", name="Recepção (reception)")).to_be_checked()
        await expect(edit.get_by_role("checkbox", name="Plantão (on_call)")).not_to_be_checked()
        await edit.get_by_label("Conversas simultâneas (máx.)").fill("6")
        await edit.get_by_label("Limite por canal").fill("whatsapp=2")
        await edit.get_by_role("button", name="Salvar").click()
        await expect(edit).to_be_hidden()
        await expect(paula.locator('[data-col="capacity"]')).to_contain_text("até 6 conversas")
        await expect(paula.locator('[data-col="capacity"]')).to_contain_text("WhatsApp até 2")
        stored = await account(base, admin_token, PAULA["email"])
        assert (stored["max_concurrent"], stored["max_per_channel"]) == (6, {"whatsapp": 2})
        assert (stored["queues_configured"], stored["skills"], stored["role"]) == (
            ["reception", "exams"], ["insurer:unimed"], "attendant")

        # Reset her password: the old one stops working.
        await page.get_by_role("button", name="Redefinir senha de Paula Ribeiro").click()
        reset = page.get_by_role("dialog", name="Redefinir senha de Paula Ribeiro")
        await reset.get_by_label("Nova senha").fill("curta")
        await reset.get_by_role("button", name="Redefinir senha").click()
        await expect(page.get_by_test_id("password-error")).to_have_text(
            "A nova senha precisa ter pelo menos 10 caracteres.")
        await reset.get_by_label("Nova senha").fill("paula-nova-senha-456")
        await reset.get_by_role("button", name="Redefinir senha").click()
        await expect(reset).to_be_hidden()
        await expect(page.get_by_test_id("team-status")).to_contain_text("Senha de Paula Ribeiro redefinida")
        assert await login_status(base, PAULA["email"], PAULA["password"]) == 401
        assert await login_status(base, PAULA["email"], "paula-nova-senha-456") == 200

        # The admin cannot deactivate themself: the API's 409 in pt-BR inside the dialog.
        await page.get_by_role("button", name="Desativar Administrador").click()
        confirm = page.get_by_role("alertdialog", name="Desativar Administrador?")
        await confirm.get_by_role("button", name="Desativar").click()
        await expect(page.get_by_test_id("deactivate-error")).to_have_text(
            "Você não pode remover o seu próprio acesso de administrador.")
        await confirm.get_by_role("button", name="Cancelar").click()
        await expect(confirm).to_be_hidden()
        await expect(me.locator('[data-col="active"]')).to_have_text("Ativo")

        # Deactivate Ana: cancelling changes nothing; confirming ends her session and her access.
        ana_token = await api_token(base, ANA, DEMO_PASSWORD)
        assert await me_status(base, ana_token) == 200
        await page.get_by_role("button", name="Desativar Ana Souza").click()
        confirm = page.get_by_role("alertdialog", name="Desativar Ana Souza?")
        await expect(confirm).to_contain_text("As conversas com essa pessoa voltam para a fila.")
        await expect(confirm.get_by_role("button", name="Cancelar")).to_be_focused()
        await confirm.get_by_role("button", name="Cancelar").click()
        await expect(confirm).to_be_hidden()
        assert (await account(base, admin_token, ANA))["active"] is True
        await page.get_by_role("button", name="Desativar Ana Souza").click()
        await confirm.get_by_role("button", name="Desativar").click()
        await expect(confirm).to_be_hidden()
        await expect(ana).to_have_attribute("data-active", "false")
        await expect(ana.locator('[data-col="active"]')).to_have_text("Desativado")
        await expect(page.get_by_test_id("team-status")).to_have_text(
            "Conta de Ana Souza desativada. As conversas dessa pessoa voltaram para a fila.")
        assert (await account(base, admin_token, ANA))["active"] is False
        assert await me_status(base, ana_token) == 401
        assert await login_status(base, ANA, DEMO_PASSWORD) == 401
        await page.reload()
        await expect(row(page, ANA).locator('[data-col="active"]')).to_have_text("Desativado", timeout=UI_MS)

        # Reactivated, she can sign in again.
        await page.get_by_role("button", name="Reativar Ana Souza").click()
        await expect(row(page, ANA).locator('[data-col="active"]')).to_have_text("Ativo")
        assert await login_status(base, ANA, DEMO_PASSWORD) == 200

        await page.screenshot(path=str(artifacts / "team.png"), full_page=True)
        # The inbox links here for admins only.
        await page.goto(base + "/inbox")
        await expect(page.get_by_test_id("team-link")).to_be_visible(timeout=UI_MS)
        await page.get_by_test_id("team-link").click()
        await expect(page).to_have_url(base + "/equipe", timeout=UI_MS)
        assert errors == []
    finally:
        await context.close()
