"""The e-mail reminder's confirm link on the real app (create_app over ASGI, both backends): the
page shows the appointment, POST confirms it through the clinic service, a wrong token finds
nothing; the staff history shows the reminder and the derived reply."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AppointmentRow, ChannelIdentity, Conversation, DoctorRow, Message, Patient
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.services import staff as staff_service
from handoff.services.reminders import ReminderService
from tests.clinic.conftest import start_hub
from tests.conftest import Backend


async def test_email_confirm_link_confirms_the_appointment(backend: Backend) -> None:
    hub, life = await start_hub(backend, reminders_enabled=False, public_base_url="https://atende.clinica.example")
    try:
        db, now = hub.app.ctx.db, utcnow()
        async with db.session() as s:
            doctor = (await s.execute(select(DoctorRow).limit(1))).scalars().one()
            p = Patient(display_name="Rita Lembrete", email="rita@exemplo.com", created_at=now - timedelta(days=9))
            s.add(p)
            await s.flush()
            ident = ChannelIdentity(channel="email", external_id="rita@exemplo.com", patient_id=p.id, created_at=now)
            s.add(ident)
            await s.flush()
            conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel="email",
                                state="bot", priority="normal", created_at=now, updated_at=now)
            start = (now + timedelta(days=20)).replace(second=17, microsecond=0)
            appt = AppointmentRow(patient_id=p.id, doctor_id=doctor.id, starts_at=start,
                                  ends_at=start + timedelta(minutes=30), status="scheduled",
                                  created_at=now - timedelta(days=9), updated_at=now - timedelta(days=9))
            s.add_all([conv, appt])
            await s.flush()
            # a reminder due a minute ago (the planner's placement is covered elsewhere)
            s.add(ReminderRow(appointment_id=appt.id, patient_id=p.id, kind="24h", appointment_start=start,
                              due_at=now - timedelta(minutes=1), status="scheduled", attempts=0,
                              details={}, created_at=now, updated_at=now))
            appt_id, conv_id, pid = appt.id, conv.id, p.id
        service = ReminderService(hub.app.ctx.uow, hub.app.ctx.settings)
        assert await service.send_due(now) == {"sent": 1}
        async with db.session() as s:
            msg = (await s.execute(select(Message).where(Message.conversation_id == conv_id))).scalars().one()
        link = next(w for w in msg.text.split() if "/lembrete/" in w)
        path = link.removeprefix("https://atende.clinica.example")
        assert path.startswith("/lembrete/") and path.endswith("/confirmar")

        page = await hub.client.get(path)
        assert page.status_code == 200 and "Confirmar presença" in page.text
        assert (await hub.client.get(path.replace("/lembrete/", "/lembrete/x"))).status_code == 404
        done = await hub.client.post(path)
        assert done.status_code == 200 and "Presença confirmada" in done.text
        async with db.session() as s:
            row = await s.get(AppointmentRow, appt_id)
            assert row is not None and row.status == "confirmed" and row.patient_id == pid

        await service.plan(utcnow() + timedelta(seconds=1))
        headers = await hub.staff()
        r = await hub.client.get(f"/api/reminders?appointment_id={appt_id}", headers=headers)
        assert r.status_code == 200, r.text
        (h,) = r.json()["reminders"]
        assert (h["status"], h["channel"], h["reply"]) == ("sent", "email", "confirmed")
        stats = await hub.client.get("/api/reminders/stats", headers=headers,
                                     params={"from": (now - timedelta(days=1)).isoformat(),
                                             "to": (now + timedelta(days=1)).isoformat()})
        assert stats.status_code == 200, stats.text
        total = stats.json()["total"]
        assert (total["sent"], total["confirmed"], total["confirmation_rate"]) == (1, 1, 1.0)

        # an attendant who sees none of the patient's conversations: 404, as for no appointment
        await staff_service.create_staff(hub.app.ctx.uow, "dora@clinica.example", "Dora", "attendant",
                                         "dora-senha-" + "w" * 10, queues=("exams",))
        r = await hub.client.post("/api/auth/login", json={"email": "dora@clinica.example",
                                                           "password": "dora-senha-" + "w" * 10})
        dora = {"Authorization": f"Bearer {r.json()['token']}"}
        other = await hub.client.get(f"/api/reminders?appointment_id={appt_id}", headers=dora)
        unknown = await hub.client.get("/api/reminders?appointment_id=999999", headers=headers)
        assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()
        assert (await hub.client.get("/api/reminders/stats", headers=dora)).status_code == 403
    finally:
        await hub.client.aclose()
        await life.stop()
