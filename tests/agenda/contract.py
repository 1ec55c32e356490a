"""The contract every `ExternalAgenda` adapter passes (CalDAV over Radicale, FHIR R4 over the local server).

An adapter's test module provides a fixture that yields an `AgendaHarness` and collects the
checks with one parametrized test:

    @pytest.mark.parametrize("check", CHECKS, ids=check_id)
    async def test_contract(harness: AgendaHarness, check: Check) -> None:
        await check(harness)

Each check gets a fresh harness: its doctors' agendas are empty (no bookings, no reception
events) and the server is up. Time never comes from the clock: every check uses `NOW`, a fixed
Monday 2027-03-01 07:00 in the clinic zone (-03:00, no DST in Brazil since 2019), and slots in
that week, through `harness.rules(now)`. `standard_rules` builds the rules the contract expects
(Mon-Fri 08:00-12:00, 30-minute slots, clinic open 07:00-19:00); an agenda that stores slots
(FHIR Schedule/Slot) must be seeded to match them for that week.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol

import pytest

from handoff.domain.clinic.agenda import (
    AgendaDoctor,
    AgendaPatient,
    BookingRef,
    ExternalAgenda,
    SlotRules,
)
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.clinic.slots import MIN_LEAD, DoctorSchedule, Slot
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError

SPECIALTY = "clinica-geral"
NOW = datetime(2027, 3, 1, 7, 0, tzinfo=CLINIC_TZ)  # Monday, before the first slot
MONDAY = NOW.date()
SLOT = timedelta(minutes=30)
WORK_START, WORK_END = time(8, 0), time(12, 0)
SLOTS_PER_DAY = 8  # 08:00 .. 11:30
OPEN_START, OPEN_END = time(7, 0), time(19, 0)

PATIENT = AgendaPatient(id=101, name="Maria da Silva", cpf="52998224725", birth_date=date(1980, 5, 17))
OTHER_PATIENT = AgendaPatient(id=202, name="João Pereira", cpf="11144477735", birth_date=date(1975, 1, 9))


class AgendaHarness(Protocol):
    """What a contract check needs from an adapter's test set-up."""

    agenda: ExternalAgenda  # the adapter under test (closed by the fixture)
    doctors: list[AgendaDoctor]  # >= 2 doctors, specialty SPECIALTY, empty agendas

    def rules(self, now: datetime) -> SlotRules:
        """The hub's working-time rules for `doctors` with this clock (see `standard_rules`)."""
        ...

    def new_agenda(self) -> ExternalAgenda:
        """Another adapter instance on the same server (another hub replica); the caller closes it."""
        ...

    async def reception_book(self, doctor: AgendaDoctor, start: datetime, end: datetime) -> str:
        """The reception books this time directly in the clinic's system; returns its ref.

        The time may be off the slot grid (10:15-10:45): every slot it overlaps must then be busy
        (FHIR: mark each overlapping Slot busy with the Appointment).
        """
        ...

    async def reception_move(self, ref: str, doctor: AgendaDoctor, start: datetime, end: datetime) -> None:
        """The reception moves a booking (ours or theirs) of `doctor` to another time, same doctor."""
        ...

    async def reception_delete(self, ref: str, doctor: AgendaDoctor) -> None:
        """The reception deletes a booking (ours or theirs) of `doctor`."""
        ...

    async def stop_server(self) -> None:
        """Make the agenda unreachable (server stopped); the adapter keeps existing."""
        ...

    async def start_server(self) -> None:
        """Bring the same server (same data) back."""
        ...


Check = Callable[[AgendaHarness], Awaitable[None]]


def standard_rules(doctors: Sequence[AgendaDoctor], now: datetime) -> SlotRules:
    """Mon-Fri 08:00-12:00 in 30-minute slots for every doctor; the clinic opens Mon-Fri 07:00-19:00."""
    schedules = [
        DoctorSchedule(doctor_id=d.id, weekday=wd, start=WORK_START, end=WORK_END, slot_minutes=30)
        for d in doctors
        for wd in range(5)
    ]
    hours = {wd: [(OPEN_START, OPEN_END)] for wd in range(5)}
    return SlotRules(schedules=schedules, hours=hours, now=now)


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """Clinic wall time `day_offset` days after Monday 2027-03-01."""
    return datetime.combine(MONDAY + timedelta(days=day_offset), time(hour, minute), tzinfo=CLINIC_TZ)


def slot_of(doctor: AgendaDoctor, start: datetime) -> Slot:
    """The 30-minute slot of `doctor` starting at `start`."""
    return Slot(doctor.id, start, start + SLOT)


def day_window(day_offset: int = 0) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of that day of the test week."""
    return at(day_offset, 0), at(day_offset + 1, 0)


async def _free_starts(h: AgendaHarness, doctor: AgendaDoctor, day_offset: int = 0) -> list[datetime]:
    start, end = day_window(day_offset)
    slots = await h.agenda.free_slots([doctor], start, end, h.rules(NOW), 100)
    assert all(s.doctor_id == doctor.id for s in slots)
    return [s.start for s in slots]


def _same_instant(a: datetime, b: datetime) -> bool:
    return a.tzinfo is not None and a == b


async def _assert_booked(h: AgendaHarness, doctor: AgendaDoctor, ref: BookingRef, start: datetime,
                         patient: AgendaPatient) -> None:
    got = await h.agenda.read(doctor, ref)
    assert got is not None, "the booking must be readable"
    assert got.doctor_id == doctor.id
    assert _same_instant(got.start, start) and _same_instant(got.end, start + SLOT)
    assert not got.cancelled
    assert got.patient_id == patient.id


# --- the checks ---------------------------------------------------------------------------


async def check_free_slots_exclude_busy(h: AgendaHarness) -> None:
    """Free slots are working hours minus the reception's events and our bookings, per doctor."""
    d0, d1 = h.doctors[0], h.doctors[1]
    assert len(await _free_starts(h, d0)) == SLOTS_PER_DAY
    await h.reception_book(d0, at(0, 8), at(0, 8, 30))
    await h.reception_book(d0, at(0, 10, 15), at(0, 10, 45))  # off-grid: removes 10:00 and 10:30
    await h.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    free = await _free_starts(h, d0)
    assert free == [at(0, 8, 30), at(0, 9, 30), at(0, 11), at(0, 11, 30)]
    assert len(await _free_starts(h, d1)) == SLOTS_PER_DAY  # the other doctor is untouched
    both = await h.agenda.free_slots([d0, d1], *day_window(0), h.rules(NOW), 3)
    expected = [(d1.id, at(0, 8)), *sorted([(d0.id, at(0, 8, 30)), (d1.id, at(0, 8, 30))])]  # ties: by doctor id
    assert [(s.doctor_id, s.start) for s in both] == expected
    assert all(s.end - s.start == SLOT for s in both)


async def check_book_then_read(h: AgendaHarness) -> None:
    """A booking is readable with its doctor, time, patient reference and a version for If-Match."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(1, 9)), PATIENT)
    assert ref.ref and ref.version
    await _assert_booked(h, d0, ref, at(1, 9), PATIENT)
    assert at(1, 9) not in await _free_starts(h, d0, 1)
    assert await h.agenda.offered(d0, at(1, 9), h.rules(NOW)) is None


async def check_book_same_slot_twice(h: AgendaHarness) -> None:
    """The second booking of a slot is refused and leaves the first intact."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(0, 10)), PATIENT)
    with pytest.raises(SlotTakenError):
        await h.agenda.book(d0, slot_of(d0, at(0, 10)), OTHER_PATIENT)
    await _assert_booked(h, d0, ref, at(0, 10), PATIENT)


async def check_concurrent_book_one_wins(h: AgendaHarness) -> None:
    """10 hub replicas (separate adapter instances) book the same slot at once: exactly one wins."""
    d0 = h.doctors[0]
    agendas = [h.new_agenda() for _ in range(10)]
    try:
        patients = [AgendaPatient(id=1000 + i, name=f"Paciente {i}", cpf=None) for i in range(10)]
        results = await asyncio.gather(
            *(a.book(d0, slot_of(d0, at(2, 8, 30)), p) for a, p in zip(agendas, patients, strict=True)),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(a.aclose() for a in agendas))
    wins = [r for r in results if isinstance(r, BookingRef)]
    taken = [r for r in results if isinstance(r, SlotTakenError)]
    assert len(wins) == 1 and len(taken) == 9, results
    winner = patients[results.index(wins[0])]
    await _assert_booked(h, d0, wins[0], at(2, 8, 30), winner)
    everything = await h.agenda.changes(d0, None)
    live = [b for b in everything.changed if not b.cancelled and b.start == at(2, 8, 30)]
    assert len(live) == 1  # nothing half-written is left holding the slot
    assert at(2, 8, 30) not in await _free_starts(h, d0, 2)


async def check_reception_then_book_taken(h: AgendaHarness) -> None:
    """A slot the reception booked in the clinic's system is not offered and cannot be booked."""
    d0 = h.doctors[0]
    await h.reception_book(d0, at(0, 11), at(0, 11, 30))
    assert await h.agenda.offered(d0, at(0, 11), h.rules(NOW)) is None
    with pytest.raises(SlotTakenError):
        await h.agenda.book(d0, slot_of(d0, at(0, 11)), PATIENT)
    assert at(0, 11) not in await _free_starts(h, d0)


async def check_move_stale_ref_conflict(h: AgendaHarness) -> None:
    """Moving with a version the agenda no longer holds is refused (If-Match)."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(3, 8)), PATIENT)
    await h.reception_move(ref.ref, d0, at(3, 9), at(3, 9, 30))  # the reception changed it meanwhile
    with pytest.raises(AgendaConflictError):
        await h.agenda.move(d0, ref, d0, slot_of(d0, at(3, 10)), PATIENT)
    got = await h.agenda.read(d0, ref)
    assert got is not None and _same_instant(got.start, at(3, 9))  # the reception's change stands
    assert at(3, 10) in await _free_starts(h, d0, 3)


async def check_move_same_doctor(h: AgendaHarness) -> None:
    """A move frees the old slot and holds the new one; the old ref is then stale."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(3, 8)), PATIENT)
    new = await h.agenda.move(d0, ref, d0, slot_of(d0, at(3, 11)), PATIENT)
    await _assert_booked(h, d0, new, at(3, 11), PATIENT)
    free = await _free_starts(h, d0, 3)
    assert at(3, 8) in free and at(3, 11) not in free
    with pytest.raises(AgendaConflictError):
        await h.agenda.move(d0, ref, d0, slot_of(d0, at(3, 9)), PATIENT)


async def check_move_other_doctor(h: AgendaHarness) -> None:
    """A move to another doctor of the same specialty lands in that doctor's agenda."""
    d0, d1 = h.doctors[0], h.doctors[1]
    ref = await h.agenda.book(d0, slot_of(d0, at(4, 8)), PATIENT)
    new = await h.agenda.move(d0, ref, d1, slot_of(d1, at(4, 9)), PATIENT)
    await _assert_booked(h, d1, new, at(4, 9), PATIENT)
    assert at(4, 8) in await _free_starts(h, d0, 4)
    assert at(4, 9) not in await _free_starts(h, d1, 4)


async def check_move_to_taken_slot(h: AgendaHarness) -> None:
    """A move onto a taken slot is refused and the booking keeps its time."""
    d0 = h.doctors[0]
    await h.reception_book(d0, at(4, 10), at(4, 10, 30))
    ref = await h.agenda.book(d0, slot_of(d0, at(4, 9)), PATIENT)
    with pytest.raises(SlotTakenError):
        await h.agenda.move(d0, ref, d0, slot_of(d0, at(4, 10)), PATIENT)
    await _assert_booked(h, d0, ref, at(4, 9), PATIENT)


async def check_cancel_frees_and_is_idempotent(h: AgendaHarness) -> None:
    """Cancel frees the slot for the next patient; cancelling again is fine."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(1, 10)), PATIENT)
    await h.agenda.cancel(d0, ref)
    got = await h.agenda.read(d0, ref)
    assert got is None or got.cancelled
    assert at(1, 10) in await _free_starts(h, d0, 1)
    await h.agenda.cancel(d0, ref)  # idempotent
    again = await h.agenda.book(d0, slot_of(d0, at(1, 10)), OTHER_PATIENT)  # the slot is bookable again
    await _assert_booked(h, d0, again, at(1, 10), OTHER_PATIENT)


async def check_reception_moves_ours(h: AgendaHarness) -> None:
    """A reception move of our booking is seen by read() and by changes()."""
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(2, 9)), PATIENT)
    token = (await h.agenda.changes(d0, None)).token
    await h.reception_move(ref.ref, d0, at(2, 11), at(2, 11, 30))
    got = await h.agenda.read(d0, ref)
    assert got is not None and _same_instant(got.start, at(2, 11)) and got.patient_id == PATIENT.id
    delta = await h.agenda.changes(d0, token)
    mine = [b for b in delta.changed if b.ref.ref == got.ref.ref]
    assert len(mine) == 1 and _same_instant(mine[0].start, at(2, 11)) and mine[0].patient_id == PATIENT.id
    assert mine[0].doctor_id == d0.id and not mine[0].cancelled
    free = await _free_starts(h, d0, 2)
    assert at(2, 9) in free and at(2, 11) not in free


async def check_reception_deletes_ours(h: AgendaHarness) -> None:
    """A reception delete of our booking: read() says it is gone and changes() reports it.

    "Gone" is `None` (deleted) or a cancelled booking: both mean it no longer holds the slot.
    """
    d0 = h.doctors[0]
    ref = await h.agenda.book(d0, slot_of(d0, at(2, 10)), PATIENT)
    token = (await h.agenda.changes(d0, None)).token
    await h.reception_delete(ref.ref, d0)
    got = await h.agenda.read(d0, ref)
    assert got is None or got.cancelled
    delta = await h.agenda.changes(d0, token)
    assert ref.ref in delta.deleted or any(b.ref.ref == ref.ref and b.cancelled for b in delta.changed)
    assert at(2, 10) in await _free_starts(h, d0, 2)


async def check_changes_everything_then_nothing(h: AgendaHarness) -> None:
    """changes(None) lists every booking (the reception's with no patient); then an unchanged agenda
    yields nothing new."""
    d0 = h.doctors[0]
    ours = await h.agenda.book(d0, slot_of(d0, at(1, 8)), PATIENT)
    theirs = await h.reception_book(d0, at(1, 9), at(1, 9, 30))
    first = await h.agenda.changes(d0, None)
    by_ref = {b.ref.ref: b for b in first.changed}
    assert by_ref[ours.ref].patient_id == PATIENT.id and _same_instant(by_ref[ours.ref].start, at(1, 8))
    assert by_ref[theirs].patient_id is None and _same_instant(by_ref[theirs].start, at(1, 9))
    assert first.token
    second = await h.agenda.changes(d0, first.token)
    assert second.changed == [] and second.deleted == []
    assert second.token
    third = await h.agenda.changes(d0, second.token)
    assert third.changed == [] and third.deleted == []


async def check_server_down(h: AgendaHarness) -> None:
    """An unreachable agenda raises AgendaUnavailableError (never a raw network error); it recovers."""
    d0 = h.doctors[0]
    await h.stop_server()
    try:
        with pytest.raises(AgendaUnavailableError):
            await h.agenda.free_slots([d0], *day_window(0), h.rules(NOW), 10)
        with pytest.raises(AgendaUnavailableError):
            await h.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
        with pytest.raises(AgendaUnavailableError):
            await h.agenda.changes(d0, None)
    finally:
        await h.start_server()
    ref = await h.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    await _assert_booked(h, d0, ref, at(0, 9), PATIENT)


async def check_min_lead(h: AgendaHarness) -> None:
    """Nothing earlier than now + MIN_LEAD is offered; off-grid times are never offered."""
    d0 = h.doctors[0]
    now = at(0, 8, 10)
    rules = h.rules(now)
    slots = await h.agenda.free_slots([d0], *day_window(0), rules, 100)
    assert slots and all(s.start >= now + MIN_LEAD for s in slots)
    assert slots[0].start == at(0, 9, 30)
    assert await h.agenda.offered(d0, at(0, 9), rules) is None
    offered = await h.agenda.offered(d0, at(0, 9, 30), rules)
    assert offered is not None and offered.doctor_id == d0.id and _same_instant(offered.start, at(0, 9, 30))
    assert await h.agenda.offered(d0, at(0, 9, 45), rules) is None  # not a slot start
    assert await h.agenda.offered(d0, at(0, 13), rules) is None  # outside working hours
    assert await h.agenda.offered(d0, at(5, 9), rules) is None  # Saturday


CHECKS: list[Check] = [
    check_free_slots_exclude_busy,
    check_book_then_read,
    check_book_same_slot_twice,
    check_concurrent_book_one_wins,
    check_reception_then_book_taken,
    check_move_stale_ref_conflict,
    check_move_same_doctor,
    check_move_other_doctor,
    check_move_to_taken_slot,
    check_cancel_frees_and_is_idempotent,
    check_reception_moves_ours,
    check_reception_deletes_ours,
    check_changes_everything_then_nothing,
    check_server_down,
    check_min_lead,
]


def check_id(check: Check) -> str:
    """Test id of a check (its name without the `check_` prefix)."""
    return getattr(check, "__name__", "check").removeprefix("check_")
