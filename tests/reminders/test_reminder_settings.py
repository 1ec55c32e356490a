"""Reminder settings (issue 15 item 6): the clinic edits schedules and texts, previews them per
channel and e-mails itself a test.

- Service level (SQLite and PostgreSQL, the tests' clock): a stored 24 h text is what the next
  24 h reminder says (placeholders filled), other kinds keep the built-in text, "back to the
  built-in" restores it; an e-mail reminder with a custom text still ends with the confirm link.
- Validation: unknown placeholders are named in the 400, length and unmatched braces refused;
  schedules: 1–168 h, at most 4, distinct, flags required.
- HTTP (the real app in process): managers read/change rules and texts (audit-logged), attendants
  get 403; the preview shows WhatsApp buttons, SMS numbered options, the e-mail confirm link;
  "Enviar teste para mim" answers 409 without the e-mail channel and, with a real local SMTP
  server, delivers the reminder to the manager's own address.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff.adapters.sql.models import AuditLog, Message
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.services import staff as staff_service
from handoff.services.reminders import ReminderSettingsError, check_body, check_kind, check_rule
from tests.clinic.conftest import start_hub
from tests.conftest import Backend
from tests.reminders.conftest import NOW, World, local, seed_appointment, seed_patient
from tests.support.mail import MAIL_PASSWORD, SmtpPeer

MANAGER = ("gestora@clinica.example", "gestora-senha-" + "m" * 10)
ATTENDANT = ("atendente@clinica.example", "atendente-senha-" + "a" * 10)
CLINIC_MAIL = "atendimento@clinica.example"
CUSTOM = "Oi {nome}! Sua consulta com {medico} ({especialidade}) é {quando}. Endereço: {endereco}."


async def outbound(w: World, conversation_id: str | None) -> list[Message]:
    async with w.rt.db.session() as s:
        q = select(Message).where(Message.conversation_id == conversation_id, Message.direction == "out")
        return list((await s.execute(q.order_by(Message.id))).scalars())


async def kind_of(w: World, message_id: int) -> str:
    async with w.rt.db.session() as s:
        row = (await s.execute(select(ReminderRow).where(ReminderRow.message_id == message_id))).scalar_one()
        return row.kind


async def test_the_next_24h_reminder_uses_the_stored_text(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    await seed_appointment(world, pid, local(9, 9, 30))  # Wednesday 09:30: 48 h due now, 24 h tomorrow
    await world.service.save_text("24h", CUSTOM, None, NOW)
    await world.service.plan(NOW)
    assert await world.service.send_due(NOW) == {"sent": 1}
    (first,) = await outbound(world, conv)
    assert await kind_of(world, first.id) == "48h"
    assert first.text.startswith("Olá, Maria! Lembrete da sua consulta")  # built-in: 48 h has no own text

    tomorrow = local(8, 9, 31)
    await world.service.plan(tomorrow)
    assert await world.service.send_due(tomorrow) == {"sent": 1}
    second = (await outbound(world, conv))[-1]
    assert await kind_of(world, second.id) == "24h"
    assert second.text == ("Oi Maria! Sua consulta com Dra. Helena Prado (Cardiologia) é quarta-feira, 09/12, "
                           "às 09:30. Endereço: Rua das Flores, 100 - São Paulo.")
    assert [b["title"] for b in second.payload["buttons"]] == ["Confirmar", "Cancelar", "Remarcar"]

    await world.service.save_text("24h", None, None, tomorrow)  # back to the built-in text
    assert await world.service.stored_text("24h") is None


async def test_a_custom_email_reminder_still_carries_the_confirm_link(world: World) -> None:
    pid, conv = await seed_patient(world, channel="email")
    await seed_appointment(world, pid, local(8, 14))
    await world.service.save_text("24h", "Olá {nome}, até {quando}!", None, NOW)
    await world.service.plan(NOW)
    await world.service.send_due(local(7, 14, 5))
    (msg,) = await outbound(world, conv)
    lines = msg.text.splitlines()
    assert lines[0] == "Olá Maria, até terça-feira, 08/12, às 14:00!"
    assert lines[1].startswith("Para confirmar sua presença, acesse: https://atende.clinica.example/lembrete/")


def test_texts_and_rules_are_validated_with_clear_messages() -> None:
    assert check_body("  Olá {nome}  ") == "Olá {nome}"
    assert check_body("") is None and check_body(None) is None
    with pytest.raises(ReminderSettingsError, match=r"\{paciente\}"):
        check_body("Olá {paciente}, sua consulta é {quando}")
    with pytest.raises(ReminderSettingsError, match="máximo é 1000"):
        check_body("x" * 1001)
    with pytest.raises(ReminderSettingsError, match="sem par"):
        check_body("Olá {nome")
    with pytest.raises(ReminderSettingsError, match=r"\{nome.__class__\}"):
        check_body("{nome.__class__}")
    assert check_kind("24h") == "24h" and check_kind("morning") == "morning"
    for bad in ("0h", "169h", "24", "x", None):
        with pytest.raises(ReminderSettingsError):
            check_kind(bad)
    ok = check_rule({"offsets_hours": [24, 72], "morning_of": False, "enabled": True})
    assert ok.offsets_hours == (72, 24) and not ok.morning_of
    for offsets, message in (([0], "entre 1 e 168"), ([169], "entre 1 e 168"), ([1, 2, 3, 4, 5], "No máximo 4"),
                             ([24, 24], "repetidas"), (["24"], "números inteiros"), ([True], "números inteiros")):
        with pytest.raises(ReminderSettingsError, match=message):
            check_rule({"offsets_hours": offsets, "morning_of": True, "enabled": True})
    with pytest.raises(ReminderSettingsError, match="manhã da consulta"):
        check_rule({"offsets_hours": [24], "enabled": True})


async def _login(hub: Any, email: str, password: str) -> dict[str, str]:
    r = await hub.client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _staff_hub(backend: Backend, **overrides: Any) -> tuple[Any, Any, dict[str, str], dict[str, str]]:
    # channel_sandbox off: the sandbox would stand in for a mail server the test means to lack
    hub, life = await start_hub(backend, seed_demo_clinic=True, channel_sandbox=False, **overrides)
    await staff_service.create_staff(hub.app.ctx.uow, MANAGER[0], "Gestora", "manager", MANAGER[1])
    await staff_service.create_staff(hub.app.ctx.uow, ATTENDANT[0], "Atendente", "attendant", ATTENDANT[1],
                                     queues=("reception",))
    return hub, life, await _login(hub, *MANAGER), await _login(hub, *ATTENDANT)


async def test_managers_edit_rules_and_texts_and_preview_per_channel(backend: Backend) -> None:
    hub, life, mgr, att = await _staff_hub(backend)
    try:
        c = hub.client
        for method, path in (("GET", "/api/reminders/rules"), ("GET", "/api/reminders/texts"),
                             ("PUT", "/api/reminders/texts"), ("POST", "/api/reminders/preview")):
            assert (await c.request(method, path, headers=att, json={})).status_code == 403
        assert (await c.get("/lembretes", headers=att)).status_code == 403

        rules = (await c.get("/api/reminders/rules", headers=mgr)).json()
        assert rules["default"] == {"offsets_hours": [48, 24], "morning_of": True, "enabled": True}
        spec = rules["specialties"][0]
        r = await c.put("/api/reminders/rules", headers=mgr,
                        json={"specialty_id": None, "offsets_hours": [24, 200], "morning_of": True, "enabled": True})
        assert r.status_code == 400 and "entre 1 e 168" in r.json()["error"]["message"]
        r = await c.put("/api/reminders/rules", headers=mgr,
                        json={"specialty_id": spec["specialty_id"], "offsets_hours": [72, 2], "morning_of": False,
                              "enabled": True})
        assert r.status_code == 200, r.text
        mine = next(s for s in r.json()["specialties"] if s["specialty_id"] == spec["specialty_id"])
        assert mine["rule"] == {"offsets_hours": [72, 2], "morning_of": False, "enabled": True}
        kinds = [t["kind"] for t in (await c.get("/api/reminders/texts", headers=mgr)).json()["texts"]]
        assert kinds == ["72h", "48h", "24h", "2h", "morning"]
        r = await c.put("/api/reminders/rules", headers=mgr,
                        json={"specialty_id": spec["specialty_id"], "inherit": True})
        assert next(s for s in r.json()["specialties"] if s["specialty_id"] == spec["specialty_id"])["rule"] is None

        r = await c.put("/api/reminders/texts", headers=mgr, json={"kind": "24h", "body": "Olá {paciente}!"})
        assert r.status_code == 400 and "{paciente}" in r.json()["error"]["message"]
        draft = "Oi {nome}, consulta {quando} com {medico}."
        previews = {ch: (await c.post("/api/reminders/preview", headers=mgr,
                                      json={"kind": "24h", "channel": ch, "body": draft})).json()
                    for ch in ("whatsapp", "sms", "email")}
        assert previews["whatsapp"]["text"].startswith("Oi Maria, consulta ")
        assert previews["whatsapp"]["buttons"] == ["Confirmar", "Cancelar", "Remarcar"]
        assert previews["whatsapp"]["template"]["id"] == "lembrete_consulta_botoes"
        assert previews["sms"]["text"].endswith(
            "1. Confirmar\n2. Cancelar\n3. Remarcar\nResponda com o número da opção.")
        assert "http://hub.test/lembrete/exemplo/confirmar" in previews["email"]["text"]
        saved = (await c.post("/api/reminders/preview", headers=mgr, json={"kind": "24h", "channel": "sms"})).json()
        assert saved["text"].startswith("Olá, Maria! Lembrete")  # nothing saved yet: the built-in text

        r = await c.put("/api/reminders/texts", headers=mgr, json={"kind": "24h", "body": draft})
        assert r.status_code == 200
        assert next(t for t in r.json()["texts"] if t["kind"] == "24h")["body"] == draft
        saved = (await c.post("/api/reminders/preview", headers=mgr, json={"kind": "24h", "channel": "sms"})).json()
        assert saved["text"].startswith("Oi Maria, consulta ")

        r = await c.post("/api/reminders/test", headers=mgr, json={"kind": "24h"})
        assert r.status_code == 409 and "e-mail não está configurado" in r.json()["error"]["message"]
        async with hub.app.ctx.db.session() as s:
            actions = set((await s.execute(select(AuditLog.action))).scalars())
        assert {"reminders.rules_change", "reminders.text_change"} <= actions
    finally:
        await life.stop()


async def test_send_test_mails_the_staff_member_through_the_email_sender(backend: Backend) -> None:
    peer = SmtpPeer(user=CLINIC_MAIL).start()
    try:
        hub, life, mgr, att = await _staff_hub(
            backend, email_smtp_host="127.0.0.1", email_smtp_port=peer.port, email_smtp_user=CLINIC_MAIL,
            email_smtp_password=MAIL_PASSWORD, email_smtp_starttls=False, email_from=f"Clínica <{CLINIC_MAIL}>")
        try:
            assert (await hub.client.post("/api/reminders/test", headers=att, json={"kind": "24h"})).status_code == 403
            r = await hub.client.post("/api/reminders/test", headers=mgr,
                                      json={"kind": "24h", "body": "Teste {nome} {quando}"})
            assert r.status_code == 200, r.text
            assert r.json() == {"sent_to": MANAGER[0]}
            (mail,) = peer.to(MANAGER[0])
            body = mail.message.get_content()
            assert "Teste Maria" in body and "/lembrete/exemplo/confirmar" in body
            async with hub.app.ctx.db.session() as s:
                audited = (await s.execute(select(AuditLog).where(AuditLog.action == "reminders.test_send"))).scalars()
                assert [a.subject for a in audited] == ["reminder_text:24h"]
        finally:
            await life.stop()
    finally:
        peer.stop()
