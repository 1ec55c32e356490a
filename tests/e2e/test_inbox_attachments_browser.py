"""Attachments in the attendant inbox, in a real browser (Debian chromium driven by Playwright),
against a real hub process on SQLite and the local Twilio stand-in: a patient sends a photo and a
PDF on WhatsApp, the conversation reaches the reception queue (the bot is unreachable, so it is
handed to humans), and the attendant sees a thumbnail of the photo and links that download the
exact files, fetched from Twilio once."""

from __future__ import annotations

import asyncio
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Hub
from tests.e2e.test_webchat_browser import new_page
from tests.support.fake_twilio import FakeTwilio
from tests.support.net import free_port
from tests.support.stack import start_hub

UI_MS = 60_000
ANA = ("ana@clinica.example", "equipe-senha-" + "w" * 10)
TWILIO_WHATSAPP_FROM = "whatsapp:+551140000000"


def png(width: int = 24, height: int = 16) -> bytes:
    """A real, decodable PNG (so the thumbnail's natural size proves the browser rendered it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"".join(bytes((x * 10 % 256, y * 15 % 256, 120)) for x in range(width))
                    for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PHOTO = png()
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """The local Twilio stand-in (messages and media)."""
    fake = FakeTwilio().start()
    yield fake
    fake.close()


@pytest.fixture
def hub(twilio: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub without a bot (unreachable: conversations go to humans after one second), wired to
    the Twilio stand-in; reception is picked by hand so the conversation waits in the queue."""
    state_dir = tmp_path_factory.mktemp("hub-attachments")
    port = free_port()
    env = {
        "HUB_PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}",
        "RASA_URL": f"http://127.0.0.1:{free_port()}", "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        "BOT_GRACE_SECONDS": "1", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "0.5",
        "POLL_INTERVAL_SECONDS": "0.2", "QUEUE_STRATEGIES": "reception=manual", "CHANNEL_SANDBOX": "false",
        "CLINIC_ADMIN_PASSWORD": "e2e-admin-password-0123", "DEMO_STAFF_PASSWORD": ANA[1],
        "ATTACHMENTS_DIR": str(state_dir / "attachments"),
        "TWILIO_API_BASE": twilio.base_url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM,
    }
    proc = start_hub(state_dir, env, "hub-attachments")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def test_attendant_sees_and_downloads_whatsapp_attachments(
    hub: Hub, twilio: FakeTwilio, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    base = hub.url
    sid = "SM" + uuid.uuid4().hex
    photo_url = twilio.add_media(sid, PHOTO, "image/png")
    pdf_url = twilio.add_media(sid, PDF, "application/pdf")
    form = twilio.inbound_form(sid=sid, from_="whatsapp:+5511987654321", to=TWILIO_WHATSAPP_FROM, body="",
                               media=[(photo_url, "image/png"), (pdf_url, "application/pdf")],
                               profile_name="Maria Souza")
    sent = await asyncio.to_thread(twilio.post_webhook, base + "/channels/twilio/messages", form)
    assert sent.status_code == 200, sent.text

    errors: list[str] = []
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR",
                                        timezone_id="America/Sao_Paulo", accept_downloads=True)
    page = await new_page(context, errors)
    await page.goto(base + "/inbox")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("E-mail").fill(ANA[0])
    await page.get_by_label("Senha").fill(ANA[1])
    await page.get_by_role("button", name="Entrar").click()
    await expect(page).to_have_url(base + "/inbox", timeout=UI_MS)

    item = page.get_by_test_id("queue-item").first
    await expect(item).to_be_visible(timeout=UI_MS)
    await item.get_by_role("button").click()
    links = page.get_by_test_id("timeline").get_by_test_id("attachment")
    await expect(links).to_have_count(2, timeout=UI_MS)
    # No file names on WhatsApp: pt-BR labels by kind, each a link to the attachment endpoint.
    await expect(links.nth(0)).to_contain_text("Anexo 1 (imagem)")
    await expect(links.nth(1)).to_contain_text("Anexo 2 (PDF)")
    message_href = await links.nth(0).get_attribute("href")
    assert message_href is not None and re.fullmatch(r"/api/messages/\d+/attachments/0", message_href)
    assert await links.nth(1).get_attribute("href") == message_href[:-1] + "1"
    assert await links.nth(1).get_attribute("download") is not None

    # The photo's thumbnail is loaded from that endpoint and rendered.
    thumb = links.nth(0).locator("img.attachment-thumb")
    await expect(thumb).to_have_count(1)
    await thumb.scroll_into_view_if_needed()
    await expect(thumb).to_have_js_property("complete", True, timeout=UI_MS)
    assert await thumb.evaluate("img => img.naturalWidth") == 24
    await page.screenshot(path=artifacts / "inbox-attachments.png")

    # The PDF link downloads the exact file.
    async with page.expect_download(timeout=UI_MS) as info:
        await links.nth(1).click()
    download = await info.value
    target = tmp_path / "download.pdf"
    await download.save_as(target)
    assert target.read_bytes() == PDF
    assert download.suggested_filename == "anexo-2.pdf"

    # The photo opens in a new tab, served as the image it is.
    async with context.expect_page(timeout=UI_MS) as opened:
        await links.nth(0).click()
    tab = await opened.value
    await tab.wait_for_load_state()
    assert await tab.evaluate("document.contentType") == "image/png"
    # Each file came from Twilio once, however many times the attendant opened it.
    assert twilio.media_gets(photo_url) == 1 and twilio.media_gets(pdf_url) == 1
    assert not errors, errors
    await context.close()
