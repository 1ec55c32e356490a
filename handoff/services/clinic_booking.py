"""The clinic's agenda use cases: free slots, book, confirm, cancel, reschedule, a patient's list.

`ClinicAgenda` holds what every clinic use case shares (the `ClinicDirectory`, the clock) and
the agenda seam: doctors with an `agenda_ref` live in the clinic's own agenda (CalDAV/FHIR,
`ExternalAgenda`, mirrored in the hub's tables), every other doctor in the built-in agenda of the
directory. The waitlist is told when a cancel or a move frees a slot, and its holds are skipped.
`handoff.services.clinic.ClinicService` adds patients, exams and billing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handoff.domain.clinic import appointments as rules
from handoff.domain.clinic.agenda import (
    AgendaDoctor,
    AgendaMirror,
    ExternalAgenda,
    MirroredBooking,
    SlotRules,
)
from handoff.domain.clinic.appointments import AppointmentRuleError, AppointmentStatus, SlotTakenError
from handoff.domain.clinic.calendar import to_clinic
from handoff.domain.clinic.entities import Appointment, ClinicInfo, Doctor
from handoff.domain.clinic.slots import MAX_WINDOW, Slot, free_slots, offered_slot, parse_slot_id
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError
from handoff.services.clinic_directory import ClinicDirectory, SlotFreed, SlotHolds
from handoff.services.clinic_errors import ClinicConflict, ClinicInvalid, agenda_unavailable, not_found

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=30)
MAX_SLOTS = 200
_STATUS_RETRIES = 3


@dataclass(frozen=True)
class OfferedSlot:
    """A free slot with its doctor (what the slots endpoint lists)."""

    slot: Slot
    doctor: Doctor


class ClinicAgenda:
    """The agenda use cases, independent of where the data lives (the base of `ClinicService`)."""

    def __init__(
        self,
        directory: ClinicDirectory,
        clock: Callable[[], datetime] | None = None,
        *,
        agenda: ExternalAgenda | None = None,
        mirror: AgendaMirror | None = None,
        on_slot_freed: SlotFreed | None = None,
        slot_holds: SlotHolds | None = None,
    ) -> None:
        self.directory = directory
        # The waitlist (issue 15): told when a cancel or a move frees a slot; its holds are skipped.
        self.on_slot_freed = on_slot_freed
        self.slot_holds = slot_holds
        self._clock = clock or (lambda: datetime.now(UTC))
        # The clinic's own agenda (CalDAV/FHIR) for doctors with an agenda_ref; the others, and
        # every doctor when `agenda` is None, use the built-in agenda of `directory`.
        self.agenda = agenda
        self.mirror = mirror
        if (agenda is None) != (mirror is None):
            raise ValueError("an external agenda needs its mirror (and the other way round)")

    def now(self) -> datetime:
        """The current time in the clinic zone."""
        return to_clinic(self._clock())

    async def info(self) -> ClinicInfo:
        """The clinic card; 404 until a clinic is configured."""
        info = await self.directory.info()
        if info is None:
            raise not_found("clinic")
        return info

    async def doctors(self, specialty: str | None) -> list[Doctor]:
        """Doctors (of a specialty); 404 on an unknown specialty slug."""
        if specialty is not None:
            await self._require_specialty(specialty)
        return await self.directory.doctors(specialty)

    async def _require_specialty(self, slug: str) -> None:
        if slug not in {s.slug for s in await self.directory.specialties()}:
            raise not_found("specialty")

    # -- agenda ------------------------------------------------------------------------------

    async def slots(
        self,
        specialty: str | None = None,
        doctor_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 20,
    ) -> list[OfferedSlot]:
        """Free slots (soonest first) of a specialty and/or doctor within [start, end)."""
        now = self.now()
        start = to_clinic(start) if start else now
        end = to_clinic(end) if end else max(start, now) + DEFAULT_WINDOW
        if end <= start:
            raise ClinicInvalid("invalid_window", "end must be after start")
        if end - start > MAX_WINDOW:
            raise ClinicInvalid("invalid_window", f"window longer than {MAX_WINDOW.days} days")
        limit = max(1, min(limit, MAX_SLOTS))
        doctors = await self.doctors(specialty)
        if doctor_id is not None:
            if await self.directory.doctor(doctor_id) is None:
                raise not_found("doctor")
            doctors = [d for d in doctors if d.id == doctor_id]
        if not doctors:
            return []
        by_id = {d.id: d for d in doctors}
        held = await self.slot_holds.holders(list(by_id), start, end) if self.slot_holds else {}
        limit += len(held)  # held slots are dropped below
        external = await self._external_doctors(doctors)
        ids = [i for i in by_id if i not in external]
        info = await self.info()
        schedules = await self.directory.schedules(list(by_id))
        found: list[Slot] = []
        if ids:
            busy = await self.directory.busy(ids, start, end)
            found = free_slots([r for r in schedules if r.doctor_id in ids], info.hours, busy, start, end, now,
                               limit=limit)
        if external:
            assert self.agenda is not None
            rules = SlotRules([r for r in schedules if r.doctor_id in external], info.hours, now)
            try:
                found += await self.agenda.free_slots(list(external.values()), start, end, rules, limit)
            except AgendaUnavailableError:
                raise agenda_unavailable() from None
            found = sorted(found, key=lambda x: (x.start, x.doctor_id))[:limit]
        found = [s for s in found if s.id not in held][:limit - len(held)]
        return [OfferedSlot(s, by_id[s.doctor_id]) for s in found]

    async def _external_doctors(self, doctors: Sequence[Doctor]) -> dict[int, AgendaDoctor]:
        """The doctors whose agenda lives in the clinic's system (empty without an external agenda)."""
        if self.mirror is None or not doctors:
            return {}
        refs = await self.mirror.agenda_refs([d.id for d in doctors])
        return {d.id: AgendaDoctor(d.id, d.name, d.specialty, refs[d.id]) for d in doctors if d.id in refs}

    async def agenda_doctors(self) -> list[AgendaDoctor]:
        """Every active doctor whose agenda lives in the clinic's system (what the sync reads)."""
        return list((await self._external_doctors(await self.directory.doctors(None))).values())

    async def agenda_doctor(self, doctor_id: int) -> AgendaDoctor | None:
        """One doctor's external agenda (None: built-in agenda or unknown doctor)."""
        doctor = await self.directory.doctor(doctor_id)
        if doctor is None:
            return None
        return (await self._external_doctors([doctor])).get(doctor_id)

    async def _offered(self, slot_id: str) -> tuple[Slot, Doctor]:
        try:
            doctor_id, start = parse_slot_id(slot_id)
        except ValueError:
            raise ClinicInvalid("invalid_slot_id", "slot_id is malformed") from None
        doctor = await self.directory.doctor(doctor_id)
        if doctor is None:
            raise not_found("doctor")
        info = await self.info()
        schedules = await self.directory.schedules([doctor_id])
        external = (await self._external_doctors([doctor])).get(doctor_id)
        if external is not None:
            assert self.agenda is not None
            try:
                slot = await self.agenda.offered(external, start, SlotRules(schedules, info.hours, self.now()))
            except AgendaUnavailableError:
                raise agenda_unavailable() from None
            if slot is None:
                # The clinic's agenda holds bookings the hub never saw (the reception's): a time
                # it offered a moment ago and no longer does was taken meanwhile, and the bot
                # answers that by offering the next free times.
                raise ClinicConflict("slot_taken", "este horário acabou de ser ocupado")
        else:
            slot = offered_slot(schedules, info.hours, doctor_id, start, self.now())
        if slot is None:
            raise ClinicConflict("slot_unavailable", "this time is not offered (past, closed or not in the agenda)")
        return slot, doctor

    async def _patient_id(self, patient_id: int) -> int:
        resolved = await self.directory.resolve_patient(patient_id)
        if resolved is None:
            raise not_found("patient")
        return resolved

    async def book(self, patient_id: int, slot_id: str) -> Appointment:
        """Book a free slot for a patient (409 `slot_taken` when someone was first)."""
        pid = await self._patient_id(patient_id)
        slot, _doctor = await self._offered(slot_id)
        await self._check_hold(slot, patient_id, pid)
        external = await self.agenda_doctor(slot.doctor_id)
        try:
            if external is not None:
                return await self._book_external(pid, slot, external)
            return await self.directory.book(pid, slot, self.now())
        except SlotTakenError:
            raise ClinicConflict("slot_taken", "este horário acabou de ser ocupado") from None

    async def _check_hold(self, slot: Slot, *patient_ids: int) -> None:
        """409 `slot_taken` when the slot is held for another patient (a waitlist offer)."""
        if self.slot_holds is None:
            return
        holders = await self.slot_holds.holders([slot.doctor_id], slot.start, slot.end)
        holder = holders.get(slot.id)
        if holder is not None and holder not in patient_ids:
            raise ClinicConflict("slot_taken", "este horário acabou de ser ocupado")

    async def _slot_freed(self, appt: Appointment) -> None:
        """Tell the waitlist; the cancel or move is already recorded, so a failure here is logged only."""
        if self.on_slot_freed is None:
            return
        try:
            await self.on_slot_freed(appt.doctor_id, appt.start, appt.end)
        except Exception:
            log.exception("waitlist: offering a freed slot failed")

    async def _book_external(self, pid: int, slot: Slot, doctor: AgendaDoctor) -> Appointment:
        """The clinic's agenda decides first (it also holds the reception's bookings); then the hub
        keeps its copy with the external ref. If the hub already holds that time (a stale copy),
        the external booking is undone so nothing is booked twice.

        A crash between the two writes leaves an event with our patient reference and no hub copy:
        the agenda sync adopts it (`AgendaSync.sync_doctor`)."""
        assert self.agenda is not None and self.mirror is not None
        patient = await self.mirror.agenda_patient(pid)
        if patient is None:
            raise not_found("patient")
        try:
            ref = await self.agenda.book(doctor, slot, patient)
        except AgendaUnavailableError:
            raise agenda_unavailable() from None
        try:
            appointment_id = await self.mirror.insert_booking(pid, slot, self.agenda.system, ref, self.now())
        except SlotTakenError:
            try:
                await self.agenda.cancel(doctor, ref)
            except AgendaUnavailableError:
                log.warning("agenda: could not undo a booking the hub refused; the sync will see it")
            raise
        appt = await self.directory.appointment(appointment_id)
        assert appt is not None
        return appt

    async def _refresh(self, appointment_id: int) -> MirroredBooking | None:
        """Re-read an externally held appointment (the reception may have moved or cancelled it) and
        update the hub's copy; when the agenda is down the hub's copy is used as it is."""
        if self.mirror is None or self.agenda is None:
            return None
        held = await self.mirror.booking(appointment_id)
        if held is None or held.cancelled or held.system != self.agenda.system:
            return held
        doctor = await self.agenda_doctor(held.doctor_id)
        if doctor is None:
            return held
        try:
            current = await self.agenda.read(doctor, held.ref)
        except AgendaUnavailableError:
            log.info("agenda: unavailable on refresh; using the hub's copy")
            return held
        try:
            await self.mirror.apply(appointment_id, current, self.now())
        except SlotTakenError:
            log.warning("agenda: an external move collides with another hub appointment; kept the old time")
        return await self.mirror.booking(appointment_id)

    async def _appointment(self, appointment_id: int, patient_id: int | None) -> Appointment:
        await self._refresh(appointment_id)
        appt = await self.directory.appointment(appointment_id)
        if appt is None:
            raise not_found("appointment")
        # When the caller says whose appointment it is, someone else's looks like a missing one.
        if patient_id is not None and appt.patient_id != await self.directory.resolve_patient(patient_id):
            raise not_found("appointment")
        return appt

    async def _change_status(
        self,
        appointment_id: int,
        patient_id: int | None,
        rule: Callable[[AppointmentStatus, datetime, datetime], AppointmentStatus],
    ) -> Appointment:
        for _ in range(_STATUS_RETRIES):
            appt = await self._appointment(appointment_id, patient_id)
            now = self.now()
            try:
                new = rule(appt.status, appt.start, now)
            except AppointmentRuleError as exc:
                raise ClinicConflict(exc.code, exc.message) from None
            if new == appt.status:
                return appt
            changed = await self.directory.set_status(appt.id, appt.status, new, now)
            if changed is not None:
                if new is AppointmentStatus.CANCELLED:
                    await self._cancel_external(changed.id)
                    await self._slot_freed(changed)
                return changed
        raise ClinicConflict("appointment_changed", "the appointment changed meanwhile; try again")

    async def _cancel_external(self, appointment_id: int) -> None:
        """Free the slot in the clinic's agenda. The patient's cancellation is already recorded in
        the hub; when the agenda is down it is kept in the `agenda_writes` outbox and retried."""
        if self.mirror is None or self.agenda is None:
            return
        held = await self.mirror.booking(appointment_id)
        if held is None:
            return
        doctor = await self.agenda_doctor(held.doctor_id)
        try:
            if doctor is None:
                raise AgendaUnavailableError("doctor no longer has an agenda_ref")
            await self.agenda.cancel(doctor, held.ref)
        except (AgendaUnavailableError, AgendaConflictError) as exc:
            log.warning("agenda: cancellation queued for retry (%s)", type(exc).__name__)
            await self.mirror.enqueue_write(appointment_id, "cancel", {"ref": held.ref.ref}, self.now())

    async def confirm(self, appointment_id: int, patient_id: int | None = None) -> Appointment:
        """Confirm attendance (idempotent)."""
        return await self._change_status(appointment_id, patient_id, rules.confirm)

    async def cancel(self, appointment_id: int, patient_id: int | None = None) -> Appointment:
        """Cancel before the start (idempotent); the slot becomes free at once."""
        return await self._change_status(appointment_id, patient_id, rules.cancel)

    async def reschedule(self, appointment_id: int, slot_id: str, patient_id: int | None = None) -> Appointment:
        """Move to another free slot of the same specialty; the old slot is freed in the same step."""
        appt = await self._appointment(appointment_id, patient_id)
        now = self.now()
        try:
            new_status = rules.check_reschedule(appt.status, appt.start, now)
        except AppointmentRuleError as exc:
            raise ClinicConflict(exc.code, exc.message) from None
        slot, doctor = await self._offered(slot_id)
        if doctor.specialty != appt.specialty:
            raise ClinicConflict("specialty_mismatch", "the new slot is of another specialty; book a new appointment")
        if slot.doctor_id == appt.doctor_id and slot.start == appt.start:
            return appt
        await self._check_hold(slot, appt.patient_id)
        held = await self.mirror.booking(appt.id) if self.mirror is not None else None
        target = await self.agenda_doctor(slot.doctor_id)
        if (held is None) != (target is None):
            # One side is in the clinic's agenda and the other in the built-in one: a move cannot
            # be one atomic step there, so a person does it (cancel + book).
            raise ClinicConflict("agenda_mismatch", "o novo horário está em outra agenda; fale com a recepção")
        try:
            if held is not None and target is not None:
                moved = await self._move_external(appt, held, target, slot, new_status)
            else:
                moved = await self.directory.move(appt.id, appt.status, slot, new_status, now)
        except SlotTakenError:
            raise ClinicConflict("slot_taken", "este horário acabou de ser ocupado") from None
        if moved is None:
            raise ClinicConflict("appointment_changed", "the appointment changed meanwhile; try again")
        await self._slot_freed(appt)
        return moved

    async def _move_external(
        self, appt: Appointment, held: MirroredBooking, target: AgendaDoctor, slot: Slot, new_status: AppointmentStatus
    ) -> Appointment | None:
        """Move in the clinic's agenda (If-Match on the version the hub holds), then the hub's copy."""
        assert self.agenda is not None and self.mirror is not None
        source = await self.agenda_doctor(held.doctor_id)
        patient = await self.mirror.agenda_patient(held.patient_id)
        if source is None or patient is None:
            raise ClinicConflict("appointment_changed", "the appointment changed meanwhile; try again")
        try:
            ref = await self.agenda.move(source, held.ref, target, slot, patient)
        except AgendaUnavailableError:
            raise agenda_unavailable() from None
        except AgendaConflictError:
            await self._refresh(appt.id)  # the reception changed it: take their version
            raise ClinicConflict("appointment_changed", "the appointment changed meanwhile; try again") from None
        if not await self.mirror.moved(appt.id, slot, ref, new_status.value, appt.status.value, self.now()):
            return None
        return await self.directory.appointment(appt.id)

    async def appointments(self, patient_id: int, scope: str = "upcoming") -> list[Appointment]:
        """A patient's appointments: `upcoming` (not cancelled, still ahead) or `all`."""
        if scope not in ("upcoming", "all"):
            raise ClinicInvalid("invalid_scope", "scope must be upcoming or all")
        pid = await self._patient_id(patient_id)
        items = await self.directory.appointments(pid)
        if self.mirror is not None:
            # The reception may have moved or cancelled them in the clinic's agenda since the last
            # sync: the patient's "my appointment" answer must show the agenda's time.
            now = self.now()
            for a in items:
                if rules.is_upcoming(a.status, a.start, now):
                    await self._refresh(a.id)
            items = await self.directory.appointments(pid)
        if scope == "upcoming":
            now = self.now()
            items = [a for a in items if rules.is_upcoming(a.status, a.start, now)]
        return items
