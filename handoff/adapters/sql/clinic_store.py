"""The built-in `ClinicDirectory`: clinic data in the hub's own database (SQLite or PostgreSQL).

Double booking is refused by the database, not by a read-then-write check: the partial
unique index `uq_appointments_doctor_start_active` (migration 0002) admits one non-cancelled
appointment per doctor and start. The insert runs in a savepoint so the loser of a race gets
a clean `SlotTakenError` and its transaction stays usable. Times are stored in UTC (SQLite
keeps no offset) and handed out in the clinic zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import Database, as_utc
from handoff.adapters.sql.models import (
    AppointmentRow,
    BoletoRow,
    ClinicProfile,
    ConsentRow,
    DoctorRow,
    DoctorScheduleRow,
    ExamResultRow,
    ExamRow,
    InsurerRow,
    Patient,
    PatientLink,
    PriceRow,
    SpecialtyRow,
)
from handoff.domain.clinic.appointments import AppointmentStatus, SlotTakenError
from handoff.domain.clinic.calendar import hours_from_json, to_clinic
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
from handoff.domain.clinic.identity import IdentityAction, IdentityError, KnownPerson, decide_identity
from handoff.domain.clinic.slots import DoctorSchedule, Slot


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(moment: datetime | None) -> datetime | None:
    value = as_utc(moment)
    return to_clinic(value) if value is not None else None


def _local_req(moment: datetime) -> datetime:
    return to_clinic(as_utc(moment) or moment)


class SqlClinicDirectory:
    """`ClinicDirectory` over the hub's SQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- clinic ------------------------------------------------------------------------------

    async def info(self) -> ClinicInfo | None:
        """The clinic card (first profile row)."""
        async with self.db.session() as s:
            row = (await s.execute(select(ClinicProfile).order_by(ClinicProfile.id).limit(1))).scalar_one_or_none()
            if row is None:
                return None
            return ClinicInfo(
                name=row.name, address=row.address, phone=row.phone, whatsapp=row.whatsapp, email=row.email,
                parking=row.parking, accessibility=row.accessibility, hours=hours_from_json(row.hours or []),
            )

    async def specialties(self) -> list[Specialty]:
        """All specialties by name."""
        async with self.db.session() as s:
            rows = (await s.execute(select(SpecialtyRow).order_by(SpecialtyRow.name))).scalars().all()
            return [Specialty(r.slug, r.name) for r in rows]

    @staticmethod
    def _doctor_query() -> Select[int, str, str, str]:
        return (
            select(DoctorRow.id, DoctorRow.name, SpecialtyRow.slug, SpecialtyRow.name)
            .join(SpecialtyRow, SpecialtyRow.id == DoctorRow.specialty_id)
            .where(DoctorRow.active)
        )

    async def doctors(self, specialty: str | None = None) -> list[Doctor]:
        """Active doctors, optionally of one specialty."""
        q = self._doctor_query().order_by(DoctorRow.name)
        if specialty is not None:
            q = q.where(SpecialtyRow.slug == specialty)
        async with self.db.session() as s:
            return [Doctor(*row) for row in (await s.execute(q)).all()]

    async def doctor(self, doctor_id: int) -> Doctor | None:
        """One active doctor."""
        async with self.db.session() as s:
            row = (await s.execute(self._doctor_query().where(DoctorRow.id == doctor_id))).first()
            return Doctor(*row) if row is not None else None

    async def schedules(self, doctor_ids: Sequence[int]) -> list[DoctorSchedule]:
        """Weekly schedule rows of these doctors."""
        async with self.db.session() as s:
            rows = (
                await s.execute(select(DoctorScheduleRow).where(DoctorScheduleRow.doctor_id.in_(list(doctor_ids))))
            ).scalars().all()
            return [DoctorSchedule(r.doctor_id, r.weekday, r.start_time, r.end_time, r.slot_minutes) for r in rows]

    async def busy(
        self, doctor_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[tuple[datetime, datetime]]]:
        """Non-cancelled appointments overlapping [start, end), per doctor."""
        q = select(AppointmentRow.doctor_id, AppointmentRow.starts_at, AppointmentRow.ends_at).where(
            AppointmentRow.doctor_id.in_(list(doctor_ids)),
            AppointmentRow.status != AppointmentStatus.CANCELLED.value,
            AppointmentRow.starts_at < _utc(end),
            AppointmentRow.ends_at > _utc(start),
        )
        out: dict[int, list[tuple[datetime, datetime]]] = {}
        async with self.db.session() as s:
            for doctor_id, s_at, e_at in (await s.execute(q)).all():
                out.setdefault(doctor_id, []).append((_local_req(s_at), _local_req(e_at)))
        return out

    # -- patients ----------------------------------------------------------------------------

    @staticmethod
    async def _resolve(s: AsyncSession, patient_id: int) -> int | None:
        link = await s.get(PatientLink, patient_id)
        if link is not None:
            return link.linked_to_id
        exists = (await s.execute(select(Patient.id).where(Patient.id == patient_id))).scalar_one_or_none()
        return exists

    async def resolve_patient(self, patient_id: int) -> int | None:
        """Follow a CPF link to the record holding the clinic data."""
        async with self.db.session() as s:
            return await self._resolve(s, patient_id)

    @staticmethod
    async def _consent(s: AsyncSession, patient_id: int, canonical: int) -> Consent | None:
        # Consent follows the person: the latest decision given on any channel linked to them.
        linked = select(PatientLink.patient_id).where(PatientLink.linked_to_id == canonical)
        row = (
            await s.execute(
                select(ConsentRow)
                .where(or_(ConsentRow.patient_id.in_([patient_id, canonical]), ConsentRow.patient_id.in_(linked)))
                .order_by(ConsentRow.created_at.desc(), ConsentRow.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        return Consent(row.granted, row.version, _local_req(row.created_at))

    async def _record(self, s: AsyncSession, patient_id: int) -> PatientRecord | None:
        canonical = await self._resolve(s, patient_id)
        if canonical is None:
            return None
        p = await s.get(Patient, canonical)
        if p is None:
            return None
        return PatientRecord(
            id=p.id, name=p.display_name, cpf_known=p.cpf is not None, birth_date_known=p.birth_date is not None,
            consent=await self._consent(s, patient_id, canonical),
        )

    async def patient(self, patient_id: int) -> PatientRecord | None:
        """The patient view (resolved through CPF links)."""
        async with self.db.session() as s:
            return await self._record(s, patient_id)

    async def identify(
        self, patient_id: int, cpf: str | None, birth_date: date | None, name: str | None
    ) -> PatientRecord:
        """Apply `domain.clinic.identity.decide_identity` in one transaction."""
        try:
            async with self.db.session() as s:
                canonical = await self._resolve(s, patient_id)
                own = await s.get(Patient, canonical) if canonical is not None else None
                if own is None:
                    raise IdentityError("patient_not_found", "patient not found")
                holder = None
                if cpf is not None:
                    holder = (
                        await s.execute(select(Patient).where(Patient.cpf == cpf, Patient.id != own.id))
                    ).scalar_one_or_none()
                action = decide_identity(
                    KnownPerson(own.cpf, own.birth_date), cpf, birth_date,
                    KnownPerson(holder.cpf, holder.birth_date) if holder is not None else None,
                )
                target = own
                if action is IdentityAction.LINK and holder is not None:
                    link = await s.get(PatientLink, patient_id)
                    if link is None:
                        s.add(PatientLink(patient_id=patient_id, linked_to_id=holder.id,
                                          created_at=datetime.now(UTC)))
                    else:
                        link.linked_to_id = holder.id
                    target = holder
                elif cpf is not None:
                    own.cpf = cpf
                if birth_date is not None and target.birth_date is None:
                    target.birth_date = birth_date
                # On the channel's own record the latest name wins; a clinic record keeps its
                # registered name (a chat nickname must not overwrite it).
                if name and ((target is own and own.id == patient_id) or not target.display_name):
                    target.display_name = name
                await s.flush()
                record = await self._record(s, patient_id)
                assert record is not None
                return record
        except IntegrityError:
            # Another channel stored the same CPF at the same instant; the next try links to it.
            raise IdentityError("identity_conflict", "tente novamente") from None

    async def record_consent(self, patient_id: int, granted: bool, version: str, at: datetime) -> Consent:
        """Append one consent row for the channel patient who answered."""
        async with self.db.session() as s:
            s.add(ConsentRow(patient_id=patient_id, granted=granted, version=version, created_at=_utc(at)))
        return Consent(granted, version, to_clinic(at))

    # -- appointments ------------------------------------------------------------------------

    @staticmethod
    def _appointment_query() -> Select[AppointmentRow, str, str, str]:
        return (
            select(AppointmentRow, DoctorRow.name, SpecialtyRow.slug, SpecialtyRow.name)
            .join(DoctorRow, DoctorRow.id == AppointmentRow.doctor_id)
            .join(SpecialtyRow, SpecialtyRow.id == DoctorRow.specialty_id)
        )

    @staticmethod
    def _appointment(row: AppointmentRow, doctor_name: str, slug: str, specialty_name: str) -> Appointment:
        return Appointment(
            id=row.id, patient_id=row.patient_id, doctor_id=row.doctor_id, doctor_name=doctor_name,
            specialty=slug, specialty_name=specialty_name, start=_local_req(row.starts_at),
            end=_local_req(row.ends_at), status=AppointmentStatus(row.status),
        )

    async def _load(self, s: AsyncSession, appointment_id: int) -> Appointment | None:
        row = (await s.execute(self._appointment_query().where(AppointmentRow.id == appointment_id))).first()
        return self._appointment(*row) if row is not None else None

    async def appointments(self, patient_id: int) -> list[Appointment]:
        """All appointments of a patient record, soonest first."""
        q = self._appointment_query().where(AppointmentRow.patient_id == patient_id).order_by(
            AppointmentRow.starts_at, AppointmentRow.id
        )
        async with self.db.session() as s:
            return [self._appointment(*row) for row in (await s.execute(q)).all()]

    async def appointment(self, appointment_id: int) -> Appointment | None:
        """One appointment."""
        async with self.db.session() as s:
            return await self._load(s, appointment_id)

    @staticmethod
    async def _overlapping(s: AsyncSession, slot: Slot, exclude: int | None = None) -> bool:
        q = select(AppointmentRow.id).where(
            AppointmentRow.doctor_id == slot.doctor_id,
            AppointmentRow.status != AppointmentStatus.CANCELLED.value,
            and_(AppointmentRow.starts_at < _utc(slot.end), AppointmentRow.ends_at > _utc(slot.start)),
        )
        if exclude is not None:
            q = q.where(AppointmentRow.id != exclude)
        return (await s.execute(q.limit(1))).first() is not None

    async def book(self, patient_id: int, slot: Slot, at: datetime) -> Appointment:
        """Insert a scheduled appointment; the unique index decides races (SlotTakenError)."""
        async with self.db.session() as s:
            # Cheap early answer for the common case and for overlaps the index cannot see
            # (a slot length changed); the index below is what makes it safe under races.
            if await self._overlapping(s, slot):
                raise SlotTakenError(slot.id)
            try:
                async with s.begin_nested():
                    row = AppointmentRow(
                        patient_id=patient_id, doctor_id=slot.doctor_id, starts_at=_utc(slot.start),
                        ends_at=_utc(slot.end), status=AppointmentStatus.SCHEDULED.value, created_at=_utc(at),
                        updated_at=_utc(at),
                    )
                    s.add(row)
                    await s.flush()
            except IntegrityError:
                raise SlotTakenError(slot.id) from None
            loaded = await self._load(s, row.id)
            assert loaded is not None
            return loaded

    async def set_status(
        self, appointment_id: int, expected: AppointmentStatus, new: AppointmentStatus, at: datetime
    ) -> Appointment | None:
        """Conditional UPDATE: only when the status is still `expected` (no lost updates)."""
        async with self.db.session() as s:
            res = await s.execute(
                update(AppointmentRow)
                .where(AppointmentRow.id == appointment_id, AppointmentRow.status == expected.value)
                .values(status=new.value, updated_at=_utc(at))
            )
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return await self._load(s, appointment_id)

    async def move(
        self, appointment_id: int, expected: AppointmentStatus, slot: Slot, new: AppointmentStatus, at: datetime
    ) -> Appointment | None:
        """Move in one UPDATE, so the old slot is freed exactly when the new one is taken."""
        async with self.db.session() as s:
            if await self._overlapping(s, slot, exclude=appointment_id):
                raise SlotTakenError(slot.id)
            try:
                async with s.begin_nested():
                    res = await s.execute(
                        update(AppointmentRow)
                        .where(AppointmentRow.id == appointment_id, AppointmentRow.status == expected.value)
                        .values(doctor_id=slot.doctor_id, starts_at=_utc(slot.start), ends_at=_utc(slot.end),
                                status=new.value, updated_at=_utc(at))
                    )
            except IntegrityError:
                raise SlotTakenError(slot.id) from None
            if res.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return await self._load(s, appointment_id)

    # -- exams -------------------------------------------------------------------------------

    @staticmethod
    def _exam(r: ExamRow) -> Exam:
        return Exam(r.slug, r.name, r.preparation, r.fasting_hours, r.collection_hours, r.report_how,
                    r.requires_appointment)

    async def exams(self) -> list[Exam]:
        """The catalog by name."""
        async with self.db.session() as s:
            return [self._exam(r) for r in (await s.execute(select(ExamRow).order_by(ExamRow.name))).scalars()]

    async def exam(self, slug: str) -> Exam | None:
        """One exam."""
        async with self.db.session() as s:
            row = (await s.execute(select(ExamRow).where(ExamRow.slug == slug))).scalar_one_or_none()
            return self._exam(row) if row is not None else None

    @staticmethod
    def _result(r: ExamResultRow, exam: ExamRow) -> ExamResult:
        return ExamResult(exam.slug, exam.name, r.status, _local_req(r.collected_at), _local(r.ready_at),
                          r.report_token if r.status == "ready" else None)

    async def exam_results(self, patient_id: int) -> list[ExamResult]:
        """A patient's exams, newest collection first."""
        q = (
            select(ExamResultRow, ExamRow)
            .join(ExamRow, ExamRow.id == ExamResultRow.exam_id)
            .where(ExamResultRow.patient_id == patient_id)
            .order_by(ExamResultRow.collected_at.desc(), ExamResultRow.id.desc())
        )
        async with self.db.session() as s:
            return [self._result(r, e) for r, e in (await s.execute(q)).all()]

    async def exam_result_by_token(self, token: str) -> tuple[ExamResult, str | None] | None:
        """A ready report by its link token."""
        q = (
            select(ExamResultRow, ExamRow, Patient.display_name)
            .join(ExamRow, ExamRow.id == ExamResultRow.exam_id)
            .join(Patient, Patient.id == ExamResultRow.patient_id)
            .where(ExamResultRow.report_token == token, ExamResultRow.status == "ready")
        )
        async with self.db.session() as s:
            row = (await s.execute(q)).first()
            return (self._result(row[0], row[1]), row[2]) if row is not None else None

    # -- billing -----------------------------------------------------------------------------

    @staticmethod
    def _boleto(r: BoletoRow) -> Boleto:
        return Boleto(r.id, r.patient_id, r.description, r.amount_cents, r.due_date, _local(r.paid_at), r.barcode,
                      r.pix_code, r.link_token)

    async def boletos(self, patient_id: int) -> list[Boleto]:
        """A patient's boletos by due date."""
        q = select(BoletoRow).where(BoletoRow.patient_id == patient_id).order_by(BoletoRow.due_date, BoletoRow.id)
        async with self.db.session() as s:
            return [self._boleto(r) for r in (await s.execute(q)).scalars()]

    async def boleto_by_token(self, token: str) -> tuple[Boleto, str | None] | None:
        """A boleto by its second-copy token."""
        q = select(BoletoRow, Patient.display_name).join(Patient, Patient.id == BoletoRow.patient_id).where(
            BoletoRow.link_token == token
        )
        async with self.db.session() as s:
            row = (await s.execute(q)).first()
            return (self._boleto(row[0]), row[1]) if row is not None else None

    async def prices(self, specialty: str | None = None, exam: str | None = None) -> list[Price]:
        """Prices; with filters, only the matching consultation and/or exam."""
        q = select(PriceRow).order_by(PriceRow.kind, PriceRow.item)
        wanted = []
        if specialty is not None:
            wanted.append(and_(PriceRow.kind == "consultation", PriceRow.slug == specialty))
        if exam is not None:
            wanted.append(and_(PriceRow.kind == "exam", PriceRow.slug == exam))
        if wanted:
            q = q.where(or_(*wanted))
        async with self.db.session() as s:
            return [Price(r.item, r.kind, r.slug, r.amount_cents) for r in (await s.execute(q)).scalars()]

    async def insurers(self) -> list[Insurer]:
        """Accepted insurers by name."""
        async with self.db.session() as s:
            rows = (await s.execute(select(InsurerRow).order_by(InsurerRow.name))).scalars().all()
            return [
                Insurer(r.slug, r.name, list(r.plans or []), r.covers_consultations, r.covers_exams,
                        r.requires_authorization)
                for r in rows
            ]
