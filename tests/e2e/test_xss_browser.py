"""XSS in the staff pages, in a real browser (Debian chromium via Playwright), issue 13.

Patient-controlled values carry script payloads: the WhatsApp profile name and text (Twilio
webhook, with a photo), and an e-mail's sender name, subject, HTML-only body and attachment file
name (parsed and stored exactly as the IMAP poller does). The inbox list, the conversation view,
the patient card (history), the /bot review inbox and the dashboard must show them as text and
never run them: `window.__xss` stays undefined and no element carries the injected handlers.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Message
from handoff.runtime import HubRuntime
from handoff.services.email_channel import EmailInbox
from tests.conftest import Backend
from tests.e2e.conftest import Hub, new_page, sign_in_at
from tests.e2e.test_inbox_attachments_browser import png
from tests.support.fake_twilio import FakeTwilio
from tests.support.hub import make_settings, wait_for
from tests.support.log_scan import leaks_in_files, phone_forms
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 60_000
PASSWORD = "equipe-senha-" + "x" * 10
ANA = "ana@clinica.example"
MANAGER = "gerente@clinica.example"
TWILIO_WHATSAPP_FROM = "whatsapp:+551140000000"

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = "<svg onload=window.__xss=1>"
JS_URL = "javascript:window.__xss=1"
NAME = f"Maria {IMG}"
TEXT = f"Olá {SCRIPT} veja {JS_URL} e {SVG} fim"
MAIL_NAME = f"Joana {SVG}"
SUBJECT = f"Exame {IMG}"
FILENAME = f"{IMG}.pdf"
HTML_BODY = (f"<html><body><p>Resultado do exame</p>{SCRIPT}<a href=\"{JS_URL}\">clique aqui</a>"
             f"<img src=x onerror=\"window.__xss=1\"><iframe src=\"{JS_URL}\"></iframe></body></html>")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
# Elements the payloads would create if any of them were parsed as HTML.
INJECTED = ('img[src="x"], svg[onload], [onerror], [onload]:not(body):not(link):not(script), '
            'a[href^="javascript:"], iframe, script:not([src]):not([type="application/json"])')


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.close()


@pytest.fixture
def hub(twilio: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub without a bot (conversations go to humans after a second), wired to the Twilio stand-in."""
    state_dir = tmp_path_factory.mktemp("hub-xss")
    port = free_port()
    env = {
        "HUB_PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}", "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        "BOT_GRACE_SECONDS": "1", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "0.5",
        "POLL_INTERVAL_SECONDS": "0.2", "QUEUE_STRATEGIES": "reception=manual", "CHANNEL_SANDBOX": "true",
        "CLINIC_ADMIN_PASSWORD": "e2e-admin-password-0123", "DEMO_STAFF_PASSWORD": PASSWORD,
        "ATTACHMENTS_DIR": str(state_dir / "attachments"),
        "TWILIO_API_BASE": twilio.base_url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM,
    }
    proc = start_hub(state_dir, env, "hub-xss")
    yield Hub(proc, env, state_dir)
    proc.kill()


def hostile_mail() -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = f'"{MAIL_NAME}" <joana.{uuid.uuid4().hex[:8]}@paciente.example>'
    mail["To"] = "atendimento@clinica.example"
    mail["Subject"] = SUBJECT
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain="paciente.example")
    mail.set_content(HTML_BODY, subtype="html")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename=FILENAME)
    return mail.as_bytes()


async def assert_clean(page: Page, where: str) -> None:
    """Nothing ran and nothing was injected."""
    assert await page.evaluate("typeof window.__xss") == "undefined", where
    injected = await page.evaluate(f"Array.from(document.querySelectorAll({INJECTED!r})).map(e => e.outerHTML)")
    assert injected == [], (where, injected)


async def test_patient_controlled_values_are_shown_as_text_never_run(
        hub: Hub, twilio: FakeTwilio, browser: Browser, artifacts: Path) -> None:
    base = hub.url
    # 1. WhatsApp (Twilio): hostile profile name and text, with a photo.
    sid = "SM" + uuid.uuid4().hex
    photo = twilio.add_media(sid, png(), "image/png")
    form = twilio.inbound_form(sid=sid, from_="whatsapp:+5511987654321", to=TWILIO_WHATSAPP_FROM, body=TEXT,
                               media=[(photo, "image/png")], profile_name=NAME)
    sent = await asyncio.to_thread(twilio.post_webhook, base + "/channels/twilio/messages", form)
    assert sent.status_code == 200, sent.text

    # 2. E-mail: hostile sender name, subject, HTML-only body and attachment file name.
    backend = Backend("sqlite", hub.env["DATABASE_URL"], None)
    rt = await HubRuntime.open(make_settings(backend, "http://127.0.0.1:9",
                                             attachments_dir=hub.env["ATTACHMENTS_DIR"]))
    try:
        stored = await EmailInbox(rt.uow, rt.settings).ingest(hostile_mail())
        assert stored is not None
        mail_id = stored.message.id

        async def both_processed() -> bool:
            async with rt.db.session() as s:
                rows = (await s.execute(Message.__table__.select().where(
                    Message.direction == "in", Message.processed_at.is_not(None)))).all()
            return len(rows) >= 2
        await wait_for(both_processed, timeout=90, what="both messages processed (handed to humans)")
        # Into the bot review inbox: read by the bot under the review confidence.
        async with rt.db.session() as s:
            await s.execute(update(Message).where(Message.direction == "in", Message.sender == "patient")
                            .values(intent="nlu_fallback", confidence=0.12, processed_at=utcnow()))
    finally:
        await rt.close()

    errors: list[str] = []
    context, page = await new_page(browser, errors, re.compile(r"^Failed to load resource"))
    await page.add_init_script("window.__xssProbe = true;")
    await sign_in_at(page, base, "/inbox", ANA, PASSWORD, timeout_ms=UI_MS)

    items = page.get_by_test_id("queue-item")
    await expect(items).to_have_count(2, timeout=UI_MS)
    await expect(page.get_by_test_id("queue-item").filter(has_text="Maria <img src=x")).to_have_count(1)
    await expect(page.get_by_test_id("queue-item").filter(has_text="Joana <svg onload")).to_have_count(1)
    await assert_clean(page, "inbox list")

    # The WhatsApp conversation: name, text and the photo.
    await items.filter(has_text="Maria").get_by_role("button").first.click()
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text(SCRIPT, timeout=UI_MS)
    await expect(timeline).to_contain_text(JS_URL)
    await expect(timeline).to_contain_text(SVG)
    await expect(page.get_by_test_id("timeline").get_by_test_id("attachment")).to_have_count(1)
    await assert_clean(page, "whatsapp conversation")
    card = page.get_by_test_id("patient-card")
    await expect(card).to_contain_text("Maria <img src=x", timeout=UI_MS)
    await assert_clean(page, "patient card")

    # The e-mail conversation: the HTML body arrives as text; the file name is shown as text.
    await items.filter(has_text="Joana").get_by_role("button").first.click()
    await expect(timeline).to_contain_text("Resultado do exame", timeout=UI_MS)
    attachment = page.get_by_test_id("timeline").get_by_test_id("attachment")
    await expect(attachment).to_have_count(1, timeout=UI_MS)
    href = await attachment.get_attribute("href")
    assert href == f"/api/messages/{mail_id}/attachments/0", href
    await expect(card).to_contain_text("Joana <svg onload", timeout=UI_MS)
    await assert_clean(page, "e-mail conversation")
    await page.screenshot(path=artifacts / "xss-inbox.png")

    # The attachment itself is served so a browser cannot run it as a page of the hub.
    response = await page.request.get(base + href)
    assert response.status == 200
    csp = response.headers.get("content-security-policy", "")
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    disposition = response.headers.get("content-disposition", "")
    assert "<" not in disposition and ">" not in disposition, disposition

    # The bot review inbox (texts masked, still text).
    await page.goto(base + "/bot")
    await expect(page.get_by_test_id("review-link").first).to_be_visible(timeout=UI_MS)
    await assert_clean(page, "bot review")
    review_text = await page.locator("main").inner_text()
    assert "<script>" in review_text or "veja" in review_text, review_text[:500]
    await assert_clean(page, "bot review after render")
    session = [c["value"] for c in await context.cookies() if c["name"] == "atende_session"]
    assert session
    await context.close()

    # The manager's dashboard.
    context, page = await new_page(browser, errors, re.compile(r"^Failed to load resource"))
    await sign_in_at(page, base, "/dashboard", MANAGER, PASSWORD, timeout_ms=UI_MS)
    await expect(page.locator('[data-testid="dashboard"][data-loaded]')).to_be_attached(timeout=UI_MS)
    await assert_clean(page, "dashboard")
    await context.close()
    csp_reports = [e for e in errors if "Content Security Policy" in e]
    assert not csp_reports, csp_reports  # a payload blocked only by the CSP would still be a hole
    assert not errors, errors

    # The hub process's log (what `make run` and the e2e suite keep) has none of the patient's
    # values, the staff session token, the staff password nor the provider secret.
    markers = [NAME, TEXT, MAIL_NAME, SUBJECT, FILENAME, "Resultado do exame", "window.__xss", PASSWORD,
               twilio.auth_token, *session, *phone_forms("+5511987654321")]
    leaks = leaks_in_files(sorted(hub.state_dir.glob("*.log")), markers)
    assert list(hub.state_dir.glob("*.log")), "the hub's log file is missing"
    assert not leaks, "\n".join(leaks[:20])


async def test_every_page_works_under_its_content_security_policy(hub: Hub, browser: Browser) -> None:
    """The policy blocks no script or style of our own: the demo site opens its chat (site.js,
    the widget and its stylesheet, the chat socket), the simulator and the staff pages load, and
    the browser reports no CSP violation anywhere."""
    base = hub.url
    violations: list[str] = []
    errors: list[str] = []
    context, page = await new_page(browser, errors, re.compile(r"^Failed to load resource"))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    response = await page.goto(base + "/")
    assert response is not None and "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    await expect(page.get_by_test_id("atende-launcher")).to_be_visible(timeout=UI_MS)  # widget.css loaded
    await page.get_by_role("button", name="Conversar agora").click()  # site.js
    panel = page.get_by_test_id("atende-panel")
    await expect(panel).to_be_visible(timeout=UI_MS)
    await page.get_by_test_id("atende-input").fill("Olá, quero marcar uma consulta")
    await page.get_by_test_id("atende-send").click()
    await expect(page.get_by_test_id("atende-msg").first).to_contain_text("quero marcar", timeout=UI_MS)
    await expect(page.get_by_test_id("atende-msg").first).not_to_have_attribute("data-status", "failed")
    # The site's stylesheet applies (it used to be an inline <style>).
    assert await page.evaluate("getComputedStyle(document.body).margin") == "0px"

    await page.goto(base + "/sandbox")
    await expect(page.get_by_test_id("sandbox-channels").locator("button, input, label").first).to_be_visible(
        timeout=UI_MS)  # sandbox.js filled the channel list
    assert await page.evaluate("getComputedStyle(document.querySelector('label.vh')).position") == "absolute"

    # Login lockout as a person sees it: five wrong passwords, then the pt-BR "too many attempts".
    await page.goto(base + "/login")
    for attempt in range(6):
        await page.get_by_label("E-mail").fill(MANAGER)
        await page.get_by_label("Senha").fill(f"senha-errada-{attempt}")
        await page.get_by_role("button", name="Entrar").click()
        wanted = "Muitas tentativas de entrada" if attempt == 5 else "E-mail ou senha inválidos"
        await expect(page.get_by_role("alert")).to_contain_text(wanted, timeout=UI_MS)
        await expect(page.get_by_role("button", name="Entrar")).to_be_enabled(timeout=UI_MS)
    await expect(page.get_by_role("alert")).to_contain_text("15 minutos")

    await sign_in_at(page, base, "/inbox", "admin@clinica.example", "e2e-admin-password-0123", timeout_ms=UI_MS)
    # Each page's own marker that its scripts ran and its first API answer was drawn ("networkidle"
    # never comes on a page that polls while its socket connects, so it is not waited for).
    ready = {
        "/inbox": 'body[data-ready="true"]',
        "/bot": "body[data-role]",
        "/dashboard": '[data-testid="dashboard"][data-loaded]',
        "/equipe": '[data-testid="staff-row"]',
    }
    for path, marker in ready.items():
        await page.goto(base + path)
        await expect(page.locator(marker).first).to_be_attached(timeout=UI_MS)
    await context.close()
    assert not violations, violations
    assert not errors, errors
