"""Channel tests: the fake providers and a real hub process wired to them.

The hub runs as `python -m handoff` (its real HTTP server) on the test's database; the test
keeps its own `HubRuntime` (no workers) to look into the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message, Patient
from handoff.runtime import HubRuntime
from tests.conftest import Backend
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio
from tests.support.hub import make_settings
from tests.support.mail import Dovecot, SmtpPeer
from tests.support.net import free_port
from tests.support.stack import BotStack, start_hub

TWILIO_WHATSAPP_FROM = "whatsapp:+551140000000"
TWILIO_SMS_FROM = "+551140000001"
TWILIO_VOICE_FROM = "+551140000002"
META_VERIFY_TOKEN = "verify-me-please"
CLINIC = "atendimento@clinica.example"  # the clinic's mailbox (IMAP user, SMTP login, From)
CLINIC_FROM = f"Clínica Exemplo <{CLINIC}>"


@dataclass
class Providers:
    """The local stand-ins for Twilio and Meta."""

    twilio: FakeTwilio
    meta: FakeMeta


@dataclass
class Hub:
    """A running hub process and a database handle on the same database."""

    base_url: str
    rt: HubRuntime
    providers: Providers

    def url(self, path: str) -> str:
        """Absolute URL of a hub path (as configured at the providers: PUBLIC_BASE_URL)."""
        return self.base_url + path

    async def messages(self, *where: Any) -> list[Message]:
        """Message rows matching `where`, oldest first."""
        async with self.rt.db.session() as s:
            return list((await s.execute(select(Message).where(*where).order_by(Message.id))).scalars().all())

    async def patient_of(self, channel: str, external_id: str) -> Patient | None:
        """The patient behind a channel identity."""
        async with self.rt.db.session() as s:
            return (await s.execute(select(Patient).join(ChannelIdentity, ChannelIdentity.patient_id == Patient.id)
                                    .where(ChannelIdentity.channel == channel,
                                           ChannelIdentity.external_id == external_id))).scalar_one_or_none()

    async def conversation_of(self, channel: str, external_id: str) -> Conversation | None:
        """The conversation of a channel identity."""
        async with self.rt.db.session() as s:
            return (await s.execute(select(Conversation).join(ChannelIdentity,
                                                              ChannelIdentity.id == Conversation.identity_id)
                                    .where(ChannelIdentity.channel == channel,
                                           ChannelIdentity.external_id == external_id))).scalar_one_or_none()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the module; every test reads its own mailbox (user)."""
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    """A fresh SMTP server the hub submits replies to."""
    peer = SmtpPeer(user=CLINIC).start()
    yield peer
    peer.stop()


@pytest.fixture
def providers() -> Iterator[Providers]:
    """Fresh fake Twilio and Meta servers."""
    p = Providers(FakeTwilio().start(), FakeMeta().start())
    yield p
    p.twilio.close()
    p.meta.close()


@asynccontextmanager
async def running_hub(backend: Backend, tmp_path: Path, providers: Providers, *,
                      bot: BotStack | None = None, extra_env: dict[str, str] | None = None) -> AsyncIterator[Hub]:
    """Start the hub on `backend`, configured for both providers. With `bot` it talks to the real
    bot stack (and serves the clinic API its actions call); without, the bot is unreachable and
    inbound messages simply stay pending."""
    bot_env = bot.hub_env() if bot else {"RASA_URL": f"http://127.0.0.1:{free_port()}",
                                         "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
                                         "HUB_PORT": str(free_port())}
    port = int(bot_env["HUB_PORT"])
    rasa_url = bot_env["RASA_URL"]
    base_url = f"http://127.0.0.1:{port}"
    tw, meta = providers.twilio, providers.meta
    env = {
        **bot_env, "DATABASE_URL": backend.database_url, "PUBLIC_BASE_URL": base_url,
        "LEASE_SECONDS": "2", "POLL_INTERVAL_SECONDS": "0.2", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "1",
        "BOT_TIMEOUT_SECONDS": "20", "BOT_GRACE_SECONDS": "120", "CLINIC_ADMIN_PASSWORD": "test-password-123",
        "TWILIO_API_BASE": tw.base_url, "TWILIO_ACCOUNT_SID": tw.account_sid, "TWILIO_AUTH_TOKEN": tw.auth_token,
        "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM, "TWILIO_SMS_FROM": TWILIO_SMS_FROM,
        "TWILIO_VOICE_FROM": TWILIO_VOICE_FROM,
        "META_VERIFY_TOKEN": META_VERIFY_TOKEN, "META_APP_SECRET": meta.app_secret,
        "META_ACCESS_TOKEN": meta.access_token, "META_GRAPH_API_BASE": meta.base_url,
        "WHATSAPP_PHONE_NUMBER_ID": meta.phone_number_id,
    }
    if backend.redis_url:
        env["REDIS_URL"] = backend.redis_url
    env.update(extra_env or {})
    proc = start_hub(tmp_path, env, name=f"hub-{port}")
    try:
        rt = await HubRuntime.open(make_settings(backend, rasa_url))
        try:
            yield Hub(base_url, rt, providers)
        finally:
            await rt.close()
    finally:
        proc.kill()
