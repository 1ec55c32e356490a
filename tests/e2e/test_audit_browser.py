"""The audit viewer (/auditoria) and the inbox's access-reason prompt in a real browser (Debian
chromium via Playwright) against a real hub process on SQLite with the demo team seeded; no bot.

- The admin filters the audit log, pages through it and exports the CSV with a reason; the
  viewing and the export are themselves in the log. An attendant gets the 403 page.
- An attendant of another queue granted `all_queues` opens a reception conversation from a link:
  the inbox asks for the reason (a prompt), the conversation opens, its attachment link carries
  the reason, and the audit log holds it with the patient.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Dialog, expect

from handoff.adapters.sql.database import Database
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.handoff.test_authorization_matrix import insert_subject
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "audit-admin-password-0123")
DEMO_PASSWORD = "audit-demo-password-0123"
DORA = ("dora@clinica.example", "dora-senha-forte-0123")
PAGE_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 403 ")
NOTHING = re.compile(r"$^")
BAD_FILTER = re.compile(r"^Failed to load resource: the server responded with a status of 400 ")
REASON_AND_THUMBNAIL = re.compile(r"^Failed to load resource: the server responded with a status of (403|404) ")


@pytest.fixture(scope="module")
def audit_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state_dir = tmp_path_factory.mktemp("hub-audit")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "POLL_INTERVAL_SECONDS": "0.5"}
    proc = start_hub(state_dir, env, "hub-audit")
    yield Hub(proc, env, state_dir)
    proc.kill()


@pytest.fixture
async def db(audit_hub: Hub) -> AsyncIterator[Database]:
    database = Database(audit_hub.env["DATABASE_URL"])
    database.connect()
    yield database
    await database.close()


async def _api(base: str, email: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    r = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.cookies.clear()
    return client


async def _audit(base: str, **params: Any) -> list[dict[str, Any]]:
    admin = await _api(base, *ADMIN)
    try:
        r = await admin.get("/api/audit", params={"limit": 500, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])
    finally:
        await admin.aclose()


async def test_the_privacy_officer_reads_filters_and_exports_the_audit_log(audit_hub: Hub, browser: Browser) -> None:
    base = audit_hub.url
    errors: list[str] = []
    context, page = await new_page(browser, errors, BAD_FILTER)  # the malformed filter provoked below
    try:
        await sign_in_at(page, base, "/auditoria", *ADMIN, timeout_ms=UI_MS)
        rows = page.get_by_test_id("audit-row")
        await expect(rows.first).to_be_visible(timeout=UI_MS)
        await expect(page.get_by_test_id("me-name")).to_have_text("Administrador")
        # Filter by action: only the logins are left.
        await page.get_by_label("Ação", exact=True).fill("login")
        await page.get_by_test_id("audit-search").click()
        await expect(page.get_by_test_id("audit-status")).to_contain_text("registro(s)", timeout=UI_MS)
        actions = await page.locator('[data-testid="audit-row"] td[data-col="action"]').all_text_contents()
        assert actions and set(actions) == {"login"}, actions
        # A malformed filter is refused in pt-BR, in the page.
        await page.get_by_label("Paciente (id)").fill("abc")
        await page.get_by_test_id("audit-search").click()
        await expect(page.get_by_test_id("audit-error")).to_have_text("paciente inválido", timeout=UI_MS)
        await page.get_by_test_id("audit-clear").click()
        await expect(page.get_by_test_id("audit-error")).to_be_hidden(timeout=UI_MS)
        # Export: without a reason the page asks for one; with it, the CSV downloads.
        await page.get_by_label("Motivo da exportação").fill("ab")
        await page.get_by_test_id("audit-export").click()
        await expect(page.get_by_test_id("audit-error")).to_contain_text("motivo", timeout=UI_MS)
        await page.get_by_label("Motivo da exportação").fill("relatório mensal do encarregado")
        async with page.expect_download(timeout=UI_MS) as info:
            await page.get_by_test_id("audit-export").click()
        download = await info.value
        path = await download.path()
        assert path is not None
        text = path.read_bytes().decode("utf-8")
        assert text.startswith("\ufeffid;quando;conta_id;conta;acao;objeto;paciente_id;motivo\r\n")
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
        assert any(r[4] == "audit.export" and r[7] == "relatório mensal do encarregado" for r in records[1:])
        assert errors == [], errors
    finally:
        await context.close()
    # Viewing was audited too, with the filters used.
    views = await _audit(base, action="audit.view")
    assert any((v["staff_email"] == ADMIN[0]) for v in views)
    # An attendant is refused the page.
    errors = []
    context, page = await new_page(browser, errors, PAGE_REFUSAL)
    try:
        await sign_in_at(page, base, "/inbox", "ana@clinica.example", DEMO_PASSWORD, UI_MS)
        response = await page.goto(base + "/auditoria")
        assert response is not None and response.status == 403
        await expect(page.get_by_test_id("audit-forbidden")).to_be_visible()
        assert errors == [], errors
    finally:
        await context.close()


async def test_the_inbox_asks_for_the_reason_outside_the_own_queues(
    audit_hub: Hub, browser: Browser, db: Database
) -> None:
    base = audit_hub.url
    admin = await _api(base, *ADMIN)
    try:
        r = await admin.post("/api/staff", json={"email": DORA[0], "name": "Dora (exames)", "role": "attendant",
                                                  "password": DORA[1], "queues": ["exams"],
                                                  "grants": ["all_queues"]})
        assert r.status_code == 201, r.text
        assert r.json()["grants"] == ["all_queues"]
        dora_id = r.json()["id"]
    finally:
        await admin.aclose()
    subject = await insert_subject(db, "reception")
    errors: list[str] = []
    # the first open is refused (403 reason_required); the fixture's image has no source (404)
    context, page = await new_page(browser, errors, REASON_AND_THUMBNAIL)
    asked: list[str] = []

    async def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept("paciente ligou pedindo retorno")

    page.on("dialog", answer)
    try:
        path = f"/inbox?c={subject.conv_id}"
        await sign_in_at(page, base, path, *DORA, timeout_ms=UI_MS)
        await expect(page.get_by_text(subject.secrets[2])).to_be_visible(timeout=UI_MS)
        await expect(page.get_by_test_id("audit-link")).to_be_hidden()  # not a privacy officer
        assert len(asked) == 1 and "motivo" in asked[0], asked
        href = await page.get_by_test_id("attachment").first.get_attribute("href")
        assert href is not None and href.endswith("?reason=paciente%20ligou%20pedindo%20retorno"), href
        assert errors == [], errors
    finally:
        await context.close()
    rows = await _audit(base, staff_id=dora_id, action="view_conversation")
    assert [(r["patient_id"], r["reason"]) for r in rows] == [(subject.patient_id, "paciente ligou pedindo retorno")]


async def test_the_admin_names_the_privacy_officer_on_the_team_page(audit_hub: Hub, browser: Browser) -> None:
    """The grant is set in /equipe's edit dialog; the officer then has the audit viewer and its link."""
    base = audit_hub.url
    email, password = "enc@clinica.example", "encarregado-senha-0123"
    admin = await _api(base, *ADMIN)
    try:
        r = await admin.post("/api/staff", json={"email": email, "name": "Eva Encarregada", "role": "attendant",
                                                  "password": password, "queues": ["exams"]})
        assert r.status_code == 201 and r.json()["grants"] == [], r.text
    finally:
        await admin.aclose()
    errors: list[str] = []
    context, page = await new_page(browser, errors, NOTHING)
    try:
        await sign_in_at(page, base, "/equipe", *ADMIN, timeout_ms=UI_MS)
        await page.get_by_role("button", name="Editar Eva Encarregada").click()
        edit = page.get_by_role("dialog", name="Editar Eva Encarregada")
        officer = edit.get_by_test_id("grant-privacy_officer")
        await expect(officer).not_to_be_checked()
        await officer.check()
        await edit.get_by_role("button", name="Salvar").click()
        await expect(edit).to_be_hidden(timeout=UI_MS)
        assert errors == [], errors
    finally:
        await context.close()
    context, page = await new_page(browser, errors, NOTHING)
    try:
        await sign_in_at(page, base, "/inbox", email, password, UI_MS)
        await expect(page.get_by_test_id("audit-link")).to_be_visible(timeout=UI_MS)
        await page.get_by_test_id("audit-link").click()
        await expect(page).to_have_url(base + "/auditoria")
        await expect(page.get_by_test_id("audit-row").first).to_be_visible(timeout=UI_MS)
        assert errors == [], errors
    finally:
        await context.close()
