"""The dashboard's reminder, no-show and waitlist figures (docs/metrics.md, "Reminders, no-show
and waitlist") on known data, on SQLite and PostgreSQL, with the clock the test sets.

`seed(db, now)` writes the data relative to `now` (the browser test uses it with the real clock):
- reminders sent in the last hours: 5 sent, 3 delivered, 1 read, 1 confirmed, 3 cancelled with
  lead times 24 h, 51 h and 22 h (median 24, mean 32.3); one more sent 20 days ago (outside);
- waitlist offers of today: accepted, expired, declined; an accepted one 20 days ago (outside);
- past appointments: "this week" (the 7 days before now) 5 counted, 2 no-shows (a cancelled one
  and one still inside the 2 h grace not counted); "last week" 4 counted, 1 no-show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import AppointmentRow, DoctorRow, Patient, SpecialtyRow
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.adapters.sql.models_waitlist import WaitlistEntry, WaitlistOffer
from handoff.runtime import HubRuntime
from handoff.services.reminders import ReminderService, no_show_state
from tests.conftest import Backend
from tests.reminders.conftest import NOW, local, settings_for


@dataclass
class Seeded:
    """Ids of the seeded rows."""

    cardio_id: int = 0
    derm_id: int = 0
    helena_id: int = 0
    rui_id: int = 0
    patient_id: int = 0
    upcoming: dict[str, int] = field(default_factory=dict)  # "A1".. -> appointment id
    reminders: dict[str, int] = field(default_factory=dict)  # "R1".. -> reminder id


async def seed(db: Database, now: datetime, patient_id: int | None = None) -> Seeded:
    """The module docstring's data, relative to `now` (on `patient_id`, or a new patient)."""
    out = Seeded()
    tag = uuid.uuid4().hex[:6]
    at = lambda days, hours=0.0: now + timedelta(days=days, hours=hours)  # noqa: E731
    async with db.session() as s:
        cardio = SpecialtyRow(slug=f"cardio-{tag}", name="Cardiologia")
        derm = SpecialtyRow(slug=f"derma-{tag}", name="Dermatologia")
        s.add_all([cardio, derm])
        await s.flush()
        helena = DoctorRow(name="Dra. Helena Prado", specialty_id=cardio.id, active=True)
        rui = DoctorRow(name="Dr. Rui Alves", specialty_id=derm.id, active=True)
        s.add_all([helena, rui])
        if patient_id is None:
            p = Patient(display_name="Paciente Painel", created_at=at(-60))
            s.add(p)
            await s.flush()
            patient_id = p.id
        await s.flush()
        out.cardio_id, out.derm_id, out.helena_id, out.rui_id, out.patient_id = (
            cardio.id, derm.id, helena.id, rui.id, patient_id)

        def appt(doctor: DoctorRow, start: datetime, status: str) -> AppointmentRow:
            row = AppointmentRow(patient_id=patient_id, doctor_id=doctor.id, starts_at=start,
                                 ends_at=start + timedelta(minutes=30), status=status,
                                 created_at=at(-30), updated_at=at(-30))
            s.add(row)
            return row

        # Past appointments (no-show figures): (doctor, days, hours from now, status).
        past = [(helena, -6, -3, "done"), (helena, -6, -2, "scheduled"), (helena, -5, -3, "confirmed"),
                (helena, -5, -2, "cancelled"), (helena, -4, -3, "done"), (rui, -4, 2, "done"),
                (rui, 0, -2, "scheduled"),  # ends 1.5 h ago: inside the grace
                (helena, -13, -3, "done"), (helena, -13, -2, "done"), (helena, -12, -3, "scheduled"),
                (rui, -10, 2, "done")]
        for doctor, days, hours, status in past:
            appt(doctor, at(days, hours), status)
        # Upcoming appointments with a reminder each: (key, doctor, start, reply, hours before start
        # of the reply, delivered, read).
        upcoming = [("A1", helena, at(1, -3), "confirmed", 20.0, True, True),
                    ("A2", helena, at(1, -2), "cancelled", 24.0, True, False),
                    ("A3", rui, at(2, 2), "cancelled", 51.0, True, False),
                    ("A4", helena, at(1, -2.5), "cancelled", 22.0, False, False),
                    ("A5", rui, at(2, 3), None, 0.0, False, False)]
        rows: dict[str, tuple[AppointmentRow, ReminderRow]] = {}
        for key, doctor, start, reply, lead, delivered, read in upcoming:
            status = {"confirmed": "confirmed", "cancelled": "cancelled"}.get(reply or "", "scheduled")
            a = appt(doctor, start, status)
            await s.flush()
            r = ReminderRow(appointment_id=a.id, patient_id=patient_id, kind="24h", appointment_start=start,
                            due_at=start - timedelta(hours=24), status="sent", attempts=1, channel="whatsapp",
                            sent_at=at(0, -1), delivered_at=at(0, -0.9) if delivered else None,
                            read_at=at(0, -0.8) if read else None, reply=reply,
                            replied_at=start - timedelta(hours=lead) if reply else None,
                            details={"doctor_id": doctor.id, "specialty_id": doctor.specialty_id},
                            created_at=at(-2), updated_at=at(0, -1))
            s.add(r)
            rows[key] = (a, r)
        old = appt(rui, at(-19), "done")
        await s.flush()
        s.add(ReminderRow(appointment_id=old.id, patient_id=patient_id, kind="24h", appointment_start=at(-19),
                          due_at=at(-20), status="sent", attempts=1, channel="whatsapp", sent_at=at(-20),
                          reply="confirmed", replied_at=at(-19.5),
                          details={"doctor_id": rui.id, "specialty_id": derm.id}, created_at=at(-21),
                          updated_at=at(-20)))
        entry = WaitlistEntry(patient_id=patient_id, specialty=cardio.slug, status="booked",
                              created_at=at(-25), updated_at=at(-1))
        s.add(entry)
        await s.flush()
        for status, created in (("accepted", at(0, -2)), ("expired", at(0, -3)), ("declined", at(0, -4)),
                                ("accepted", at(-20))):
            s.add(WaitlistOffer(entry_id=entry.id, patient_id=patient_id, doctor_id=helena.id, specialty=cardio.slug,
                                starts_at=created + timedelta(days=1), ends_at=created + timedelta(days=1, minutes=30),
                                status=status, hold_until=created + timedelta(hours=1), created_at=created,
                                decided_at=created + timedelta(minutes=10)))
        await s.flush()
        out.upcoming = {k: a.id for k, (a, _) in rows.items()}
        out.reminders = {k: r.id for k, (_, r) in rows.items()}
    return out


def test_no_show_rule() -> None:
    end = NOW - timedelta(hours=3)
    assert no_show_state("scheduled", end, NOW) == "no_show"
    assert no_show_state("confirmed", end, NOW) == "no_show"
    assert no_show_state("done", end, NOW) == "attended"
    assert no_show_state("cancelled", end, NOW) is None
    # Inside the 2 h grace nothing is decided yet; exactly at the end of the grace it is.
    assert no_show_state("scheduled", NOW - timedelta(hours=1, minutes=59), NOW) is None
    assert no_show_state("scheduled", NOW - timedelta(hours=2), NOW) == "no_show"


async def test_stats_on_known_data(backend: Backend) -> None:
    rt = await HubRuntime.open(settings_for(backend))
    try:
        ids = await seed(rt.db, NOW)
        service = ReminderService(rt.uow, rt.settings)
        # NOW is Monday 2026-12-07 12:00 in São Paulo; the period is the week up to Monday night.
        stats = await service.stats(local(1, 0), local(8, 0), now=NOW)
        total = stats["total"]
        assert {k: total[k] for k in ("sent", "delivered", "read", "confirmed", "cancelled")} == {
            "sent": 5, "delivered": 3, "read": 1, "confirmed": 1, "cancelled": 3}
        assert total["confirmation_rate"] == 0.2
        assert total["cancel_lead_hours_median"] == 24.0
        assert total["cancel_lead_hours_mean"] == 32.3  # (24 + 51 + 22) / 3: the existing key is kept
        assert stats["by_doctor"][str(ids.rui_id)]["sent"] == 2
        assert stats["by_specialty"][str(ids.cardio_id)]["cancel_lead_hours_median"] == 23.0  # 24 and 22
        assert stats["waitlist"] == {"offered": 3, "accepted": 1, "expired": 1, "declined": 1, "refilled": 1}
        assert stats["labels"]["doctor"][str(ids.helena_id)] == "Dra. Helena Prado"
        assert stats["labels"]["specialty"][str(ids.derm_id)] == "Dermatologia"

        ns = stats["no_show"]
        assert ns["grace_hours"] == 2.0
        this, last = ns["this_week"], ns["last_week"]
        assert this["to"] == NOW.isoformat() and last["to"] == this["from"]  # ref = min(to, now) = now
        assert this["total"] == {"eligible": 5, "no_show": 2, "rate": 0.4}
        assert last["total"] == {"eligible": 4, "no_show": 1, "rate": 0.25}
        assert this["by_specialty"] == {str(ids.cardio_id): {"eligible": 4, "no_show": 2, "rate": 0.5},
                                        str(ids.derm_id): {"eligible": 1, "no_show": 0, "rate": 0.0}}
        assert this["by_doctor"][str(ids.helena_id)]["rate"] == 0.5
        # Tuesday 1: 09:00 done, 10:00 missed; Wednesday 2: 09:00 missed (10:00 cancelled);
        # Thursday 3: 09:00 and 14:00 done; Monday 7 10:00 is still inside the grace.
        assert this["by_weekday"] == {"1": {"eligible": 2, "no_show": 1, "rate": 0.5},
                                      "2": {"eligible": 1, "no_show": 1, "rate": 1.0},
                                      "3": {"eligible": 2, "no_show": 0, "rate": 0.0}}
        assert last["by_weekday"] == {"1": {"eligible": 2, "no_show": 0, "rate": 0.0},
                                      "2": {"eligible": 1, "no_show": 1, "rate": 1.0},
                                      "4": {"eligible": 1, "no_show": 0, "rate": 0.0}}
        assert ns["period"]["total"] == {"eligible": 5, "no_show": 2, "rate": 0.4}

        # Half an hour later the Monday 10:00 appointment leaves the grace: a third no-show.
        later = await service.stats(local(1, 0), local(8, 0), now=NOW + timedelta(minutes=30))
        assert later["no_show"]["this_week"]["total"]["no_show"] == 3
        # A period ending before now: the week over week is anchored at its end (Friday 4 00:00):
        # this week = 27/11..3/12 (Friday 27 14:00 done joins), last week = 20..26/11.
        early = await service.stats(local(1, 0), local(4, 0), now=NOW)
        assert early["no_show"]["this_week"]["total"] == {"eligible": 6, "no_show": 2, "rate": 0.333}
        assert early["no_show"]["last_week"]["total"] == {"eligible": 3, "no_show": 1, "rate": 0.333}
        assert early["total"]["sent"] == 0
    finally:
        await rt.close()
