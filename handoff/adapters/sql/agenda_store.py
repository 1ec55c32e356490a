"""`AgendaMirror` over the hub's SQL database: external refs on appointments, sync marks and the
outbox of agenda writes (issue 14).

Times are stored in UTC, like the rest of the clinic tables. The hub's unique index on
(doctor, start) of active appointments still holds for mirrored bookings, so two hub replicas
cannot both record the same slot even if the external agenda were to accept both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from handoff.adapters.sql.database import Database, as_utc
from handoff.adapters.sql.models import AgendaSyncRow, AgendaWriteRow, AppointmentRow, DoctorRow, Patient
from handoff.domain.clinic.agenda import AgendaPatient, BookingRef, ExternalBooking, MirroredBooking, PendingWrite
from handoff.domain.clinic.appointments import AppointmentStatus, SlotTakenError
from handoff.domain.clinic.calendar import to_clinic
from handoff.domain.clinic.slots import Slot


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(moment: datetime) -> datetime:
    return to_clinic(as_utc(moment) or moment)


def _mirrored(row: AppointmentRow) -> MirroredBooking:
    assert row.agenda_system is not None and row.agenda_ref is not None
    return MirroredBooking(
        appointment_id=row.id, patient_id=row.patient_id, doctor_id=row.doctor_id, system=row.agenda_system,
        ref=BookingRef(row.agenda_ref, row.agenda_version), start=_local(row.starts_at), end=_local(row.ends_at),
        cancelled=row.status == AppointmentStatus.CANCELLED.value,
    )


class SqlAgendaMirror:
    """The hub's copy of externally held appointments."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def agenda_refs(self, doctor_ids: Sequence[int]) -> dict[int, str]:
        """agenda_ref per doctor that has one."""
        q = select(DoctorRow.id, DoctorRow.agenda_ref).where(
            DoctorRow.id.in_(list(doctor_ids)), DoctorRow.agenda_ref.is_not(None))
        async with self.db.session() as s:
            return {i: ref for i, ref in (await s.execute(q)).all() if ref}

    async def set_agenda_ref(self, doctor_id: int, agenda_ref: str | None) -> bool:
        """Point a doctor at an external calendar (None: the built-in agenda)."""
        async with self.db.session() as s:
            res = await s.execute(update(DoctorRow).where(DoctorRow.id == doctor_id).values(agenda_ref=agenda_ref))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def agenda_patient(self, patient_id: int) -> AgendaPatient | None:
        """What the external agenda is told about a (resolved) patient record."""
        async with self.db.session() as s:
            row = await s.get(Patient, patient_id)
            if row is None:
                return None
            return AgendaPatient(id=row.id, name=row.display_name, cpf=row.cpf, birth_date=row.birth_date)

    async def insert_booking(self, patient_id: int, slot: Slot, system: str, ref: BookingRef, at: datetime) -> int:
        """Insert the hub's copy; the unique index refuses a second active one (SlotTakenError)."""
        try:
            async with self.db.session() as s:
                row = AppointmentRow(
                    patient_id=patient_id, doctor_id=slot.doctor_id, starts_at=_utc(slot.start),
                    ends_at=_utc(slot.end), status=AppointmentStatus.SCHEDULED.value, created_at=_utc(at),
                    updated_at=_utc(at), agenda_system=system, agenda_ref=ref.ref, agenda_version=ref.version,
                )
                s.add(row)
                await s.flush()
                return row.id
        except IntegrityError:
            raise SlotTakenError(slot.id) from None

    async def booking(self, appointment_id: int) -> MirroredBooking | None:
        """The external copy of an appointment (None when it is a built-in one)."""
        async with self.db.session() as s:
            row = await s.get(AppointmentRow, appointment_id)
            if row is None or row.agenda_ref is None or row.agenda_system is None:
                return None
            return _mirrored(row)

    async def by_ref(self, system: str, ref: str) -> MirroredBooking | None:
        """The hub appointment holding this external ref (the newest when several ever did)."""
        q = (select(AppointmentRow).where(AppointmentRow.agenda_system == system, AppointmentRow.agenda_ref == ref)
             .order_by(AppointmentRow.id.desc()).limit(1))
        async with self.db.session() as s:
            row = (await s.execute(q)).scalar_one_or_none()
            return _mirrored(row) if row is not None else None

    async def apply(self, appointment_id: int, booking: ExternalBooking | None, at: datetime) -> bool:
        """Follow the agenda: a deleted or cancelled booking cancels the hub's copy; a moved one moves it.

        A finished (done) appointment is history and is left alone.
        """
        async with self.db.session() as s:
            row = await s.get(AppointmentRow, appointment_id, with_for_update=True)
            if row is None or row.status == AppointmentStatus.DONE.value:
                return False
            if booking is None or booking.cancelled:
                if row.status == AppointmentStatus.CANCELLED.value:
                    return False
                row.status = AppointmentStatus.CANCELLED.value
                row.updated_at = _utc(at)
                return True
            start, end = _utc(booking.start), _utc(booking.end)
            same = (as_utc(row.starts_at) == start and as_utc(row.ends_at) == end
                    and row.doctor_id == booking.doctor_id and row.agenda_version == booking.ref.version)
            if same:
                return False
            moved = as_utc(row.starts_at) != start or row.doctor_id != booking.doctor_id
            row.starts_at, row.ends_at, row.doctor_id = start, end, booking.doctor_id
            row.agenda_ref, row.agenda_version = booking.ref.ref, booking.ref.version
            if moved and row.status == AppointmentStatus.CONFIRMED.value:
                # The reception moved it: the patient confirmed the old time, not this one.
                row.status = AppointmentStatus.SCHEDULED.value
            row.updated_at = _utc(at)
            try:
                await s.flush()
            except IntegrityError:
                # The hub holds another active appointment at the new time (it will be cancelled
                # by the same sync when the agenda no longer has it); keep the old copy for now.
                raise SlotTakenError(f"{booking.doctor_id}@{start:%Y%m%d%H%M}") from None
            return True

    async def moved(
        self, appointment_id: int, slot: Slot, ref: BookingRef, status: str, expected_status: str, at: datetime
    ) -> bool:
        """Record a move written externally, only if the status is still `expected_status`."""
        try:
            async with self.db.session() as s:
                res = await s.execute(
                    update(AppointmentRow)
                    .where(AppointmentRow.id == appointment_id, AppointmentRow.status == expected_status)
                    .values(doctor_id=slot.doctor_id, starts_at=_utc(slot.start), ends_at=_utc(slot.end),
                            status=status, agenda_ref=ref.ref, agenda_version=ref.version, updated_at=_utc(at))
                )
                return bool(res.rowcount)  # type: ignore[attr-defined]
        except IntegrityError:
            raise SlotTakenError(slot.id) from None

    async def sync_token(self, doctor_id: int) -> str | None:
        """The last change mark read for this doctor."""
        async with self.db.session() as s:
            row = await s.get(AgendaSyncRow, doctor_id)
            return row.token if row is not None else None

    async def save_sync_token(self, doctor_id: int, system: str, token: str | None, at: datetime) -> None:
        """Upsert the change mark."""
        async with self.db.session() as s:
            row = await s.get(AgendaSyncRow, doctor_id, with_for_update=True)
            if row is None:
                s.add(AgendaSyncRow(doctor_id=doctor_id, system=system, token=token, synced_at=_utc(at)))
            else:
                row.system, row.token, row.synced_at = system, token, _utc(at)

    async def enqueue_write(self, appointment_id: int, action: str, payload: dict[str, str], at: datetime) -> None:
        """Keep a write for the retry worker."""
        async with self.db.session() as s:
            s.add(AgendaWriteRow(appointment_id=appointment_id, action=action, payload=payload, attempts=0,
                                 next_attempt_at=_utc(at), created_at=_utc(at)))

    async def due_writes(self, now: datetime, limit: int, lease: float) -> list[PendingWrite]:
        """Claim due writes: pushing next_attempt_at forward by the lease is the claim, taken with a
        conditional UPDATE so two replicas never both take a row."""
        now_utc = _utc(now)
        claimed: list[PendingWrite] = []
        async with self.db.session() as s:
            rows = (await s.execute(
                select(AgendaWriteRow.id, AgendaWriteRow.next_attempt_at)
                .where(AgendaWriteRow.done_at.is_(None), AgendaWriteRow.next_attempt_at <= now_utc)
                .order_by(AgendaWriteRow.next_attempt_at).limit(limit)
            )).all()
        for write_id, due in rows:
            async with self.db.session() as s:
                res = await s.execute(
                    update(AgendaWriteRow)
                    .where(AgendaWriteRow.id == write_id, AgendaWriteRow.done_at.is_(None),
                           AgendaWriteRow.next_attempt_at == due)
                    .values(next_attempt_at=now_utc + timedelta(seconds=lease))
                )
                if not res.rowcount:  # type: ignore[attr-defined]
                    continue
                row = await s.get(AgendaWriteRow, write_id)
                assert row is not None
                claimed.append(PendingWrite(row.id, row.appointment_id, row.action, dict(row.payload or {}),
                                            row.attempts))
        return claimed

    async def finish_write(self, write_id: int, at: datetime) -> None:
        """Mark done."""
        async with self.db.session() as s:
            await s.execute(update(AgendaWriteRow).where(AgendaWriteRow.id == write_id).values(done_at=_utc(at)))

    async def retry_write(self, write_id: int, error: str, next_at: datetime) -> None:
        """Count the attempt and schedule the next."""
        async with self.db.session() as s:
            await s.execute(
                update(AgendaWriteRow).where(AgendaWriteRow.id == write_id)
                .values(attempts=AgendaWriteRow.attempts + 1, last_error=error[:200], next_attempt_at=_utc(next_at))
            )
