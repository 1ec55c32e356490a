"""Signed provider webhooks fuzzed (issue 13): missing, wrong and stale signatures, a signed body
altered in transit, oversized, malformed and mistyped bodies. Every one gets a clear 4xx and
NOTHING is stored; a correctly signed request (the control) is stored once, its replay dedupes.

The real app on SQLite and PostgreSQL, served in-process over ASGI (tests/clinic/conftest.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from handoff.adapters.sql.models import ChannelIdentity, Conversation, ConversationEvent, Message, Patient
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend
from tests.support.fixtures import load_fixture
from tests.support.net import free_port
from tests.support.stack import start_hub as start_hub_process

BASE = "http://hub.test"
SID = "AC" + "f" * 32
TOKEN = "twilio-auth-token-" + "t" * 14
SECRET = "meta-app-secret-" + "s" * 16
FORM = "application/x-www-form-urlencoded"
TABLES = (Message, Conversation, Patient, ChannelIdentity, ConversationEvent)


def twilio_sig(path: str, params: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(BASE + path, params))


def meta_sig(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def sms_form(body: str = "quero marcar consulta") -> dict[str, str]:
    form: dict[str, str] = load_fixture("twilio", "messaging_inbound_sms", account_sid=SID, body=body,
                                        from_number="+5511987650001", to_number="+551140000001")
    return form


def call_form() -> dict[str, str]:
    form: dict[str, str] = load_fixture("twilio", "voice_incoming_call", account_sid=SID,
                                        from_number="+5511987650002", to_number="+551140000002")
    return {**form, "CallStatus": "ringing"}


def wa_body(text: str = "oi, preciso de ajuda") -> dict[str, Any]:
    body: dict[str, Any] = load_fixture("whatsapp_cloud", "messages_text", wa_id="5511987650003",
                                        profile_name="Paciente", body=text)
    return body


async def counts(hub: Hub) -> dict[str, int]:
    async with hub.app.ctx.db.session() as s:
        return {m.__tablename__: int((await s.execute(select(func.count()).select_from(m))).scalar_one())
                for m in TABLES}


async def _post(hub: Hub, path: str, content: bytes, headers: dict[str, str]) -> Any:
    return await hub.client.post(path, content=content, headers=headers)


async def test_fuzzed_webhooks_are_refused_and_store_nothing(backend: Backend) -> None:
    hub, life = await start_hub(backend, twilio_account_sid=SID, twilio_auth_token=TOKEN,
                                twilio_sms_from="+551140000001", meta_app_secret=SECRET,
                                meta_verify_token="verify", webhook_max_bytes=64 * 1024, rasa_url="http://127.0.0.1:9")
    try:
        before = await counts(hub)
        refused: list[tuple[str, int]] = []

        async def expect(label: str, status: int, path: str, content: bytes, headers: dict[str, str]) -> None:
            r = await _post(hub, path, content, headers)
            assert r.status_code == status, (label, r.status_code, r.text)
            assert r.json()["error"]["code"], label  # a clear, machine-readable answer
            refused.append((label, status))

        twilio_paths = {"/channels/twilio/messages": sms_form, "/channels/twilio/status": sms_form,
                        "/channels/twilio/voice": call_form, "/channels/twilio/voice/menu": call_form,
                        "/channels/twilio/voice/status": call_form}
        for path, make in twilio_paths.items():
            params = make()
            raw = urlencode(params).encode()
            good = twilio_sig(path, params)
            await expect(f"{path} missing", 403, path, raw, {"Content-Type": FORM})
            await expect(f"{path} empty", 403, path, raw, {"Content-Type": FORM, "X-Twilio-Signature": ""})
            await expect(f"{path} wrong", 403, path, raw, {"Content-Type": FORM, "X-Twilio-Signature": "x" * 28})
            await expect(f"{path} other token", 403, path, raw,
                         {"Content-Type": FORM, "X-Twilio-Signature": twilio_sig(path, params, "other-token")})
            # Replayed with an altered body: the signature was made for the original parameters.
            for changed in ({**params, "Body": "texto trocado"}, {**params, "From": "+5511900000000"},
                            {k: v for k, v in params.items() if k != "To"}, {**params, "Extra": "1"}):
                await expect(f"{path} altered", 403, path, urlencode(changed).encode(),
                             {"Content-Type": FORM, "X-Twilio-Signature": good})
            # Signed for another URL (another hub or path).
            await expect(f"{path} other url", 403, path, raw,
                         {"Content-Type": FORM, "X-Twilio-Signature": twilio_sig("/channels/meta", params)})
            # Truncated in transit (signature of the whole form).
            await expect(f"{path} truncated", 403, path, raw[: len(raw) // 2], {"Content-Type": FORM,
                                                                                  "X-Twilio-Signature": good})
            # Wrong content type (even correctly signed) and no content type.
            await expect(f"{path} json type", 415, path, raw, {"Content-Type": "application/json",
                                                               "X-Twilio-Signature": good})
            await expect(f"{path} no type", 415, path, raw, {"X-Twilio-Signature": good})
            # Oversized, correctly signed.
            big = {**params, "Body": "a" * (65 * 1024)}
            await expect(f"{path} oversized", 413, path, urlencode(big).encode(),
                         {"Content-Type": FORM, "X-Twilio-Signature": twilio_sig(path, big)})
            # Binary garbage.
            await expect(f"{path} garbage", 403, path, bytes(range(256)) * 4,
                         {"Content-Type": FORM, "X-Twilio-Signature": good})

        # A correctly signed but incomplete message (no MessageSid/From): 400, nothing stored.
        path = "/channels/twilio/messages"
        for partial in ({"Body": "oi", "AccountSid": SID}, {**sms_form(), "NumMedia": "3"},
                        {**sms_form(), "From": "not a phone"}):
            await expect("twilio malformed", 400, path, urlencode(partial).encode(),
                         {"Content-Type": FORM, "X-Twilio-Signature": twilio_sig(path, partial)})

        path = "/channels/meta"
        body = json.dumps(wa_body()).encode()
        good = meta_sig(body)
        await expect("meta missing", 403, path, body, {"Content-Type": "application/json"})
        for sig in ("", "sha256=", "sha256=" + "0" * 64, "sha1=" + hashlib.sha1(body).hexdigest(), good.upper(),
                    meta_sig(body, "other-secret"), good[:-2], "sha256=zz" + good[9:]):
            await expect(f"meta wrong {sig[:12]}", 403, path, body,
                         {"Content-Type": "application/json", "X-Hub-Signature-256": sig})
        altered = body.replace(b"preciso de ajuda", b"preciso de ajudX")
        await expect("meta altered", 403, path, altered, {"Content-Type": "application/json",
                                                          "X-Hub-Signature-256": good})
        await expect("meta truncated", 403, path, body[:-10], {"Content-Type": "application/json",
                                                              "X-Hub-Signature-256": good})
        await expect("meta form type", 415, path, body, {"Content-Type": FORM, "X-Hub-Signature-256": good})
        await expect("meta text type", 415, path, body, {"Content-Type": "text/plain", "X-Hub-Signature-256": good})
        big_body = json.dumps(wa_body("b" * (65 * 1024))).encode()
        await expect("meta oversized", 413, path, big_body, {"Content-Type": "application/json",
                                                             "X-Hub-Signature-256": meta_sig(big_body)})
        for bad in (b"{not json", b"", b"[]", b'{"object": "whatsapp_business_account", "entry": "x"}',
                    b"\xff\xfe{}", json.dumps({"object": "unknown", "entry": []}).encode()):
            r = await _post(hub, path, bad, {"Content-Type": "application/json", "X-Hub-Signature-256": meta_sig(bad)})
            assert 400 <= r.status_code < 500 or (r.status_code == 200 and r.json().get("stored") == 0), (bad, r.text)
            refused.append(("meta malformed", r.status_code))

        assert await counts(hub) == before, "a refused webhook stored something"
        assert len(refused) > 80

        # The control: the same requests correctly sent are stored, once even when replayed.
        params = sms_form("controle do teste")
        tw_headers = {"Content-Type": FORM, "X-Twilio-Signature": twilio_sig("/channels/twilio/messages", params)}
        for _ in range(2):
            r = await _post(hub, "/channels/twilio/messages", urlencode(params).encode(), tw_headers)
            assert r.status_code == 200, r.text
        r = await _post(hub, "/channels/meta", body, {"Content-Type": "application/json; charset=utf-8",
                                                      "X-Hub-Signature-256": good})
        assert r.status_code == 200, r.text
        r = await _post(hub, "/channels/meta", body, {"Content-Type": "application/json", "X-Hub-Signature-256": good})
        assert r.status_code == 200 and r.json()["duplicates"] == 1, r.text
        after = await counts(hub)
        assert after["messages"] == before["messages"] + 2, (before, after)
        assert after["channel_identities"] == before["channel_identities"] + 2, (before, after)
    finally:
        await hub.client.aclose()
        await life.stop()


async def test_bodies_past_the_hub_limit_are_refused_before_any_handler(tmp_path: Path) -> None:
    """MAX_REQUEST_BYTES is Sanic's REQUEST_MAX_SIZE: a real hub process (the in-process ASGI
    transport does not enforce it) answers 413 without reading the body into a handler."""
    port = free_port()
    env = {"HUB_PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", "RASA_URL": "http://127.0.0.1:9",
           "ACTIONS_URL": "http://127.0.0.1:9", "CLINIC_ADMIN_PASSWORD": "x" * 16, "SEED_DEMO_CLINIC": "false",
           "CHANNEL_SANDBOX": "false", "META_APP_SECRET": SECRET, "MAX_REQUEST_BYTES": str(256 * 1024)}
    proc = await asyncio.to_thread(start_hub_process, tmp_path, env, "hub-limit")
    try:
        raw = b'{"object": "page", "entry": []}' + b" " * (300 * 1024)
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(f"http://127.0.0.1:{port}/channels/meta", content=raw,
                                  headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_sig(raw)})
            assert r.status_code == 413, r.text
            small = b'{"object": "page", "entry": []}'
            r = await client.post(f"http://127.0.0.1:{port}/channels/meta", content=small,
                                  headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_sig(small)})
            assert r.status_code == 200, r.text
    finally:
        await asyncio.to_thread(proc.kill)
