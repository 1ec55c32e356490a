"""No patient text, phone, name or token in any log line (issue 13).

A representative slice of the hub's flows runs in-process with every logger captured at DEBUG:
inbound messages on WhatsApp and SMS (Twilio), WhatsApp Cloud API (Meta) and e-mail carrying
marker strings in their texts, phones and names; the bot unreachable so they are handed to
humans; a staff login (and a failed one), the queue, the conversation, the patient card, a claim,
a reply and an attachment download. None of the markers, nor the staff token, the passwords or
the provider secrets, may appear in any record (message, arguments or traceback).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

import pytest

from handoff.services.email_channel import EmailInbox
from tests.clinic.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_hub
from tests.conftest import Backend
from tests.e2e.test_inbox_attachments_browser import png
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio
from tests.support.log_scan import leaks_in_records, phone_forms
from tests.support.net import free_port
from tests.support.wait import eventually

TAG = uuid.uuid4().hex[:6]
WA_PHONE = "+5511981230001"
SMS_PHONE = "+5521981230002"
META_PHONE = "5531981230003"
TEXTS = [f"TEXTO-WHATSAPP-{TAG} tenho dor de cabeça", f"TEXTO-SMS-{TAG} quero remarcar",
         f"TEXTO-META-{TAG} preciso de um atendente", f"TEXTO-EMAIL-{TAG} segue o exame",
         f"RESPOSTA-EQUIPE-{TAG} já vamos ver"]
NAMES = [f"Zacarias{TAG} Quintino", f"Yolanda{TAG} Meta", f"Xavier{TAG} Email"]
MAIL = f"xavier{TAG}@paciente.example"
BAD_EMAIL = f"intruso{TAG}@fora.example"
BAD_PASSWORD = f"senha-errada-{TAG}"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTwilio, FakeMeta]]:
    tw, fm = FakeTwilio().start(), FakeMeta().start()
    yield tw, fm
    tw.close()
    fm.close()


async def _until(check: Any, what: str, timeout: float = 60) -> Any:
    return await eventually(check, timeout=timeout, interval=0.3, what=what)


async def test_flows_log_no_personal_data_nor_tokens(backend: Backend, fakes: tuple[FakeTwilio, FakeMeta],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    tw, fm = fakes
    caplog.set_level(logging.DEBUG)  # the root logger and every logger that does not set its own level
    hub, life = await start_hub(
        backend, rasa_url=f"http://127.0.0.1:{free_port()}", bot_timeout_seconds=1, bot_grace_seconds=1,
        poll_interval_seconds=0.2, retry_base_seconds=0.2, retry_max_seconds=0.5, queue_strategies="reception=manual",
        twilio_api_base=tw.base_url, twilio_account_sid=tw.account_sid, twilio_auth_token=tw.auth_token,
        twilio_whatsapp_from="whatsapp:+551140000000", twilio_sms_from="+551140000001",
        meta_app_secret=fm.app_secret, meta_access_token=fm.access_token, meta_graph_api_base=fm.base_url,
        whatsapp_phone_number_id=fm.phone_number_id, meta_verify_token="verify-token-x",
        attachments_dir=None)
    try:
        c = hub.client
        # Staff: a failed login and a good one.
        r = await c.post("/api/auth/login", json={"email": BAD_EMAIL, "password": BAD_PASSWORD})
        assert r.status_code == 401
        r = await c.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = r.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}

        # Inbound on four channels.
        sid = "SM" + uuid.uuid4().hex
        photo = tw.add_media(sid, png(), "image/png")
        form = tw.inbound_form(sid=sid, from_="whatsapp:" + WA_PHONE, to="whatsapp:+551140000000", body=TEXTS[0],
                               media=[(photo, "image/png")], profile_name=NAMES[0])
        r = await c.post("/channels/twilio/messages", content=_form(form),
                         headers=_tw_headers(tw, "http://hub.test/channels/twilio/messages", form))
        assert r.status_code == 200, r.text
        form = tw.inbound_form(sid="SM" + uuid.uuid4().hex, from_=SMS_PHONE, to="+551140000001", body=TEXTS[1])
        r = await c.post("/channels/twilio/messages", content=_form(form),
                         headers=_tw_headers(tw, "http://hub.test/channels/twilio/messages", form))
        assert r.status_code == 200, r.text
        raw = _meta_body(META_PHONE, NAMES[1], TEXTS[2]).encode()
        r = await c.post("/channels/meta", content=raw, headers={"Content-Type": "application/json",
                                                                  "X-Hub-Signature-256": fm.sign(raw)})
        assert r.status_code == 200, r.text
        mail = EmailMessage(policy=SMTP)
        mail["From"] = f'"{NAMES[2]}" <{MAIL}>'
        mail["To"] = "atendimento@clinica.example"
        mail["Subject"] = f"Assunto {TAG}"
        mail["Message-ID"] = make_msgid(domain="paciente.example")
        mail.set_content(TEXTS[3])
        runtime = hub.app.ctx.runtime
        assert await EmailInbox(runtime.uow, hub.app.ctx.settings).ingest(mail.as_bytes()) is not None

        # Handed to humans (the bot is unreachable); the staff works the WhatsApp conversation.
        async def queued() -> list[dict[str, Any]]:
            q = (await c.get("/api/queue", headers=auth)).json()
            items = q if isinstance(q, list) else q.get("items") or q.get("conversations") or []
            return items if len(items) >= 4 else []
        items = await _until(queued, "four conversations in the queue", 90)
        ids = {str(i.get("conversation_id") or i.get("id")): i for i in items}
        for cid in ids:
            assert (await c.get(f"/api/conversations/{cid}", headers=auth)).status_code == 200
            assert (await c.get(f"/api/conversations/{cid}/patient", headers=auth)).status_code == 200
        wa = next(cid for cid, i in ids.items() if i.get("channel") == "whatsapp")
        assert (await c.post(f"/api/conversations/{wa}/claim", headers=auth)).status_code == 200
        r = await c.post(f"/api/conversations/{wa}/reply", headers=auth, json={"text": TEXTS[4]})
        assert r.status_code == 201, r.text
        detail = (await c.get(f"/api/conversations/{wa}", headers=auth)).json()
        with_media = [m for m in detail["messages"] if m.get("attachments")]
        assert with_media, detail["messages"]
        r = await c.get(f"/api/messages/{with_media[0]['id']}/attachments/0", headers=auth,
                        params={"reason": "atendimento do paciente"})
        assert r.status_code == 200, r.text
        await _until(lambda: _sent(tw), "the reply sent to Twilio", 60)
        await c.post("/api/auth/logout", headers=auth)
    finally:
        await hub.client.aclose()
        await life.stop()

    records = caplog.records
    assert records, "nothing was logged at all: the capture is broken"
    markers = [*TEXTS, *NAMES, MAIL, BAD_EMAIL, BAD_PASSWORD, ADMIN_PASSWORD, token, tw.auth_token, fm.app_secret,
               fm.access_token, *phone_forms(WA_PHONE), *phone_forms(SMS_PHONE), *phone_forms("+" + META_PHONE)]
    leaks = leaks_in_records(records, markers)
    assert not leaks, "\n".join(leaks[:20])


async def _sent(tw: FakeTwilio) -> bool:
    return any(TEXTS[4] in str(r.get("Body")) for r in list(tw.requests))


def _form(form: dict[str, str]) -> bytes:
    from urllib.parse import urlencode
    return urlencode(form).encode()


def _tw_headers(tw: FakeTwilio, url: str, form: dict[str, str]) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": tw.sign(url, form)}


def _meta_body(wa_id: str, name: str, text: str) -> str:
    import json
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "551140000002", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": "wamid." + uuid.uuid4().hex, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]})
