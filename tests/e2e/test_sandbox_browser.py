"""The patient simulator in a real browser (Debian chromium via Playwright) against a real hub
process with CHANNEL_SANDBOX on and no provider credentials, and the real bot: a person chats as
a WhatsApp Cloud API user (reply buttons), as a Messenger user, by e-mail (the clinic's mails come
through the stand-in SMTP server, options numbered), and calls the phone menu."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Hub

BOT_REPLY_MS = 60_000


async def _open(browser: Browser, hub: Hub) -> Page:
    context = await browser.new_context(viewport={"width": 1200, "height": 860}, locale="pt-BR")
    page = await context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(hub.url) else None)
    await page.goto(hub.url + "/sandbox")
    await expect(page.get_by_test_id("sandbox-channel-whatsapp_meta")).to_be_enabled()
    page.external_requests = external  # type: ignore[attr-defined]
    return page


async def _say(page: Page, text: str) -> None:
    await page.get_by_test_id("sandbox-text").fill(text)
    await page.get_by_test_id("sandbox-send").click()
    mine = page.get_by_test_id("sandbox-bubble-in").filter(has_text=text)
    await expect(mine.last).to_be_visible()
    await expect(page.get_by_test_id("sandbox-error")).to_have_text("")


async def test_a_person_chats_on_whatsapp_and_messenger_and_calls_the_clinic(
    hub: Hub, browser: Browser, artifacts: Path
) -> None:
    page = await _open(browser, hub)
    chat = page.get_by_test_id("sandbox-chat")

    # WhatsApp through the Cloud API: the bot's options arrive as reply buttons (or a list).
    await page.get_by_test_id("sandbox-channel-whatsapp_meta").check()
    await _say(page, "oi")
    options = chat.locator("[data-testid=sandbox-wa-button], [data-testid=sandbox-wa-list]")
    await expect(options.first).to_be_visible(timeout=BOT_REPLY_MS)
    await page.screenshot(path=artifacts / "sandbox-whatsapp.png")
    human = chat.get_by_test_id("sandbox-wa-button").filter(has_text="Falar com atendente")
    if await human.count():
        await human.last.click()
        await expect(page.get_by_test_id("sandbox-bubble-in").filter(has_text="Falar com atendente")).to_be_visible()
    # Delivered and read ticks come back through the status webhooks.
    await expect(page.get_by_test_id("sandbox-bubble-out").first.locator(".read")).to_be_visible(timeout=20_000)

    # Messenger: quick replies under the latest reply; a tap answers with its payload.
    await page.get_by_test_id("sandbox-channel-messenger").check()
    await expect(page.get_by_test_id("sandbox-bubble-in")).to_have_count(0)
    await _say(page, "oi")
    await expect(page.get_by_test_id("sandbox-bubble-out").first).to_be_visible(timeout=BOT_REPLY_MS)
    chips = page.get_by_test_id("sandbox-quick-reply")
    if await chips.count():
        title = (await chips.first.text_content()) or ""
        await chips.first.click()
        await expect(page.get_by_test_id("sandbox-bubble-in").filter(has_text=title)).to_be_visible()
    await page.screenshot(path=artifacts / "sandbox-messenger.png")

    # E-mail: the clinic's mail shows its subject and plain text; "1" answers the numbered options.
    await page.get_by_test_id("sandbox-channel-email").check()
    await expect(page.get_by_test_id("sandbox-bubble-in")).to_have_count(0)
    await expect(page.get_by_test_id("sandbox-user")).to_have_value(re.compile(r"^[a-z.]+\.\d{4}@paciente\.example$"))
    await _say(page, "oi")
    mails = page.get_by_test_id("sandbox-bubble-out")
    offered = mails.filter(has_text=re.compile(r"^1\. ", re.MULTILINE))
    await expect(offered.first).to_be_visible(timeout=BOT_REPLY_MS)
    await expect(offered.first.get_by_test_id("sandbox-subject")).to_have_text("Re: oi")
    await expect(offered.first).to_contain_text("Responda com o número da opção.")
    before = await mails.count()
    await _say(page, "1")
    await expect(mails).not_to_have_count(before, timeout=BOT_REPLY_MS)  # the bot answered the chosen option
    await page.screenshot(path=artifacts / "sandbox-email.png")

    # The phone: the menu is heard, "2" asks for a call back.
    await page.get_by_test_id("sandbox-channel-phone").check()
    await page.get_by_test_id("sandbox-dial").click()
    await expect(page.get_by_test_id("sandbox-key-2")).to_be_enabled(timeout=20_000)
    await expect(chat).to_contain_text("digite 2")
    await page.get_by_test_id("sandbox-key-2").click()
    await expect(chat).to_contain_text("ligar de volta", timeout=20_000)
    await expect(chat).to_contain_text("Ligação encerrada")
    await expect(page.get_by_test_id("sandbox-dial")).to_be_enabled()
    await page.screenshot(path=artifacts / "sandbox-phone.png")
    assert page.external_requests == []  # type: ignore[attr-defined]
