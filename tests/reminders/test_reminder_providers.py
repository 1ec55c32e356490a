"""A WhatsApp reminder outside the 24-hour window leaves through the real outbox and connectors
as the approved template: to the local Twilio server (ContentSid + ContentVariables) and to the
local Meta server (a template message); inside the window it goes as text with reply buttons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from handoff.runtime import HubRuntime
from handoff.services.outbox import Outbox
from handoff.services.reminders import ReminderService
from tests.channels.conftest import TWILIO_WHATSAPP_FROM, Providers
from tests.conftest import Backend
from tests.reminders.conftest import World, add_clinic, local, seed_appointment, seed_patient, settings_for
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio


@pytest.fixture
def providers() -> Iterator[Providers]:
    p = Providers(FakeTwilio().start(), FakeMeta().start())
    yield p
    p.twilio.close()
    p.meta.close()


async def _drain(outbox: Outbox) -> None:
    while (conv := await outbox.claim("test-outbox")) is not None:
        await outbox.drain(conv, "test-outbox")


async def test_whatsapp_reminders_reach_twilio_and_meta(backend: Backend, providers: Providers) -> None:
    tw, meta = providers.twilio, providers.meta
    settings = settings_for(
        backend, twilio_api_base=tw.base_url, twilio_account_sid=tw.account_sid, twilio_auth_token=tw.auth_token,
        twilio_whatsapp_from=TWILIO_WHATSAPP_FROM, meta_access_token=meta.access_token,
        meta_app_secret=meta.app_secret, meta_graph_api_base=meta.base_url,
        whatsapp_phone_number_id=meta.phone_number_id)
    rt = await HubRuntime.open(settings)
    try:
        w: World = await add_clinic(rt, backend)
        now = local(7, 14, 5)
        twilio_pid, _ = await seed_patient(w, channel="whatsapp", external_id="+5511988887777",
                                           last_inbound=now - timedelta(days=2))
        meta_pid, _ = await seed_patient(w, channel="whatsapp_meta", external_id="5511977776666",
                                         last_inbound=now - timedelta(days=2))
        open_pid, _ = await seed_patient(w, channel="whatsapp_meta", external_id="5511966665555",
                                         last_inbound=now - timedelta(hours=2))
        for pid in (twilio_pid, meta_pid, open_pid):
            await seed_appointment(w, pid, local(8, 14), created=now - timedelta(hours=1))
        service = ReminderService(rt.uow, settings)
        await service.plan(now)
        assert await service.send_due(now) == {"sent": 3}
        await _drain(Outbox(rt.uow, rt.senders, settings))

        (req,) = [r for r in tw.requests if r.get("To") == "whatsapp:+5511988887777"]
        assert req["ContentSid"] == "HX00000000000000000000000000000003" and "Body" not in req
        variables = json.loads(req["ContentVariables"])
        assert variables["2"] == "terça-feira, 08/12 às 14:00" and variables["3"] == "Dra. Helena Prado"

        sent = {r["json"]["to"]: r["json"] for r in meta.sent("whatsapp")}
        template = sent["5511977776666"]
        assert template["type"] == "template"
        assert template["template"]["name"] == "lembrete_consulta_botoes"
        params = template["template"]["components"][0]["parameters"]
        assert [p["text"] for p in params][2] == "Dra. Helena Prado"
        quick = [c for c in template["template"]["components"] if c["type"] == "button"]
        assert [(c["sub_type"], c["index"]) for c in quick] == [("quick_reply", "0"), ("quick_reply", "1"),
                                                               ("quick_reply", "2")]
        assert quick[0]["parameters"][0]["payload"].startswith('/confirm_appointment{"appointment_id":"')
        assert quick[2]["parameters"][0]["payload"].startswith('/reschedule_appointment{"appointment_id":"')
        inside = sent["5511966665555"]  # inside the window: text with the three reply buttons
        assert inside["type"] == "interactive"
        buttons = inside["interactive"]["action"]["buttons"]
        assert [b["reply"]["title"] for b in buttons] == ["Confirmar", "Cancelar", "Remarcar"]
        assert buttons[0]["reply"]["id"].startswith('/confirm_appointment{"appointment_id":"')
    finally:
        await rt.close()
