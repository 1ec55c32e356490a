"""The "Privacidade" page (/privacidade) in a real browser (Debian chromium via Playwright) against a
real hub process on SQLite with the demo clinic seeded; no bot. The admin (the access matrix's
`privacy_requests` holder; see docs/access-matrix.md) sees the requests with their 15-day clock (an
overdue one in red), opens an erasure request and the patient's verified identity, downloads the ZIP
export (complete: every message) and the PDF, confirms the erasure in the dialog that lists the legal
holds, and sees the request answered and the patient's texts gone from the database. An attendant is
refused the page."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select, update

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message, Patient, PrivacyRequest
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 30_000
ADMIN = ("admin@clinica.example", "privreq-admin-password-0123")
DEMO_PASSWORD = "privreq-demo-password-0123"
BRUNO = "bruno@clinica.example"
PAGE_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 403 ")
NO_REFUSAL = re.compile(r"^$^")
NAME = "Heloísa Titular"
SECRET = "minha pressão está 15 por 9"


@pytest.fixture(scope="module")
def requests_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub process with its own SQLite file, the admin and the demo team; the bot is a dead address."""
    state_dir = tmp_path_factory.mktemp("hub-privacy-requests")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_EMAIL": ADMIN[0], "CLINIC_ADMIN_PASSWORD": ADMIN[1],
           "DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "SEED_DEMO_CLINIC": "true", "HUB_PORT": str(port),
           "PUBLIC_BASE_URL": base, "POLL_INTERVAL_SECONDS": "0.5", "ATTACHMENTS_DIR": str(state_dir / "files"),
           "RASA_TRACKER_STORE_URL": ""}
    proc = start_hub(state_dir, env, "hub-privacy-requests")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def _patient(url: str, n: int) -> tuple[int, str]:
    """A web chat patient with `n` messages in a conversation the humans hold."""
    db = Database(url)
    db.connect()
    now = datetime.now(UTC)
    try:
        async with db.session() as s:
            p = Patient(display_name=NAME, phone="+5511955554321", email="heloisa@exemplo.com", created_at=now)
            s.add(p)
            await s.flush()
            ident = ChannelIdentity(channel="webchat", external_id=uuid.uuid4().hex, patient_id=p.id, created_at=now)
            s.add(ident)
            await s.flush()
            conv_id = str(uuid.uuid4())
            s.add(Conversation(id=conv_id, patient_id=p.id, identity_id=ident.id, channel="webchat", state="queued",
                               queue="reception", priority="normal", waiting_since=now, created_at=now,
                               updated_at=now))
            await s.flush()
            for i in range(n):
                s.add(Message(conversation_id=conv_id, direction="in", sender="patient", channel="webchat",
                              provider_message_id=uuid.uuid4().hex, text=f"{SECRET} ({i})", payload={},
                              status="routed", attempts=0, created_at=now - timedelta(minutes=n - i)))
            return int(p.id), conv_id
    finally:
        await db.close()


async def _db_scalar(url: str, query: object) -> object:
    db = Database(url)
    db.connect()
    try:
        async with db.session() as s:
            return (await s.execute(query)).scalar_one()  # type: ignore[call-overload]
    finally:
        await db.close()


async def _db_exec(url: str, statement: object) -> None:
    db = Database(url)
    db.connect()
    try:
        async with db.session() as s:
            await s.execute(statement)  # type: ignore[call-overload]
    finally:
        await db.close()


async def test_admin_exports_and_erases_a_patient_on_the_privacy_page(browser: Browser, requests_hub: Hub) -> None:
    base, url = requests_hub.url, requests_hub.env["DATABASE_URL"]
    patient_id, conv_id = await _patient(url, 40)
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        token = (await api.post("/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        erase = (await api.post("/api/privacy/requests", headers=headers,
                                json={"patient_id": patient_id, "kind": "erasure", "details": "apaguem tudo"})).json()
        late = (await api.post("/api/privacy/requests", headers=headers,
                               json={"patient_id": patient_id, "kind": "access"})).json()
    await _db_exec(url, update(PrivacyRequest).where(PrivacyRequest.id == late["id"])
                   .values(due_at=datetime.now(UTC) - timedelta(days=2)))

    errors: list[str] = []
    context, page = await new_page(browser, errors, NO_REFUSAL)
    try:
        await sign_in_at(page, base, "/privacidade", ADMIN[0], ADMIN[1], UI_MS)
        await expect(page.locator("nav.privacy-tabs")).to_be_visible()
        rows = page.get_by_test_id("request-row")
        await expect(rows).to_have_count(2, timeout=UI_MS)
        late_row = page.locator(f'tr[data-request-id="{late["id"]}"]')
        await expect(late_row.get_by_test_id("clock")).to_have_text(re.compile(r"Atrasada há 2 dia"))
        color = await late_row.get_by_test_id("clock").evaluate("el => getComputedStyle(el).color")
        assert color == "rgb(179, 38, 30)"  # overdue in red
        erase_row = page.locator(f'tr[data-request-id="{erase["id"]}"]')
        await expect(erase_row.get_by_test_id("clock")).to_have_text(re.compile(r"1[45] dia\(s\) restantes"))

        await erase_row.get_by_test_id("open-request").click()
        identity = page.get_by_test_id("detail-identity")
        await expect(identity).to_contain_text(NAME)
        await expect(identity).to_contain_text("conferida pela equipe")
        await expect(identity).to_contain_text("apaguem tudo")
        await expect(page.get_by_test_id("detail-held")).to_contain_text("Mensagens: 40")

        async with page.expect_download() as zip_info:
            await page.get_by_test_id("export-zip").click()
        download = await zip_info.value
        with zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes())) as zf:
            data = json.loads(zf.read("data.json"))
        assert sum(len(c["messages"]) for c in data["conversations"]) == 40
        assert data["patient"][0]["name"] == NAME
        async with page.expect_download() as pdf_info:
            await page.get_by_test_id("export-pdf").click()
        assert (await (await pdf_info.value).path()).read_bytes().startswith(b"%PDF")

        await page.get_by_test_id("open-erase").click()
        dialog = page.get_by_test_id("erase-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_test_id("erase-holds")).to_contain_text("Nenhum dado sob guarda legal")
        await dialog.get_by_test_id("erase-confirm").click()
        await expect(dialog).to_be_hidden(timeout=UI_MS)
        await expect(page.get_by_test_id("detail-result")).to_contain_text("Dados eliminados", timeout=UI_MS)
        await expect(page.get_by_test_id("detail-title")).to_contain_text("Respondida")
        await expect(erase_row.get_by_test_id("status")).to_have_text("Respondida")
        await expect(page.get_by_test_id("open-erase")).to_be_hidden()
        assert errors == []
    finally:
        await context.close()

    # The texts and contact data are gone; the conversation was closed first; the rows stay.
    assert await _db_scalar(url, select(func.count()).select_from(Message).where(
        Message.conversation_id == conv_id, Message.text.like(f"%{SECRET}%"))) == 0
    assert await _db_scalar(url, select(func.count()).select_from(Message).where(
        Message.conversation_id == conv_id)) == 40
    assert await _db_scalar(url, select(Conversation.state).where(Conversation.id == conv_id)) == "resolved"
    assert await _db_scalar(url, select(Patient.display_name).where(Patient.id == patient_id)) is None

    # An attendant is refused the page.
    errors = []
    context, page = await new_page(browser, errors, PAGE_REFUSAL)
    try:
        await sign_in_at(page, base, "/privacidade", BRUNO, DEMO_PASSWORD, UI_MS)
        await expect(page.get_by_test_id("privacy-forbidden")).to_be_visible()
        assert errors == []
    finally:
        await context.close()
