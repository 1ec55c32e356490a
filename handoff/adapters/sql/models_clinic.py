"""Tables of the clinic data (migration 0002 and later): the built-in ClinicDirectory
(handoff/adapters/sql/clinic_store.py), the agenda sync, consents and patient links.
Imported at the end of models.py so Base.metadata holds them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId

# Appointments that hold their slot; the partial unique index below is the double-booking guard.
ACTIVE_APPOINTMENT = text("status <> 'cancelled'")


class ClinicProfile(Base):
    """The clinic's public card (one row)."""

    __tablename__ = "clinic_profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400))
    phone: Mapped[str] = mapped_column(String(32))
    whatsapp: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    parking: Mapped[str] = mapped_column(Text)
    accessibility: Mapped[str] = mapped_column(Text)
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"weekday", "intervals": [["08:00","12:00"]]}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SpecialtyRow(Base):
    """A medical specialty (slug = the bot's entity value)."""

    __tablename__ = "specialties"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class DoctorRow(Base):
    """A doctor seeing patients for one specialty."""

    __tablename__ = "doctors"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialties.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Where this doctor's agenda lives in the clinic's system: a CalDAV calendar URL or a FHIR
    # Schedule id (NULL = the built-in agenda).
    agenda_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)


class DoctorScheduleRow(Base):
    """A weekly working block of a doctor (weekday 0 = Monday)."""

    __tablename__ = "doctor_schedules"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)


class AppointmentRow(Base):
    """A booked consultation. Times are stored in UTC."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointments_doctor_start_active", "doctor_id", "starts_at", unique=True,
            sqlite_where=ACTIVE_APPOINTMENT, postgresql_where=ACTIVE_APPOINTMENT,
        ),
        Index("ix_appointments_agenda_ref", "agenda_system", "agenda_ref"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The external copy when the agenda is CalDAV/FHIR: event href + ETag, or Appointment id +
    # meta.versionId (changes are written with If-Match; the reception's moves are recognised).
    agenda_system: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agenda_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)
    agenda_version: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AgendaSyncRow(Base):
    """Per doctor: the last change mark read from the external agenda (CalDAV sync token)."""

    __tablename__ = "agenda_sync"
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(16))
    token: Mapped[str | None] = mapped_column(Text, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AgendaWriteRow(Base):
    """A change the external agenda could not take at once, retried with backoff (durable)."""

    __tablename__ = "agenda_writes"
    __table_args__ = (Index("ix_agenda_writes_due", "done_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    action: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ExamRow(Base):
    """An exam of the catalog with its standard preparation text."""

    __tablename__ = "exams"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    preparation: Mapped[str] = mapped_column(Text)
    fasting_hours: Mapped[int] = mapped_column(Integer, default=0)
    collection_hours: Mapped[str] = mapped_column(Text)
    report_how: Mapped[str] = mapped_column(Text)
    requires_appointment: Mapped[bool] = mapped_column(Boolean, default=False)


class ExamResultRow(Base):
    """One exam of a patient and where its report stands."""

    __tablename__ = "exam_results"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    status: Mapped[str] = mapped_column(String(16))
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # capability for the report link


class BoletoRow(Base):
    """A bank slip; `link_token` is the unguessable capability in its second-copy URL."""

    __tablename__ = "boletos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    barcode: Mapped[str] = mapped_column(String(44))
    pix_code: Mapped[str] = mapped_column(Text)
    link_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PriceRow(Base):
    """Private price of a consultation (slug = specialty) or an exam (slug = exam)."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("kind", "slug", name="uq_prices_kind_slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)


class InsurerRow(Base):
    """A health insurer the clinic accepts."""

    __tablename__ = "insurers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    plans: Mapped[list[str]] = mapped_column(JSON)
    covers_consultations: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_exams: Mapped[bool] = mapped_column(Boolean, default=True)
    requires_authorization: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsentRow(Base):
    """Append-only LGPD consent log: the latest row per patient is the current decision."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_id_id", "patient_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    granted: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatientLink(Base):
    """A channel patient identified (by CPF) as an existing record: all clinic data lives there."""

    __tablename__ = "patient_links"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    linked_to_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatientMerge(Base):
    """Two records of one person merged by staff (migration 0004): the merged one keeps a
    `PatientLink` to the kept one; everything that pointed at it now points at the kept one."""

    __tablename__ = "patient_merges"
    __table_args__ = (UniqueConstraint("merged_patient_id", name="uq_patient_merges_merged_patient_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kept_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)  # rows moved per table
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
