"""The agenda port: where a clinic's appointments really live (built-in, CalDAV or FHIR R4).

The hub always keeps its own copy of what the bot booked (the `appointments` table, through
`ClinicDirectory`): the patient's "my appointment" answer, reminders, metrics and the transcript
context read it. When the clinic's agenda is external, an `ExternalAgenda` adapter is the
source of truth for *availability* and every booking, move and cancellation is written there
first; the hub's copy carries the external reference (`BookingRef`) and is kept in step with
changes made by the reception (`changes`).

Adapters (handoff/adapters/agenda/): `caldav.CalDavAgenda` (one calendar per doctor; free slots
are the doctor's working hours minus busy events) and `fhir.FhirAgenda` (Schedule/Slot/Appointment).
Every adapter passes the same contract tests (tests/agenda/contract.py).

Errors an adapter raises (`handoff.domain.errors`), and what the clinic service makes of them:
- `SlotTakenError` (domain): someone else holds the slot in the external agenda -> 409
  `slot_taken`, the bot offers the next slots.
- `AgendaUnavailableError`: the agenda did not answer (network, 5xx, timeout) -> 503
  `agenda_unavailable`, the bot says so and hands off with context; a cancellation is kept and
  retried from the `agenda_writes` outbox.
- `AgendaConflictError`: the external copy changed since it was read (If-Match / ETag refused) ->
  re-read and retry once, then 409 `appointment_changed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from handoff.domain.clinic.calendar import WeeklyHours
from handoff.domain.clinic.slots import DoctorSchedule, Slot

SYSTEMS = ("builtin", "caldav", "fhir")


@dataclass(frozen=True)
class AgendaDoctor:
    """A hub doctor and where their agenda lives in the clinic's system."""

    id: int
    name: str
    specialty: str  # specialty slug
    agenda_ref: str  # CalDAV calendar URL (absolute or relative to the server URL) / FHIR Schedule id


@dataclass(frozen=True)
class AgendaPatient:
    """What the external agenda is told about the patient (LGPD: the minimum to identify them)."""

    id: int  # hub patient record id (the reference written into the event / Appointment)
    name: str | None
    cpf: str | None  # 11 digits; FHIR Patient match by identifier
    birth_date: date | None = None


@dataclass(frozen=True)
class BookingRef:
    """The external copy of one booking."""

    ref: str  # CalDAV event href / FHIR Appointment id
    version: str | None  # ETag / meta.versionId, sent back as If-Match


@dataclass(frozen=True)
class ExternalBooking:
    """A booking as the external agenda holds it now (what the reception may have changed)."""

    ref: BookingRef
    doctor_id: int  # the hub doctor whose agenda holds it
    start: datetime  # aware
    end: datetime  # aware
    cancelled: bool
    patient_id: int | None  # the hub patient reference written at booking (None: not ours)


@dataclass(frozen=True)
class SlotRules:
    """What the hub knows about working time, for agendas that only store busy events (CalDAV)."""

    schedules: Sequence[DoctorSchedule]
    hours: WeeklyHours
    now: datetime


@dataclass(frozen=True)
class AgendaChanges:
    """Changes in one doctor's agenda since the last `token`."""

    changed: list[ExternalBooking]  # created or modified bookings (ours or the reception's)
    deleted: list[str]  # refs that no longer exist
    token: str | None  # pass back next time (CalDAV sync-token / FHIR _lastUpdated mark)


class ExternalAgenda(Protocol):
    """A clinic agenda outside the hub. Implementations: CalDAV, FHIR R4."""

    system: str  # "caldav" | "fhir"

    async def free_slots(
        self, doctors: Sequence[AgendaDoctor], start: datetime, end: datetime, rules: SlotRules, limit: int
    ) -> list[Slot]:
        """Free slots of these doctors in [start, end), soonest first, at most `limit`.

        Never offers a slot earlier than `rules.now` + the domain's minimum lead time.
        Raises `AgendaUnavailableError`.
        """
        ...

    async def offered(self, doctor: AgendaDoctor, start: datetime, rules: SlotRules) -> Slot | None:
        """The slot of this doctor starting at `start` if it is offered and free now, else None."""
        ...

    async def book(self, doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient) -> BookingRef:
        """Write the booking; raises `SlotTakenError` when the slot is no longer free (also
        under a race between hub replicas or with the reception), `AgendaUnavailableError`."""
        ...

    async def read(self, doctor: AgendaDoctor, ref: BookingRef) -> ExternalBooking | None:
        """The booking as it is now (None: deleted in the agenda)."""
        ...

    async def move(
        self, doctor: AgendaDoctor, ref: BookingRef, to_doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient
    ) -> BookingRef:
        """Move the booking (maybe to another doctor of the same specialty) with If-Match on `ref`.

        Raises `SlotTakenError`, `AgendaConflictError`, `AgendaUnavailableError`.
        """
        ...

    async def cancel(self, doctor: AgendaDoctor, ref: BookingRef) -> None:
        """Cancel the booking (idempotent: an already cancelled or deleted one is fine)."""
        ...

    async def changes(self, doctor: AgendaDoctor, token: str | None) -> AgendaChanges:
        """Bookings changed in this doctor's agenda since `token` (everything when None)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class MirroredBooking:
    """The hub's copy of an externally held appointment."""

    appointment_id: int
    patient_id: int
    doctor_id: int
    system: str
    ref: BookingRef
    start: datetime
    end: datetime
    cancelled: bool


@dataclass(frozen=True)
class PendingWrite:
    """A change the external agenda must still take (written while it was down)."""

    id: int
    appointment_id: int
    action: str  # "cancel"
    payload: dict[str, str]
    attempts: int


class AgendaMirror(Protocol):
    """The hub's side of an external agenda: refs on its appointments, sync marks, pending writes."""

    async def agenda_refs(self, doctor_ids: Sequence[int]) -> dict[int, str]:
        """agenda_ref of these doctors (doctors without one are absent: built-in agenda)."""
        ...

    async def set_agenda_ref(self, doctor_id: int, agenda_ref: str | None) -> bool:
        """Point a doctor at an external calendar/Schedule (None: back to built-in). False: no such doctor."""
        ...

    async def agenda_patient(self, patient_id: int) -> AgendaPatient | None:
        """Name, CPF and birth date of a (resolved) patient record, for the external agenda."""
        ...

    async def insert_booking(
        self, patient_id: int, slot: Slot, system: str, ref: BookingRef, at: datetime
    ) -> int:
        """The hub's copy of a booking just written externally; raises SlotTakenError when the
        hub already holds an active appointment there (the caller undoes the external write)."""
        ...

    async def booking(self, appointment_id: int) -> MirroredBooking | None:
        """An appointment's external copy (None: built-in appointment)."""
        ...

    async def by_ref(self, system: str, ref: str) -> MirroredBooking | None:
        """The hub's appointment holding this external ref."""
        ...

    async def apply(self, appointment_id: int, booking: ExternalBooking | None, at: datetime) -> bool:
        """Bring the hub's copy in line with the agenda (moved, cancelled, deleted = None).
        True when something changed."""
        ...

    async def moved(
        self, appointment_id: int, slot: Slot, ref: BookingRef, status: str, expected_status: str, at: datetime
    ) -> bool:
        """Record a move written externally (conditional on the status); raises SlotTakenError."""
        ...

    async def sync_token(self, doctor_id: int) -> str | None:
        """The last change mark read for this doctor."""
        ...

    async def save_sync_token(self, doctor_id: int, system: str, token: str | None, at: datetime) -> None:
        """Remember the change mark (idempotent; replicas may race, the apply is idempotent)."""
        ...

    async def enqueue_write(self, appointment_id: int, action: str, payload: dict[str, str], at: datetime) -> None:
        """Keep a write for later (the agenda was down)."""
        ...

    async def due_writes(self, now: datetime, limit: int, lease: float) -> list[PendingWrite]:
        """Claim due writes (each claimed by one replica for `lease` seconds)."""
        ...

    async def finish_write(self, write_id: int, at: datetime) -> None:
        """The agenda took it."""
        ...

    async def retry_write(self, write_id: int, error: str, next_at: datetime) -> None:
        """Failed again: try at `next_at` (error: a short code, never content)."""
        ...
