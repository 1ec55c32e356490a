"""WhatsApp's 24-hour window, end to end on the real hub process (SQLite and PostgreSQL + Redis)
with a local server speaking Twilio's REST API: outside the window the inbox refuses free text
and sends an approved template (`ContentSid` + `ContentVariables`, no `Body`); inside it a
normal reply goes out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from handoff.adapters.sql.models import Conversation, Message, StaffUser
from tests.channels.conftest import TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.hub import wait_for

ADMIN = {"email": "admin@clinica.example", "password": "test-password-123"}


async def _hold(hub: Hub, conv_id: str, staff_id: int, last_inbound_at: datetime) -> None:
    """Test setup: the conversation held by `staff_id`, the patient's last message at `last_inbound_at`."""
    async with hub.rt.db.session() as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        conv.state, conv.assigned_agent_id = "assigned", staff_id
        conv.assigned_at = datetime.now(UTC)
        conv.last_inbound_at = last_inbound_at
        await s.commit()


async def test_outside_the_24_hour_window_only_templates_go_out(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers) as hub:
        tw = providers.twilio
        phone = "+55119" + str(uuid.uuid4().int)[:8]
        form = tw.inbound_form(sid="SM" + uuid.uuid4().hex, from_="whatsapp:" + phone, to=TWILIO_WHATSAPP_FROM,
                               body="Oi, preciso remarcar", profile_name="Maria Souza")
        assert tw.post_webhook(hub.url("/channels/twilio/messages"), form).status_code == 200
        conv = await wait_for(lambda: hub.conversation_of("whatsapp", phone), what="the conversation")
        async with hub.rt.db.session() as s:
            admin_id = (await s.execute(select(StaffUser.id).where(StaffUser.email == ADMIN["email"]))).scalar_one()
        await _hold(hub, conv.id, admin_id, datetime.now(UTC) - timedelta(hours=25))

        async def to_patient() -> list[dict[str, Any]]:
            return [r for r in tw.requests if r.get("To") == "whatsapp:" + phone]

        async with httpx.AsyncClient(base_url=hub.base_url, timeout=30) as client:
            token = (await client.post("/api/auth/login", json=ADMIN)).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"

            templates = (await client.get("/api/templates")).json()
            assert {t["id"] for t in templates} >= {"retorno_atendimento", "lembrete_consulta"}
            retorno = next(t for t in templates if t["id"] == "retorno_atendimento")

            detail = (await client.get(f"/api/conversations/{conv.id}")).json()
            window = detail["conversation"]["window"]
            assert window["open"] is False and window["requires_template"] is True
            assert window == detail["window"]

            # Free text is refused (nothing queued); the template goes out instead.
            refused = await client.post(f"/api/conversations/{conv.id}/reply", json={"text": "Olá, Maria!"})
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "window_closed"
            assert "24 horas" in refused.json()["error"]["message"]
            assert await hub.messages(Message.conversation_id == conv.id, Message.direction == "out") == []

            url = f"/api/conversations/{conv.id}/template"
            assert (await client.post(url, json={"template_id": "nao_existe"})).status_code == 404
            # The hub's own reminder template (buttons bound to an appointment) is not for attendants.
            assert "lembrete_consulta_botoes" not in {t["id"] for t in templates}
            hub_only = await client.post(url, json={"template_id": "lembrete_consulta_botoes",
                                                    "variables": ["Maria", "amanhã", "Dr.", "Cardio", "Rua"]})
            assert hub_only.status_code == 404, hub_only.text
            bad = await client.post(url, json={"template_id": "retorno_atendimento", "variables": []})
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_variables"
            sent = await client.post(url, json={"template_id": "retorno_atendimento", "variables": ["Maria"]})
            assert sent.status_code == 201, sent.text
            assert sent.json()["message"]["text"] == (
                "Olá Maria, aqui é da Clínica Exemplo. Podemos continuar seu atendimento por aqui?")

            (request, *_) = await wait_for(to_patient, what="the template reaching Twilio")
            assert request["ContentSid"] == retorno["twilio_content_sid"]
            assert json.loads(request["ContentVariables"]) == {"1": "Maria"}
            assert "Body" not in request and request["From"] == TWILIO_WHATSAPP_FROM

            async def template_sent() -> list[Message]:
                rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
                return rows if rows and rows[-1].status == "sent" else []
            (row,) = await wait_for(template_sent, what="the template marked sent")
            assert row.payload["template"]["id"] == "retorno_atendimento"

            # The patient writes again (window open): a normal reply goes through as free text.
            await _hold(hub, conv.id, admin_id, datetime.now(UTC) - timedelta(hours=1))
            detail = (await client.get(f"/api/conversations/{conv.id}")).json()
            assert detail["window"]["open"] is True and detail["window"]["requires_template"] is False
            text = "Claro, Maria! Como posso ajudar?"
            ok = await client.post(f"/api/conversations/{conv.id}/reply", json={"text": text})
            assert ok.status_code == 201, ok.text

            async def free_text() -> list[dict[str, Any]]:
                return [r for r in await to_patient() if r.get("Body") == text]
            (reply, *_) = await wait_for(free_text, what="the free-text reply reaching Twilio")
            assert "ContentSid" not in reply
