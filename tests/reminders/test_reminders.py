"""Reminders end to end on the database (SQLite and PostgreSQL), with a clock the tests set:
planning is idempotent, each reminder is sent once (leases, crash recovery, two workers), stale
ones are skipped after downtime, opt-out / no contact / cancelled / moved are recorded, the
WhatsApp window picks free text or the template, e-mail carries a confirm link, replies are
derived from the appointment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handoff.adapters.sql.models import AppointmentRow, ConsentRow, Message
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.runtime import HubRuntime
from handoff.services.reminders import ReminderService, token_digest
from tests.conftest import Backend
from tests.reminders.conftest import NOW, World, add_clinic, local, seed_appointment, seed_patient, settings_for


async def reminders_of(w: World, appointment_id: int) -> dict[str, ReminderRow]:
    async with w.rt.db.session() as s:
        rows = (await s.execute(select(ReminderRow).where(ReminderRow.appointment_id == appointment_id))).scalars()
        return {f"{r.kind}@{r.appointment_start.replace(tzinfo=None):%d%H%M}": r for r in rows}


async def by_kind(w: World, appointment_id: int) -> dict[str, ReminderRow]:
    return {k.split("@")[0]: r for k, r in (await reminders_of(w, appointment_id)).items()}


async def messages(w: World, conversation_id: str | None) -> list[Message]:
    async with w.rt.db.session() as s:
        q = select(Message).where(Message.conversation_id == conversation_id, Message.direction == "out")
        return list((await s.execute(q.order_by(Message.id))).scalars())


async def test_plan_is_idempotent_and_follows_the_schedule(world: World) -> None:
    pid, _ = await seed_patient(world)
    appt = await seed_appointment(world, pid, local(9, 9, 30))  # Wednesday 09:30
    assert (await world.service.plan(NOW))["planned"] == 3
    assert (await world.service.plan(NOW))["planned"] == 0
    assert (await ReminderService(world.rt.uow, world.rt.settings).plan(NOW + timedelta(minutes=5)))["planned"] == 0
    rows = await by_kind(world, appt)
    assert set(rows) == {"48h", "24h", "morning"}
    assert all(r.status == "scheduled" for r in rows.values())
    # a booking made after a reminder's moment does not owe it
    late = await seed_appointment(world, pid, local(8, 14), created=NOW)
    await world.service.plan(NOW)
    assert set(await by_kind(world, late)) == {"24h"}


async def test_sends_once_with_buttons_inside_the_window(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    appt = await seed_appointment(world, pid, local(9, 9, 30))
    await world.service.plan(NOW)
    assert await world.service.send_due(NOW) == {"sent": 1}  # the 48 h one, 2.5 h late: within its window
    assert await world.service.send_due(NOW) == {}
    out = await messages(world, conv)
    assert len(out) == 1
    msg = out[0]
    assert msg.status == "queued" and "template" not in msg.payload
    assert [b["payload"] for b in msg.payload["buttons"]] == [
        f'/confirm_appointment{{"appointment_id":"{appt}"}}', f'/cancel_appointment{{"appointment_id":"{appt}"}}',
        f'/reschedule_appointment{{"appointment_id":"{appt}"}}']
    assert [b["title"] for b in msg.payload["buttons"]] == ["Confirmar", "Cancelar", "Remarcar"]
    assert "quarta-feira, 09/12, às 09:30" in msg.text and "Dra. Helena Prado" in msg.text
    assert "Cardiologia" in msg.text and "Rua das Flores, 100" in msg.text
    r = (await by_kind(world, appt))["48h"]
    assert (r.status, r.message_id, r.channel, r.conversation_id) == ("sent", msg.id, "whatsapp", conv)
    assert r.sent_at is not None and r.attempts == 1
    history = await world.service.history(appt)
    assert [h["status"] for h in history] == ["sent", "scheduled", "scheduled"]
    assert history[0]["delivery"] == "queued"


async def test_crash_after_claim_is_sent_once_after_the_lease_expires(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    appt = await seed_appointment(world, pid, local(8, 14), created=NOW)  # only the 24 h one: Monday 14:00
    await world.service.plan(NOW)
    t = local(7, 14, 30)
    crashed = ReminderService(world.rt.uow, world.rt.settings, owner="crashed")
    rid = await crashed.claim(t)
    assert rid is not None  # ...and the process dies here, before delivering
    other = ReminderService(world.rt.uow, world.rt.settings, owner="other")
    assert await other.send_due(t) == {}  # the lease still holds
    later = t + timedelta(seconds=world.rt.settings.reminder_lease_seconds + 1)
    assert await other.send_due(later) == {"sent": 1}
    assert await crashed.deliver(rid, later) is None  # its lease is gone: it sends nothing
    assert len(await messages(world, conv)) == 1
    r = (await by_kind(world, appt))["24h"]
    assert r.status == "sent" and r.attempts == 2


async def test_downtime_catch_up_skips_stale_and_sends_the_fresh(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    appt = await seed_appointment(world, pid, local(8, 14))  # Tuesday 14:00
    # the hub was down since Saturday: nothing was planned; it comes back Monday 14:30
    back = local(7, 14, 30)
    await world.service.plan(back)
    assert await world.service.send_due(back) == {"skipped_stale": 1, "sent": 1}
    rows = await by_kind(world, appt)
    assert (rows["48h"].status, rows["48h"].last_error, rows["48h"].message_id) == ("skipped_stale", "stale", None)
    assert rows["24h"].status == "sent"
    assert len(await messages(world, conv)) == 1


async def test_opt_out_revoked_consent_no_contact_cancelled_and_moved(world: World) -> None:
    start = local(8, 14)
    opted, c1 = await seed_patient(world)
    revoked, c2 = await seed_patient(world)
    nobody, _ = await seed_patient(world, channel=None)
    web_only, _ = await seed_patient(world, channel="webchat")
    cancelled, c3 = await seed_patient(world)
    moved, c4 = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    ids = {name: await seed_appointment(world, pid, start) for name, pid in
           [("opted", opted), ("revoked", revoked), ("nobody", nobody), ("web_only", web_only),
            ("cancelled", cancelled), ("moved", moved)]}
    await world.service.opt_out(opted, NOW, channel="whatsapp")
    async with world.rt.db.session() as s:
        s.add(ConsentRow(patient_id=revoked, granted=True, version="privacidade-v1",
                         created_at=NOW - timedelta(days=9)))
        s.add(ConsentRow(patient_id=revoked, granted=False, version="revogacao-titular",
                         created_at=NOW - timedelta(days=1)))
    await world.service.plan(NOW - timedelta(hours=1))
    async with world.rt.db.session() as s:
        a = await s.get(AppointmentRow, ids["cancelled"])
        assert a is not None
        a.status, a.updated_at = "cancelled", NOW
        m = await s.get(AppointmentRow, ids["moved"])
        assert m is not None
        m.starts_at, m.updated_at = local(9, 16), NOW
    counts = await world.service.plan(NOW)
    assert counts["inactive"] >= 2  # the cancelled one's and the moved one's old rows
    await world.service.send_due(local(7, 14, 30))
    status = {name: (await by_kind(world, aid))["24h"] for name, aid in ids.items() if name != "moved"}
    assert status["opted"].status == "skipped_opt_out"
    assert status["revoked"].status == "skipped_opt_out"
    assert status["nobody"].status == "skipped_no_contact"
    assert status["web_only"].status == "skipped_no_contact"
    assert status["cancelled"].status == "skipped_inactive"
    moved_rows = await reminders_of(world, ids["moved"])
    old = [r for k, r in moved_rows.items() if k.startswith("24h") and r.status == "skipped_inactive"]
    new = [r for r in moved_rows.values() if r.status == "scheduled"]
    assert len(old) == 1 and {r.kind for r in new} == {"48h", "24h"}  # new reminders for the new start
    for conv in (c1, c2, c3, c4):
        assert await messages(world, conv) == []


async def test_whatsapp_outside_the_window_goes_as_the_reminder_template(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(days=3))
    meta_pid, meta_conv = await seed_patient(world, channel="whatsapp_meta", last_inbound=None)
    await seed_appointment(world, pid, local(8, 14), created=NOW)
    await seed_appointment(world, meta_pid, local(8, 14), created=NOW)
    await world.service.plan(NOW)
    assert await world.service.send_due(local(7, 14, 5)) == {"sent": 2}
    (msg,) = await messages(world, conv)
    t = msg.payload["template"]
    assert t["id"] == "lembrete_consulta_botoes" and t["twilio_content_sid"] == "HX00000000000000000000000000000003"
    assert t["variables"][1:] == ["terça-feira, 08/12 às 14:00", "Dra. Helena Prado", "Cardiologia",
                                  "Rua das Flores, 100 - São Paulo"]
    assert t["variables"][0].startswith("Maria")
    (meta_msg,) = await messages(world, meta_conv)
    assert meta_msg.payload["template"]["meta_name"] == "lembrete_consulta_botoes"


async def test_email_carries_a_confirm_link_and_only_its_digest_is_kept(world: World) -> None:
    pid, conv = await seed_patient(world, channel="email")
    appt = await seed_appointment(world, pid, local(8, 14))
    await world.service.plan(NOW)
    await world.service.send_due(local(7, 14, 5))
    (msg,) = await messages(world, conv)
    link = next(line for line in msg.text.splitlines() if "/lembrete/" in line).split()[-1]
    assert link.startswith("https://atende.clinica.example/lembrete/") and link.endswith("/confirmar")
    token = link.split("/")[-2]
    r = (await by_kind(world, appt))["24h"]
    assert r.token_hash == token_digest(token) and token not in (r.token_hash or "")
    found = await world.service.by_token(token)
    assert found is not None and found.id == r.id
    assert await world.service.by_token("x" + token) is None


async def test_replies_are_derived_from_the_appointment(world: World) -> None:
    pid, _ = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    pid2, _ = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    confirmed = await seed_appointment(world, pid, local(8, 14))
    cancelled = await seed_appointment(world, pid2, local(8, 14))
    await world.service.plan(NOW)
    await world.service.send_due(local(7, 14, 5))
    async with world.rt.db.session() as s:
        for aid, status in ((confirmed, "confirmed"), (cancelled, "cancelled")):
            a = await s.get(AppointmentRow, aid)
            assert a is not None
            a.status, a.updated_at = status, local(7, 15)
    await world.service.plan(local(7, 16))
    assert await world.service.plan(local(7, 17)) == {"planned": 0, "inactive": 0, "replies": 0}
    r1 = (await by_kind(world, confirmed))["24h"]
    r2 = (await by_kind(world, cancelled))["24h"]
    assert (r1.reply, r2.reply) == ("confirmed", "cancelled")
    assert r1.replied_at is not None


async def test_delivery_and_read_come_from_the_message_row(world: World) -> None:
    pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
    appt = await seed_appointment(world, pid, local(8, 14), created=NOW)
    await world.service.plan(NOW)
    await world.service.send_due(local(7, 14, 5))
    (msg,) = await messages(world, conv)
    async with world.rt.db.session() as s:
        row = await s.get(Message, msg.id)
        assert row is not None
        row.status = "read"  # as a provider status report leaves it
    await world.service.plan(local(7, 14, 30))
    (h,) = [h for h in await world.service.history(appt) if h["status"] == "sent"]
    assert h["delivery"] == "read" and h["delivered_at"] and h["read_at"]
    stats = await world.service.stats(local(7, 0), local(8, 0))
    assert (stats["total"]["sent"], stats["total"]["delivered"], stats["total"]["read"]) == (1, 1, 1)
    assert list(stats["by_weekday"]) == ["1"]  # Tuesday's appointment


async def test_no_reminder_template_configured_fails_without_sending(backend: Backend) -> None:
    rt = await HubRuntime.open(settings_for(backend, reminder_template_id="nao_existe"))
    try:
        w = await add_clinic(rt, backend)
        pid, conv = await seed_patient(w, last_inbound=NOW - timedelta(days=3))
        appt = await seed_appointment(w, pid, local(8, 14), created=NOW)
        await w.service.plan(NOW)
        assert await w.service.send_due(local(7, 14, 5)) == {"failed": 1}
        r = (await by_kind(w, appt))["24h"]
        assert (r.status, r.last_error, r.message_id) == ("failed", "no_template", None)
        assert await messages(w, conv) == []
    finally:
        await rt.close()


async def test_two_workers_send_each_reminder_once(world: World) -> None:
    if world.backend.name != "postgres":
        pytest.skip("concurrent writers: PostgreSQL (SKIP LOCKED)")
    convs = []
    for i in range(12):
        pid, conv = await seed_patient(world, last_inbound=NOW - timedelta(hours=1))
        convs.append(conv)
        await seed_appointment(world, pid, local(8, 14) + timedelta(minutes=i))
    await world.service.plan(NOW)
    workers = [ReminderService(world.rt.uow, world.rt.settings, owner=f"w{i}") for i in range(3)]
    results = await asyncio.gather(*(w.send_due(local(7, 14, 30)) for w in workers))
    assert sum(r.get("sent", 0) for r in results) == 12
    async with world.rt.db.session() as s:
        n = (await s.execute(select(func.count()).select_from(Message).where(
            Message.conversation_id.in_(convs), Message.direction == "out"))).scalar_one()
        assert n == 12


async def test_a_pass_planning_thousands_of_rows_is_not_refused(world: World) -> None:
    """A first pass over a busy clinic plans thousands of rows at once; one INSERT binding them all
    would exceed the database's limit of 32,767 parameters and plan nothing (bench/reminders.py
    found it with 7,997 rows)."""
    pid, _ = await seed_patient(world)
    base = local(9, 8)  # Wednesday 08:00 clinic time: 48 h and 24 h reminders both still ahead of NOW
    async with world.rt.db.session() as s:
        s.add_all([AppointmentRow(patient_id=pid, doctor_id=world.doctor_id, starts_at=base + timedelta(minutes=i),
                                  ends_at=base + timedelta(minutes=i + 30), status="scheduled",
                                  created_at=NOW - timedelta(days=10), updated_at=NOW - timedelta(days=10))
                   for i in range(1800)])
    planned = (await world.service.plan(NOW))["planned"]
    async with world.rt.db.session() as s:
        stored = (await s.execute(select(func.count()).select_from(ReminderRow))).scalar_one()
    assert planned == stored and stored > 3300, (planned, stored)
    assert (await world.service.plan(NOW))["planned"] == 0
