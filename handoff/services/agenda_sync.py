"""Keeps the hub's copy of externally held appointments in step with the clinic's agenda.

Two jobs, run by `AgendaSyncWorker` in every hub replica:
- sync: per doctor with an agenda_ref, read what changed since the last mark (CalDAV sync token,
  FHIR `_lastUpdated`) and apply it: the reception moved one of ours -> new time; deleted or
  cancelled -> cancelled; an event carrying our patient reference that the hub does not hold
  (a crash between the external write and the hub's insert) -> adopted.
- retry: cancellations the patient made while the agenda was down (`agenda_writes`) are written
  again with exponential backoff.

Several replicas may sync the same doctor at once: applying a change is idempotent (the copy is
set to what the agenda says), so the worst case is reading the same changes twice. Writes are
claimed one replica at a time by `AgendaMirror.due_writes`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handoff.adapters.tasks import cancel_and_wait, run_every
from handoff.domain.clinic.agenda import (
    AgendaDoctor,
    AgendaMirror,
    ExternalAgenda,
    ExternalBooking,
)
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.slots import Slot
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError

log = logging.getLogger(__name__)

WRITE_LEASE_SECONDS = 60.0
MAX_BACKOFF = timedelta(minutes=30)


def write_backoff(attempts: int) -> timedelta:
    """Delay before the next try of a pending agenda write: 5 s doubling, capped at 30 min."""
    return min(timedelta(seconds=5 * 2 ** min(attempts, 20)), MAX_BACKOFF)


@dataclass
class SyncReport:
    """What one pass did (counts only)."""

    updated: int = 0
    adopted: int = 0
    cancelled: int = 0
    writes_done: int = 0
    writes_failed: int = 0
    unavailable: int = 0


class AgendaSync:
    """The sync and retry use cases over an `ExternalAgenda` and the hub's `AgendaMirror`."""

    def __init__(
        self,
        agenda: ExternalAgenda,
        mirror: AgendaMirror,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.agenda = agenda
        self.mirror = mirror
        self._clock = clock or (lambda: datetime.now(UTC))

    async def sync_doctor(self, doctor: AgendaDoctor, report: SyncReport | None = None) -> SyncReport:
        """Apply the changes in one doctor's agenda since the last mark."""
        report = report or SyncReport()
        token = await self.mirror.sync_token(doctor.id)
        changes = await self.agenda.changes(doctor, token)
        now = self._clock()
        for booking in changes.changed:
            await self._apply_changed(booking, report, now)
        for ref in changes.deleted:
            held = await self.mirror.by_ref(self.agenda.system, ref)
            if held is not None and await self.mirror.apply(held.appointment_id, None, now):
                report.cancelled += 1
        await self.mirror.save_sync_token(doctor.id, self.agenda.system, changes.token, now)
        return report

    async def _apply_changed(self, booking: ExternalBooking, report: SyncReport, now: datetime) -> None:
        held = await self.mirror.by_ref(self.agenda.system, booking.ref.ref)
        if held is None:
            if booking.patient_id is None or booking.cancelled:
                return  # the reception's own event: it only makes the time busy
            if await self.mirror.agenda_patient(booking.patient_id) is None:
                return  # a reference to a patient the hub no longer holds (erased): leave it
            try:
                await self.mirror.insert_booking(
                    booking.patient_id, Slot(booking.doctor_id, booking.start, booking.end), self.agenda.system,
                    booking.ref, now)
                report.adopted += 1
            except SlotTakenError:
                log.warning("agenda sync: could not adopt an event (the hub holds that time)")
            return
        try:
            if await self.mirror.apply(held.appointment_id, booking, now):
                if booking.cancelled:
                    report.cancelled += 1
                else:
                    report.updated += 1
        except SlotTakenError:
            log.warning("agenda sync: a moved event collides with another hub appointment")

    async def sync_all(self, doctors: list[AgendaDoctor]) -> SyncReport:
        """One pass over every doctor; a doctor whose agenda is down is skipped until the next."""
        report = SyncReport()
        for doctor in doctors:
            try:
                await self.sync_doctor(doctor, report)
            except AgendaUnavailableError:
                report.unavailable += 1
        return report

    async def retry_writes(self, doctor_of: Callable[[int], Awaitable[AgendaDoctor | None]],
                           limit: int = 50) -> SyncReport:
        """Write the pending cancellations whose time has come."""
        report = SyncReport()
        now = self._clock()
        for write in await self.mirror.due_writes(now, limit, WRITE_LEASE_SECONDS):
            held = await self.mirror.booking(write.appointment_id)
            try:
                if held is not None and write.action == "cancel":
                    doctor = await doctor_of(held.doctor_id)
                    if doctor is None:
                        raise AgendaUnavailableError("no agenda_ref")
                    await self.agenda.cancel(doctor, held.ref)
                await self.mirror.finish_write(write.id, self._clock())
                report.writes_done += 1
            except (AgendaUnavailableError, AgendaConflictError) as exc:
                await self.mirror.retry_write(write.id, type(exc).__name__,
                                              self._clock() + write_backoff(write.attempts + 1))
                report.writes_failed += 1
        return report


class AgendaSyncWorker:
    """Runs sync + retry every `interval` seconds until stopped."""

    def __init__(self, sync: AgendaSync, doctors: Callable[[], Awaitable[list[AgendaDoctor]]],
                 doctor_of: Callable[[int], Awaitable[AgendaDoctor | None]], interval: float) -> None:
        self.sync = sync
        self._doctors = doctors
        self._doctor_of = doctor_of
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> SyncReport:
        """One pass (tests and the CLI call this directly)."""
        report = await self.sync.sync_all(await self._doctors())
        retried = await self.sync.retry_writes(self._doctor_of)
        report.writes_done, report.writes_failed = retried.writes_done, retried.writes_failed
        return report

    async def _pass(self) -> None:
        report = await self.run_once()
        if report.updated or report.adopted or report.cancelled or report.writes_done:
            log.info("agenda sync: updated=%d adopted=%d cancelled=%d writes=%d", report.updated,
                     report.adopted, report.cancelled, report.writes_done)

    async def _loop(self) -> None:
        # The worker must outlive one bad pass.
        await run_every(self.interval, self._pass, lambda _exc: log.exception("agenda sync pass failed"))

    def start(self) -> None:
        """Start the loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="agenda-sync")

    async def stop(self) -> None:
        """Stop the loop."""
        await cancel_and_wait([self._task])
        self._task = None
