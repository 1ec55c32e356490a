"""A hand-built history for the dashboard tests, with every expected figure worked out by hand.

Range: Monday 2025-03-10 .. Sunday 2025-03-23 in America/Sao_Paulo (UTC−3 all year since
2019): 14 days, every weekday twice. Times below are clinic wall time.

Handoff episodes started in the range (E0 started before it and must be ignored):

| ep | conv | reason (tag)  | handoff   | assigned (ASA) | 1st reply (TMR) | 1st resolve (AHT) | outcome |
|----|------|---------------|-----------|----------------|-----------------|-------------------|---------|
| E1 | C1   | exams (event) | Mon 09:00:10 | +60 s       | +120 s          | 09:20:10 (1140)   | resolved |
| E2 | C2   | billing       | Tue 14:00:05 | +30         | +300            | 14:30:05 (1770)   | resolved |
| E3 | C3   | booking       | Wed 10:00:20 | +30         | +600            | 10:40:50 (2400)   | booked |
| E4 | C4   | human         | Thu 16:00:03 | +60         | +1200           | 16:30:03 (1740)   | see below |
| E6 | C8   | urgent        | Fri 22:30:02 | +60         | +3000           | 23:40:02 (4140)   | resolved |
| E7 | C9   | confirmation  | Sun 11:00:30 | +60         | —               | — (still open)    | — |
| E8 | C10  | other         | Sat 09:00:10 | —           | —               | 09:30:10 (from the queue) | resolved |

E4 is resolved, reopened at 16:35:03 and resolved again at 16:50:03 as not_resolved: its
outcome is the last one, its AHT runs to the first resolve.

- 7 episodes; ASA over 6 = 300/6 = 50 s; TMR over 5 = {120, 300, 600, 1200, 3000}: mean 1044,
  median 600, p90 at rank 0.9·4 = 3.6 → 1200 + 0.6·1800 = 2280; AHT over 5 =
  (1140+1770+2400+1740+4140)/5 = 2238 s (first resolve after the first assignment).
- Resolution rate: resolved/booked at the end = E1, E2, E3, E6, E8 = 5 of 7.
- FCR over those 5: E1 fails (patient P1 writes about exams on WhatsApp 4 days later: another
  channel, same patient); E2 passes (the billing re-contact comes 8 days later); E8 passes
  (its reason is `other`: a later "obrigado" is not a re-contact); E3, E6 pass → 4/5.
  E1's handoff event carries `reason_tag: exams` while C1's current reason drifted to booking:
  the event wins (else E1 would pass and FCR would be 5/5).
- SLA (breach events): first response breached on E3 and E6; met on E1, E2, E4, E8 (stopped,
  not breached); E7 still running → excluded: 4/6. Resolution breached on E4; met on the other
  5 closed: 5/6. Overall 9/12 = 75%. One next-response breach (E2).

Contacts (conversation x clinic day, bot-side patient messages) in the range: 15

| # | conv | day (first msg) | reasons | handoff that day | booking → converted |
|---|------|-----------------|---------|------------------|---------------------|
| 1 | C1   | Mon 10 09:00    | exams   | yes | |
| 2 | C2   | Tue 11 14:00    | billing | yes | |
| 3 | C3   | Wed 12 10:00    | booking | yes | yes (resolved as booked 40 min later) |
| 4 | C4   | Thu 13 16:00    | human   | yes | |
| 5 | C1w  | Fri 14 10:00    | exams   | no  | |
| 6 | C8   | Fri 14 22:30 (Sat 01:30 UTC) | urgent | yes | |
| 7 | C10  | Sat 15 09:00    | other   | yes | |
| 8 | C9   | Sun 16 11:00    | confirmation | yes | |
| 9 | C5   | Mon 17 20:00 + 22:00 (two UTC days, one contact) | booking | no | no (appointment before it) |
| 10| C6   | Tue 18 15:00    | booking | no  | yes (appointment 5 min later) |
| 11| C2   | Wed 19 15:00    | billing | no  | |
| 12| C6   | Thu 20 11:00    | booking | no  | no (appointment the next day) |
| 13| C11  | Fri 21 09:00    | booking + billing | no | yes (appointment on the linked record) |
| 14| C12  | Sat 22 08:00    | other   | no  | |
| 15| C14  | Sun 23 13:00    | booking | no  | yes (`appointment_booked` event) |

Not contacts: a CSAT answer alone (C13), messages to humans already holding a conversation
(status `routed`), and E0's messages (before the range).
Containment 8/15; conversion 4/6; reasons booking 6, billing 3, exams 2, human 1, urgent 1,
confirmation 1, other 2. CSAT in range: 5, 4, 2, 5 → mean 4.0, 3/4 satisfied; NPS answers
10, 9, 3 → (2 − 1)/3 = +33.3.

Now: C7 (reception, waiting 120 s) and C15 (exams, waiting 600 s) queued; attendants: Ana
online (capacity 4, holding C16 assigned + C17 waiting on the patient), Bruno away (holding
C18), Caio offline; the manager being online does not count: 1 online, 1 away, occupancy 2/4.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from argon2 import PasswordHasher

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import (
    AppointmentRow,
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    CsatResponse,
    DoctorRow,
    Message,
    Patient,
    PatientLink,
    SpecialtyRow,
    StaffUser,
)
from handoff.domain.clinic.calendar import CLINIC_TZ

FROM, TO = "2025-03-10", "2025-03-23"
PASSWORD = "senha-metricas-" + "z" * 8
MANAGER_EMAIL = "gerente.metricas@clinica.example"
ATTENDANT_EMAIL = "ana.metricas@clinica.example"

EXPECTED: dict[str, Any] = {
    "episodes": 7,
    "asa_mean": 50.0,
    "tmr_mean": 1044.0,
    "tmr_median": 600.0,
    "tmr_p90": 2280.0,
    "aht_mean": 2238.0,
    "resolution_rate": 5 / 7,
    "fcr_rate": 4 / 5,
    "contacts": 15,
    "contained": 8,
    "booking_contacts": 6,
    "converted": 4,
    "sla_compliance": 9 / 12,
    "csat_mean": 4.0,
    "csat_satisfied": 0.75,
    "nps": 100 / 3,
    "reasons": {"booking": 6, "billing": 3, "exams": 2, "human": 1, "urgent": 1, "confirmation": 1, "other": 2},
}


def local(day: str, hhmmss: str) -> datetime:
    """Clinic wall time -> aware UTC."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmmss), tzinfo=CLINIC_TZ).astimezone(UTC)


@dataclass
class Scenario:
    """Ids the tests need."""

    now: datetime
    staff: dict[str, int] = field(default_factory=dict)
    conversations: dict[str, str] = field(default_factory=dict)


class _Builder:
    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.convs: dict[str, Conversation] = {}
        self.later: list[Any] = []

    def patient(self, name: str) -> Patient:
        p = Patient(display_name=name, created_at=local("2025-01-01", "08:00:00"))
        self.rows.append(p)
        return p


async def load(db: Database, now: datetime | None = None) -> Scenario:
    """Insert the scenario; returns its ids."""
    now = now or datetime.now(UTC)
    sc = Scenario(now=now)
    hasher = PasswordHasher()
    pw = hasher.hash(PASSWORD)
    created = local("2025-01-01", "08:00:00")
    async with db.session() as s:
        staff = {
            "ana": StaffUser(email=ATTENDANT_EMAIL, name="Ana Métricas", role="attendant", password_hash=pw,
                             active=True, created_at=created, presence="online", max_concurrent=4),
            "bruno": StaffUser(email="bruno.metricas@clinica.example", name="Bruno", role="attendant",
                               password_hash=pw, active=True, created_at=created, presence="away", max_concurrent=4),
            "caio": StaffUser(email="caio.metricas@clinica.example", name="Caio", role="attendant", password_hash=pw,
                              active=True, created_at=created, presence="offline", max_concurrent=4),
            "gerente": StaffUser(email=MANAGER_EMAIL, name="Gerente Métricas", role="manager", password_hash=pw,
                                 active=True, created_at=created, presence="online", max_concurrent=4),
        }
        s.add_all(staff.values())
        spec = SpecialtyRow(slug="metricas-teste", name="Especialidade de teste")
        s.add(spec)
        await s.flush()
        doctor = DoctorRow(name="Dra. Teste", specialty_id=spec.id, active=True)
        s.add(doctor)
        await s.flush()
        sc.staff = {k: v.id for k, v in staff.items()}

        patients: dict[str, Patient] = {}
        for key in ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11", "P11r", "P12", "P13",
                    "P14", "P15", "P16", "P17", "P18"):
            patients[key] = Patient(display_name=f"Paciente {key}", created_at=created)
        s.add_all(patients.values())
        await s.flush()
        s.add(PatientLink(patient_id=patients["P11"].id, linked_to_id=patients["P11r"].id, created_at=created))

        convs: dict[str, Conversation] = {}

        async def conv(key: str, patient: str, channel: str = "webchat", reason: str | None = None,
                       state: str = "bot", **extra: Any) -> Conversation:
            ident = ChannelIdentity(channel=channel, external_id=f"{key}-{uuid.uuid4().hex}",
                                    patient_id=patients[patient].id, created_at=created)
            s.add(ident)
            await s.flush()
            c = Conversation(id=str(uuid.uuid4()), patient_id=patients[patient].id, identity_id=ident.id,
                             channel=channel, state=state, reason=reason, priority="normal", bot_failures=0,
                             created_at=created, updated_at=created, **extra)
            s.add(c)
            await s.flush()
            convs[key] = c
            sc.conversations[key] = c.id
            return c

        # History (states are irrelevant to history metrics: the events are the source).
        await conv("C1", "P1", reason="booking")  # reason drifted after E1 (tagged exams on its event)
        await conv("C1w", "P1", channel="whatsapp", reason="exams")
        await conv("C2", "P2", reason="billing")
        await conv("C3", "P3", reason="booking")
        await conv("C4", "P4", reason="human")
        await conv("C5", "P5", reason="booking")
        await conv("C6", "P6", reason="booking")
        await conv("C8", "P8", reason="urgent")
        await conv("C9", "P9", reason="confirmation")
        await conv("C10", "P10", reason="other")
        await conv("C11", "P11", reason="booking")
        await conv("C12", "P12", reason="other")
        await conv("C13", "P13", reason="other")
        await conv("C14", "P14", reason="booking")
        # Now.
        ana, bruno = staff["ana"].id, staff["bruno"].id
        await conv("C7", "P7", state="queued", queue="reception", waiting_since=now - timedelta(seconds=120))
        await conv("C15", "P15", state="queued", queue="exams", waiting_since=now - timedelta(seconds=600))
        await conv("C16", "P16", state="assigned", queue="reception", assigned_agent_id=ana)
        await conv("C17", "P17", state="waiting_patient", queue="reception", assigned_agent_id=ana)
        await conv("C18", "P18", state="assigned", queue="reception", assigned_agent_id=bruno)

        def msg(key: str, at: datetime, reason: str | None, *, status: str = "processed",
                intent: str | None = "x", text: str = "oi") -> None:
            c = convs[key]
            s.add(Message(conversation_id=c.id, direction="in", sender="patient", channel=c.channel,
                          provider_message_id=uuid.uuid4().hex, text=text, payload={}, status=status, attempts=0,
                          intent=intent, reason=reason, created_at=at))

        def out(key: str, at: datetime, sender: str = "bot") -> None:
            c = convs[key]
            s.add(Message(conversation_id=c.id, direction="out", sender=sender, channel=c.channel, text="resposta",
                          payload={}, status="sent", attempts=0, created_at=at))

        def ev(key: str, type_: str, at: datetime, actor: str = "system", **data: Any) -> None:
            s.add(ConversationEvent(conversation_id=convs[key].id, type=type_, actor=actor, data=data,
                                    created_at=at))

        def episode(key: str, day: str, handoff: str, *, assigned: str | None = None, reply: str | None = None,
                    resolved: str | None = None, outcome: str = "resolved", tag: str | None = None) -> None:
            data: dict[str, Any] = {"reason": "human", "priority": "normal", "queue": "reception"}
            if tag is not None:
                data["reason_tag"] = tag
            ev(key, "handoff", local(day, handoff), actor="bot", **data)
            if assigned:
                ev(key, "assigned", local(day, assigned), agent_id=ana, by="auto")
            if reply:
                ev(key, "agent_reply", local(day, reply), actor=f"staff:{ana}", agent_id=ana, message_id=1)
                out(key, local(day, reply), sender="agent")
            if resolved:
                ev(key, "resolved", local(day, resolved), actor=f"staff:{ana}", outcome=outcome, agent_id=ana)

        # E0: started before the range; its resolve and breach fall inside it and must be ignored.
        msg("C3", local("2025-03-09", "22:59:00"), "booking")
        ev("C3", "handoff", local("2025-03-09", "23:00:00"), reason="human", priority="normal")
        ev("C3", "sla_breach", local("2025-03-10", "00:10:00"), metric="resolution", level=2)
        ev("C3", "resolved", local("2025-03-10", "00:30:00"), outcome="not_resolved")

        # E1 — exams, Monday 10.
        msg("C1", local("2025-03-10", "09:00:00"), "exams")
        out("C1", local("2025-03-10", "09:00:05"))
        episode("C1", "2025-03-10", "09:00:10", assigned="09:01:10", reply="09:02:10", resolved="09:20:10",
                tag="exams")
        msg("C1", local("2025-03-10", "09:05:00"), None, status="routed", intent=None)  # to the agent: no contact
        # E2 — billing, Tuesday 11; a next-response breach.
        msg("C2", local("2025-03-11", "14:00:00"), "billing")
        episode("C2", "2025-03-11", "14:00:05", assigned="14:00:35", reply="14:05:05", resolved="14:30:05")
        ev("C2", "sla_breach", local("2025-03-11", "14:25:00"), metric="next_response", level=2, cycle=1)
        # E3 — booking, Wednesday 12, first response breached, resolved as booked.
        msg("C3", local("2025-03-12", "10:00:00"), "booking")
        episode("C3", "2025-03-12", "10:00:20", assigned="10:00:50", reply="10:10:20", resolved="10:40:50",
                outcome="booked")
        ev("C3", "sla_breach", local("2025-03-12", "10:08:00"), metric="first_response", level=2)
        # E4 — human, Thursday 13: resolved, reopened, resolved again as not_resolved; resolution breached.
        msg("C4", local("2025-03-13", "16:00:00"), "human")
        episode("C4", "2025-03-13", "16:00:03", assigned="16:01:03", reply="16:20:03", resolved="16:30:03")
        ev("C4", "reopened", local("2025-03-13", "16:35:03"), actor=f"staff:{ana}")
        ev("C4", "sla_breach", local("2025-03-13", "16:45:00"), metric="resolution", level=2)
        ev("C4", "resolved", local("2025-03-13", "16:50:03"), outcome="not_resolved", agent_id=ana)
        # P1 comes back on WhatsApp about exams 4 days after E1: E1 is not a first-contact resolution.
        msg("C1w", local("2025-03-14", "10:00:00"), "exams")
        # E6 — urgent, Friday 14 22:30 local = Saturday 01:30 UTC; first response breached.
        msg("C8", local("2025-03-14", "22:30:00"), "urgent")
        episode("C8", "2025-03-14", "22:30:02", assigned="22:31:02", reply="23:20:02", resolved="23:40:02")
        ev("C8", "sla_breach", local("2025-03-14", "22:35:02"), metric="first_response", level=2)
        # E8 — other, Saturday 15: resolved from the queue (no assignment, no reply); "obrigado" after it.
        msg("C10", local("2025-03-15", "09:00:00"), "other")
        episode("C10", "2025-03-15", "09:00:10", resolved="09:30:10")
        msg("C10", local("2025-03-15", "09:35:00"), "other", text="obrigado")
        # E7 — confirmation, Sunday 16: assigned, never answered, still open; routed messages next day.
        msg("C9", local("2025-03-16", "11:00:00"), "confirmation")
        episode("C9", "2025-03-16", "11:00:30", assigned="11:01:30")
        msg("C9", local("2025-03-17", "09:00:00"), None, status="routed", intent=None)
        # Bot-only contacts.
        msg("C5", local("2025-03-17", "20:00:00"), "booking")  # 23:00 UTC
        msg("C5", local("2025-03-17", "22:00:00"), "booking")  # 01:00 UTC next day: same clinic day
        msg("C6", local("2025-03-18", "15:00:00"), "booking")
        msg("C2", local("2025-03-19", "15:00:00"), "billing")  # 8 days after E2's resolve: not a re-contact
        msg("C6", local("2025-03-20", "11:00:00"), "booking")
        msg("C11", local("2025-03-21", "09:00:00"), "booking")
        msg("C11", local("2025-03-21", "09:20:00"), "billing")
        msg("C12", local("2025-03-22", "08:00:00"), "other")
        msg("C12", local("2025-03-22", "08:01:00"), None, intent="csat", text="5")  # CSAT answer: no contact
        msg("C13", local("2025-03-22", "12:00:00"), None, intent="csat", text="4")  # CSAT answer alone
        msg("C14", local("2025-03-23", "13:00:00"), "booking")
        ev("C14", "appointment_booked", local("2025-03-23", "13:02:00"), actor="bot")

        def appointment(patient: str, created_at: datetime, starts: datetime) -> None:
            s.add(AppointmentRow(patient_id=patients[patient].id, doctor_id=doctor.id, starts_at=starts,
                                 ends_at=starts + timedelta(minutes=30), status="scheduled", created_at=created_at,
                                 updated_at=created_at))

        appointment("P6", local("2025-03-18", "15:05:00"), local("2025-03-25", "09:00:00"))
        appointment("P6", local("2025-03-21", "12:00:00"), local("2025-03-26", "09:00:00"))  # day after contact 12
        appointment("P11r", local("2025-03-21", "09:10:00"), local("2025-03-27", "09:00:00"))  # linked record
        appointment("P5", local("2025-03-19", "10:00:00"), local("2025-03-28", "09:00:00"))  # another day
        appointment("P5", local("2025-03-17", "19:00:00"), local("2025-03-29", "09:00:00"))  # before the request

        def csat(key: str, at: datetime, score: int, nps: int | None) -> None:
            s.add(CsatResponse(conversation_id=convs[key].id, agent_id=ana, score=score, nps=nps, created_at=at))

        csat("C3", local("2025-03-09", "23:50:00"), 1, 0)  # before the range
        csat("C1", local("2025-03-10", "09:21:00"), 5, 10)
        csat("C2", local("2025-03-11", "14:31:00"), 4, 9)
        csat("C3", local("2025-03-12", "10:41:00"), 2, 3)
        csat("C8", local("2025-03-15", "00:10:00"), 5, None)
    return sc
