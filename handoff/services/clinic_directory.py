"""The clinic's port: where clinic data lives (`ClinicDirectory`) and the waitlist's seams.

`ClinicDirectory` is the seam where a real agenda/EHR plugs in; the built-in implementation is
`handoff.adapters.sql.clinic_store.SqlClinicDirectory`. `SlotHolds` and `SlotFreed` connect the
agenda to the waitlist (issue 15).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Protocol

from handoff.domain.clinic.appointments import AppointmentStatus
from handoff.domain.clinic.entities import (
    Appointment,
    Boleto,
    ClinicInfo,
    Consent,
    Doctor,
    Exam,
    ExamResult,
    Insurer,
    PatientRecord,
    Price,
    Specialty,
)
from handoff.domain.clinic.slots import DoctorSchedule, Slot


class ClinicDirectory(Protocol):
    """Where clinic data lives: the built-in SQL store, or an adapter to a real agenda/EHR.

    Patient ids are the hub's ids; `resolve_patient` maps a channel patient to the record that
    holds the person's clinic data (after identification by CPF they differ).
    """

    async def info(self) -> ClinicInfo | None:
        """The clinic's public card (None before it is configured)."""
        ...

    async def specialties(self) -> list[Specialty]:
        """All specialties, by name."""
        ...

    async def doctors(self, specialty: str | None = None) -> list[Doctor]:
        """Active doctors, optionally of one specialty slug."""
        ...

    async def doctor(self, doctor_id: int) -> Doctor | None:
        """One active doctor."""
        ...

    async def schedules(self, doctor_ids: Sequence[int]) -> list[DoctorSchedule]:
        """Weekly schedule rows of these doctors."""
        ...

    async def busy(
        self, doctor_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[tuple[datetime, datetime]]]:
        """Non-cancelled appointments of these doctors overlapping [start, end)."""
        ...

    async def resolve_patient(self, patient_id: int) -> int | None:
        """The id of the record holding this patient's clinic data (None when unknown)."""
        ...

    async def patient(self, patient_id: int) -> PatientRecord | None:
        """The patient as the clinic API may show it."""
        ...

    async def identify(
        self, patient_id: int, cpf: str | None, birth_date: date | None, name: str | None
    ) -> PatientRecord:
        """Attach identity data, linking to the record with this CPF (rules in domain.clinic.identity).

        Raises `IdentityError` when the rules refuse.
        """
        ...

    async def record_consent(self, patient_id: int, granted: bool, version: str, at: datetime) -> Consent:
        """Append a consent decision (never updates an old one)."""
        ...

    async def appointments(self, patient_id: int) -> list[Appointment]:
        """All appointments of a (resolved) patient, soonest first."""
        ...

    async def appointment(self, appointment_id: int) -> Appointment | None:
        """One appointment."""
        ...

    async def book(self, patient_id: int, slot: Slot, at: datetime) -> Appointment:
        """Create a scheduled appointment; raises `SlotTakenError` when the slot is not free."""
        ...

    async def set_status(
        self, appointment_id: int, expected: AppointmentStatus, new: AppointmentStatus, at: datetime
    ) -> Appointment | None:
        """Change the status if it is still `expected` (None when it changed meanwhile)."""
        ...

    async def move(
        self, appointment_id: int, expected: AppointmentStatus, slot: Slot, new: AppointmentStatus, at: datetime
    ) -> Appointment | None:
        """Move to another slot if the status is still `expected`; raises `SlotTakenError`."""
        ...

    async def exams(self) -> list[Exam]:
        """The exam catalog."""
        ...

    async def exam(self, slug: str) -> Exam | None:
        """One exam by slug."""
        ...

    async def exam_results(self, patient_id: int) -> list[ExamResult]:
        """A (resolved) patient's exams, newest first."""
        ...

    async def exam_result_by_token(self, token: str) -> tuple[ExamResult, str | None] | None:
        """A ready exam by its report token, with the patient's name."""
        ...

    async def boletos(self, patient_id: int) -> list[Boleto]:
        """A (resolved) patient's boletos, by due date."""
        ...

    async def boleto_by_token(self, token: str) -> tuple[Boleto, str | None] | None:
        """A boleto by its second-copy link token, with the patient's name."""
        ...

    async def prices(self, specialty: str | None = None, exam: str | None = None) -> list[Price]:
        """Private prices, optionally only those of a specialty's consultation and/or an exam."""
        ...

    async def insurers(self) -> list[Insurer]:
        """Accepted insurers."""
        ...


class SlotHolds(Protocol):
    """Slots held for one patient (the waitlist's offers): nobody else may list or book them."""

    async def holders(self, doctor_ids: Sequence[int], start: datetime, end: datetime) -> dict[str, int]:
        """Slot id -> the patient it is held for, for these doctors' slots starting in [start, end)."""
        ...


SlotFreed = Callable[[int, datetime, datetime], Awaitable[None]]  # (doctor_id, start, end)
