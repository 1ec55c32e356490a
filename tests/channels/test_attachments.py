"""Staff open the files patients send, on every channel, end to end: signed webhooks into the real
hub process (SQLite and PostgreSQL + Redis), media served by the local Twilio and Graph API
stand-ins, e-mail attachments in the real AttachmentStore, and `GET /api/messages/<id>/attachments/<n>`
over HTTP as staff (bearer token or session cookie): exact bytes, fetched from the provider once,
safe headers, the inbox's visibility rule, audit rows, and provider failures that change nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors import meta, twilio
from connectors.base import Attachment, ChannelError, InboundMessage, MediaTooLarge
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql.models import AuditLog, Message, StaffUser
from handoff.services.ingest import accept_inbound
from tests.channels.conftest import TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio
from tests.support.fixtures import load_fixture, messaging_body, messaging_event
from tests.support.hub import wait_for

DEMO_PASSWORD = "equipe-senha-" + "z" * 10
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@clinica.example", "test-password-123"  # running_hub's admin
ANA, MANAGER = "ana@clinica.example", "gerente@clinica.example"
PATH = "/api/messages/{}/attachments/{}"

# Small but real files: a JPEG header, a PDF, an HTML page with a script, a PNG.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + os.urandom(2048) + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n" + os.urandom(1024).hex().encode() + b"\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>document.title='pwned'</script>oi</body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(512)


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def _phone() -> str:
    return "+55119" + str(uuid.uuid4().int)[:8]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DEMO_STAFF_PASSWORD": DEMO_PASSWORD, "ATTACHMENTS_DIR": str(tmp_path / "attachments"), **extra}


async def _login(hub: Hub, email: str, password: str = DEMO_PASSWORD) -> str:
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as c:
        r = await c.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


async def _get(hub: Hub, token: str | None, message_id: int, index: int, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=60, headers=headers, **kw) as c:
        return await c.get(PATH.format(message_id, index))


async def _one(hub: Hub, provider_id: str) -> Message:
    rows = await wait_for(lambda: hub.messages(Message.provider_message_id == provider_id), what="stored message")
    assert len(rows) == 1
    return rows[0]


async def _message(hub: Hub, message_id: int) -> Message:
    (row,) = await hub.messages(Message.id == message_id)
    return row


async def _audits(hub: Hub, staff_email: str, message_id: int, index: int) -> int:
    async with hub.rt.db.session() as s:
        staff_id = (await s.execute(select(StaffUser.id).where(StaffUser.email == staff_email))).scalar_one()
        return int((await s.execute(select(func.count()).select_from(AuditLog).where(
            AuditLog.staff_id == staff_id, AuditLog.action == "download_attachment",
            AuditLog.subject == f"message:{message_id}/attachment:{index}"))).scalar_one())


def _stored_file(tmp_path: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return tmp_path / "attachments" / digest[:2] / digest


def _assert_safe_headers(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("sandbox")
    assert r.headers["cache-control"] == "private, no-store"


async def _twilio_media_message(hub: Hub, tw: FakeTwilio, phone: str, data: bytes, content_type: str,
                                media_url: str | None = None) -> tuple[int, str]:
    sid = _sid()
    url = media_url or tw.add_media(sid, data, content_type)
    form = tw.inbound_form(sid=sid, from_="whatsapp:" + phone, to=TWILIO_WHATSAPP_FROM, body="",
                           media=[(url, content_type)], profile_name="Maria Souza")
    assert tw.post_webhook(hub.url("/channels/twilio/messages"), form).status_code == 200
    return (await _one(hub, sid)).id, url


async def _email_message(hub: Hub, tmp_path: Path, address: str, data: bytes, content_type: str,
                         filename: str, **metadata: Any) -> int:
    """What the e-mail poller does with a mail's attachment: the real AttachmentStore, then the
    real ingest use case."""
    ref = AttachmentStore(tmp_path / "attachments").save(data, content_type, filename)
    mid = f"<{uuid.uuid4().hex}@mail.example>"
    msg = InboundMessage(channel="email", external_user_id=address, provider_message_id=mid, text="segue o anexo",
                         attachments=(Attachment(url=ref, content_type=content_type, filename=filename),),
                         raw_metadata={"message_id": mid, "subject": "Exame", **metadata})
    result = await accept_inbound(hub.rt.uow, msg)
    return result.message.id


async def test_staff_download_every_channels_attachments_fetching_providers_once(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers, extra_env=_env(tmp_path)) as hub:
        tw, fm = providers.twilio, providers.meta
        manager = await _login(hub, MANAGER)

        # Twilio WhatsApp image. The first try meets Twilio down: 502, and nothing changes.
        image_id, image_url = await _twilio_media_message(hub, tw, _phone(), JPEG, "image/jpeg")
        tw.media_fail_next = [503]
        down = await _get(hub, manager, image_id, 0)
        assert down.status_code == 502 and down.json()["error"]["code"] == "provider_error"
        assert (await _message(hub, image_id)).payload["attachments"][0]["url"] == image_url
        assert not _stored_file(tmp_path, JPEG).exists()
        assert await _audits(hub, MANAGER, image_id, 0) == 0
        # The retry works: exact bytes, served inline as the image it is, with the safe headers.
        r = await _get(hub, manager, image_id, 0)
        assert r.status_code == 200, r.text
        assert r.content == JPEG and r.headers["content-type"] == "image/jpeg"
        assert r.headers["content-disposition"].startswith("inline;")
        assert "filename*=UTF-8''anexo-1.jpg" in r.headers["content-disposition"]
        _assert_safe_headers(r)
        assert tw.media_gets(image_url) == 2  # the failed try and the one that worked
        # Stored here (0600) and recorded on the message; the provider's URL kept as `source`.
        entry = (await _message(hub, image_id)).payload["attachments"][0]
        assert entry["url"] == "attachment:sha256:" + hashlib.sha256(JPEG).hexdigest()
        assert entry["source"] == image_url and entry["content_type"] == "image/jpeg" and entry["size"] == len(JPEG)
        assert stat.S_IMODE(_stored_file(tmp_path, JPEG).stat().st_mode) == 0o600
        # Later downloads never reach Twilio again.
        again = await _get(hub, manager, image_id, 0)
        assert again.status_code == 200 and again.content == JPEG
        assert tw.media_gets(image_url) == 2
        assert await _audits(hub, MANAGER, image_id, 0) == 2

        # Only media of our own Twilio account are fetched (our credentials never go elsewhere).
        foreign = "https://api.twilio.com/2010-04-01/Accounts/AC" + "9" * 32 + "/Messages/MM1/Media/ME1"
        foreign_id, _ = await _twilio_media_message(hub, tw, _phone(), JPEG, "image/jpeg", media_url=foreign)
        refused = await _get(hub, manager, foreign_id, 0)
        assert refused.status_code == 502 and tw.media_gets(foreign) == 0

        # WhatsApp Cloud API PDF: the id is looked up, then the file downloaded with the token.
        wa_id = "55119" + str(uuid.uuid4().int)[:8]
        media_id = fm.add_media(PDF, "application/pdf")
        wamid = "wamid." + uuid.uuid4().hex
        body = load_fixture("whatsapp_cloud", "messages_document", wa_id=wa_id, profile_name="João Lima", wamid=wamid,
                            caption="", filename="Exame de sangue — João.pdf", mime_type="application/pdf",
                            media_id=media_id, sha256=hashlib.sha256(PDF).hexdigest())
        assert fm.post_webhook(hub.url("/channels/meta"), body).status_code == 200
        pdf_id = (await _one(hub, wamid)).id
        fm.media_fail_next = [401]  # e.g. an expired access token: 502, nothing stored
        bad = await _get(hub, manager, pdf_id, 0)
        assert bad.status_code == 502 and bad.json()["error"]["code"] == "provider_error"
        assert (await _message(hub, pdf_id)).payload["attachments"][0]["url"] == f"meta-media:{media_id}"
        r = await _get(hub, manager, pdf_id, 0)
        assert r.status_code == 200, r.text
        assert r.content == PDF and r.headers["content-type"] == "application/pdf"
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Exame%20de%20sangue%20%E2%80%94%20Jo%C3%A3o.pdf" in disposition
        _assert_safe_headers(r)
        assert len(fm.media_gets("lookup")) == 2 and len(fm.media_gets("download")) == 1
        assert (await _get(hub, manager, pdf_id, 0)).content == PDF
        assert len(fm.media_gets("lookup")) == 2 and len(fm.media_gets("download")) == 1
        entry = (await _message(hub, pdf_id)).payload["attachments"][0]
        assert entry["source"] == f"meta-media:{media_id}" and entry["url"].startswith("attachment:sha256:")
        assert entry["filename"] == "Exame de sangue — João.pdf"

        # Messenger: a CDN URL. A patient's HTML page is a download of opaque bytes, never a page.
        psid, mid = str(uuid.uuid4().int)[:16], "m_" + uuid.uuid4().hex
        cdn_url = fm.add_cdn_file(HTML, "text/html")
        body = messaging_body("messenger", messaging_event("messenger", "messages_attachment", sender_id=psid, mid=mid,
                                                           attachment_type="file", url=cdn_url))
        assert fm.post_webhook(hub.url("/channels/meta"), body).status_code == 200
        html_id = (await _one(hub, mid)).id
        r = await _get(hub, manager, html_id, 0)
        assert r.status_code == 200 and r.content == HTML
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert "filename*=UTF-8''anexo-1.html" in r.headers["content-disposition"]
        _assert_safe_headers(r)
        assert (await _message(hub, html_id)).payload["attachments"][0]["content_type"] == "text/html"
        assert (await _get(hub, manager, html_id, 0)).content == HTML
        assert len(fm.media_gets("cdn")) == 1

        # E-mail: already in the AttachmentStore, no provider involved.
        lookups = len(fm.media_gets())
        mail_id = await _email_message(hub, tmp_path, "paciente@example.com", PNG, "image/png", "raio-x.png")
        r = await _get(hub, manager, mail_id, 0)
        assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
        assert "filename*=UTF-8''raio-x.png" in r.headers["content-disposition"]
        assert len(fm.media_gets()) == lookups and await _audits(hub, MANAGER, mail_id, 0) == 1

        # Out of range, unknown message, anonymous, bad token.
        for message_id, index in ((image_id, 1), (mail_id, 7)):
            r = await _get(hub, manager, message_id, index)
            assert r.status_code == 404 and r.json()["error"]["code"] == "attachment_not_found"
        r = await _get(hub, manager, 10**12, 0)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert (await _get(hub, None, image_id, 0)).status_code == 401
        assert (await _get(hub, "not-a-token", image_id, 0)).status_code == 401
        # A refused request wrote no audit row.
        assert await _audits(hub, MANAGER, image_id, 1) == 0


async def test_attachments_follow_the_inbox_visibility_rule(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    # The bot is unreachable: after one second the WhatsApp conversation is handed to the
    # reception queue (`bot_unavailable`). A robot's mail is never answered, so its conversation
    # stays with the bot and no queue.
    env = _env(tmp_path, BOT_GRACE_SECONDS="1")
    async with running_hub(backend, tmp_path, providers, extra_env=env) as hub:
        tw = providers.twilio
        phone = _phone()
        image_id, image_url = await _twilio_media_message(hub, tw, phone, JPEG, "image/jpeg")

        async def queued() -> bool:
            conv = await hub.conversation_of("whatsapp", phone)
            return conv is not None and conv.queue == "reception"
        await wait_for(queued, what="the conversation in the reception queue")
        address = f"robo-{uuid.uuid4().hex[:8]}@example.com"
        mail_id = await _email_message(hub, tmp_path, address, PDF, "application/pdf", "boleto.pdf",
                                       automatic="auto_submitted", no_reply=True)

        ana, manager = await _login(hub, ANA), await _login(hub, MANAGER)
        admin = await _login(hub, ADMIN_EMAIL, ADMIN_PASSWORD)
        async with httpx.AsyncClient(base_url=hub.base_url, timeout=30,
                                     headers={"Authorization": f"Bearer {admin}"}) as c:
            created = await c.post("/api/staff", json={"email": "dora@clinica.example", "name": "Dora",
                                                       "role": "attendant", "password": "d" * 12,
                                                       "queues": ["billing"]})
        assert created.status_code == 201, created.text
        dora = await _login(hub, "dora@clinica.example", "d" * 12)

        # Reception (Ana) sees the WhatsApp conversation: she opens its image, with her session
        # cookie as the inbox page does (a GET needs no CSRF header).
        r = await _get(hub, None, image_id, 0, cookies={"atende_session": ana})
        assert r.status_code == 200 and r.content == JPEG
        assert await _audits(hub, ANA, image_id, 0) == 1
        # Billing only (Dora): refused, nothing fetched or audited for her.
        gets = tw.media_gets(image_url)
        r = await _get(hub, dora, image_id, 0)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert tw.media_gets(image_url) == gets and await _audits(hub, "dora@clinica.example", image_id, 0) == 0
        # The robot's mail is in no queue: attendants are refused, the manager sees everything.
        assert (await _get(hub, ana, mail_id, 0)).status_code == 403
        r = await _get(hub, manager, mail_id, 0)
        assert r.status_code == 200 and r.content == PDF

        # Once that address is merged into the WhatsApp patient, the mail is shown in Ana's view of
        # the WhatsApp conversation (the patient's other conversations come with it): she may open
        # its attachment too. Dora still may not.
        wa_patient = await hub.patient_of("whatsapp", phone)
        mail_patient = await hub.patient_of("email", address)
        assert wa_patient is not None and mail_patient is not None
        async with httpx.AsyncClient(base_url=hub.base_url, timeout=30,
                                     headers={"Authorization": f"Bearer {manager}"}) as c:
            merged = await c.post("/api/patients/merge", json={"keep_id": wa_patient.id,
                                                               "merge_id": mail_patient.id})
            assert merged.status_code == 200, merged.text
            conv = await hub.conversation_of("whatsapp", phone)
            assert conv is not None
        async with httpx.AsyncClient(base_url=hub.base_url, timeout=30,
                                     headers={"Authorization": f"Bearer {ana}"}) as c:
            detail = (await c.get(f"/api/conversations/{conv.id}")).json()
        assert mail_id in [m["id"] for m in detail["messages"]]
        r = await _get(hub, ana, mail_id, 0)
        assert r.status_code == 200 and r.content == PDF
        assert (await _get(hub, dora, mail_id, 0)).status_code == 403


# -- the connectors' fetch functions against the provider stand-ins ------------------------------


async def test_twilio_fetch_accepts_only_our_account_and_caps_the_size(providers: Providers) -> None:
    tw = providers.twilio
    data = os.urandom(4096)
    url = tw.add_media(_sid(), data, "image/png")
    kw: dict[str, Any] = {"api_base": tw.base_url, "account_sid": tw.account_sid, "auth_token": tw.auth_token}
    assert twilio.media_url(url, api_base="http://x:1/", account_sid=tw.account_sid) == \
        "http://x:1" + url.removeprefix("https://api.twilio.com")
    assert await twilio.fetch_media(url, **kw) == (data, "image/png")
    with pytest.raises(MediaTooLarge):
        await twilio.fetch_media(url, **kw, max_bytes=4095)
    with pytest.raises(ChannelError) as wrong:
        await twilio.fetch_media(url, **{**kw, "auth_token": "wrong"})
    assert "401" in str(wrong.value) and not wrong.value.retryable
    for bad in (url.replace(tw.account_sid, "AC" + "1" * 32), url + "?x=1", url.replace("/Media/", "/Other/"),
                "file:///etc/passwd"):
        assert twilio.media_url(bad, api_base=tw.base_url, account_sid=tw.account_sid) is None
        with pytest.raises(ChannelError):
            await twilio.fetch_media(bad, **kw)


async def test_meta_fetch_looks_the_id_up_each_time_and_caps_the_size(providers: Providers) -> None:
    fm: FakeMeta = providers.meta
    data = os.urandom(3000)
    media_id = fm.add_media(data, "audio/ogg")
    kw: dict[str, Any] = {"api_base": fm.base_url, "access_token": fm.access_token}
    assert await meta.fetch_whatsapp_media(media_id, **kw) == (data, "audio/ogg")
    # The download URL expires: an old one is refused by the provider; the hub looks the id up
    # again on every fetch, so it still works.
    bearer = {"Authorization": f"Bearer {fm.access_token}"}
    looked_up = await asyncio.to_thread(httpx.get, f"{fm.base_url}/v21.0/{media_id}", headers=bearer)
    old_url = looked_up.json()["url"]
    assert looked_up.json()["file_size"] == len(data) and looked_up.json()["mime_type"] == "audio/ogg"
    fm.expire_media_urls()
    assert (await asyncio.to_thread(httpx.get, old_url, headers=bearer)).status_code == 404
    assert await meta.fetch_whatsapp_media(media_id, **kw) == (data, "audio/ogg")
    assert len(fm.media_gets("lookup")) == 3
    with pytest.raises(MediaTooLarge):
        await meta.fetch_whatsapp_media(media_id, **kw, max_bytes=2999)
    with pytest.raises(ChannelError):
        await meta.fetch_whatsapp_media(media_id, **{**kw, "access_token": "wrong"})
    with pytest.raises(ChannelError):
        await meta.fetch_whatsapp_media("999999", **kw)
    with pytest.raises(ChannelError):
        await meta.fetch_whatsapp_media("../me/messages", **kw)
    cdn = fm.add_cdn_file(data, "image/jpeg")
    assert await meta.fetch_attachment_url(cdn, api_base=fm.base_url) == (data, "image/jpeg")
    with pytest.raises(MediaTooLarge):
        await meta.fetch_attachment_url(cdn, api_base=fm.base_url, max_bytes=100)
    # Plain HTTP elsewhere than the Graph API base is never fetched.
    with pytest.raises(ChannelError):
        await meta.fetch_attachment_url("http://169.254.169.254/latest/meta-data/", api_base=fm.base_url)
