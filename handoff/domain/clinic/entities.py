"""Clinic data as plain values: what a `ClinicDirectory` (the agenda/EHR seam) returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from handoff.domain.clinic.appointments import AppointmentStatus


@dataclass(frozen=True)
class ClinicInfo:
    """The clinic's public card."""

    name: str
    address: str
    phone: str
    whatsapp: str
    email: str
    parking: str
    accessibility: str
    hours: dict[int, list[tuple[time, time]]]


@dataclass(frozen=True)
class Specialty:
    """A medical specialty offered (slug is the bot's entity value)."""

    slug: str
    name: str


@dataclass(frozen=True)
class Doctor:
    """A doctor and the one specialty they see patients for here."""

    id: int
    name: str
    specialty: str
    specialty_name: str


@dataclass(frozen=True)
class Consent:
    """One consent decision (LGPD): what was answered, to which notice version, when."""

    granted: bool
    version: str
    at: datetime


@dataclass(frozen=True)
class PatientRecord:
    """What the clinic API may say about a patient (never the CPF itself)."""

    id: int
    name: str | None
    cpf_known: bool
    birth_date_known: bool
    consent: Consent | None


@dataclass(frozen=True)
class Appointment:
    """A consultation booked for a patient."""

    id: int
    patient_id: int
    doctor_id: int
    doctor_name: str
    specialty: str
    specialty_name: str
    start: datetime
    end: datetime
    status: AppointmentStatus


@dataclass(frozen=True)
class Exam:
    """An exam of the catalog with its standard preparation text (pt-BR)."""

    slug: str
    name: str
    preparation: str
    fasting_hours: int
    collection_hours: str
    report_how: str
    requires_appointment: bool


@dataclass(frozen=True)
class ExamResult:
    """Status of one of a patient's exams; `report_token` names the report when ready."""

    exam: str
    exam_name: str
    status: str  # collected | processing | ready
    collected_at: datetime
    ready_at: datetime | None
    report_token: str | None


@dataclass(frozen=True)
class Boleto:
    """A bank slip the patient owes or paid."""

    id: int
    patient_id: int
    description: str
    amount_cents: int
    due_date: date
    paid_at: datetime | None
    barcode: str
    pix_code: str
    link_token: str


@dataclass(frozen=True)
class Price:
    """Private (out-of-pocket) price of a consultation or exam."""

    item: str
    kind: str  # consultation | exam
    slug: str
    amount_cents: int


@dataclass(frozen=True)
class Insurer:
    """A health insurer (convênio) the clinic accepts."""

    slug: str
    name: str
    plans: list[str] = field(default_factory=list)
    covers_consultations: bool = True
    covers_exams: bool = True
    requires_authorization: bool = False
