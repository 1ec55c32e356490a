"""Clinic use cases (agenda, patients, exams, billing) behind the `ClinicDirectory` port.

`ClinicDirectory` is the seam where a real agenda/EHR plugs in; the built-in implementation is
`handoff.adapters.sql.clinic_store.SqlClinicDirectory`. The rules (what slots exist, which
moves an appointment may make, how a CPF links records) live in `handoff.domain.clinic` and
are applied here, so every directory gets them for free.

`ClinicService` is the one face of the clinic use cases; its parts, by what they do:
- `clinic_booking.ClinicAgenda`: free slots, book, confirm, cancel, reschedule, a patient's list
  (the built-in agenda or the clinic's own CalDAV/FHIR agenda; the waitlist's holds);
- this module: patients (view, identification by CPF, consent) and documents (exams, boletos);
- `clinic_directory`: the port (`ClinicDirectory`, `SlotHolds`, `SlotFreed`);
- `clinic_errors`: the refusals (`ClinicError` and its kinds).
The names of those modules are importable from here, where callers have always found them.
"""

from __future__ import annotations

import re
from datetime import date

from handoff.domain.clinic.cpf import normalize_cpf
from handoff.domain.clinic.entities import Boleto, Consent, Exam, ExamResult, PatientRecord
from handoff.domain.clinic.identity import IdentityError
from handoff.services.clinic_booking import DEFAULT_WINDOW, MAX_SLOTS, ClinicAgenda, OfferedSlot
from handoff.services.clinic_directory import ClinicDirectory, SlotFreed, SlotHolds
from handoff.services.clinic_errors import (
    ClinicConflict,
    ClinicError,
    ClinicInvalid,
    ClinicNotFound,
    ClinicUnavailable,
    agenda_unavailable,
    not_found,
)

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_SLOTS",
    "ClinicConflict",
    "ClinicDirectory",
    "ClinicError",
    "ClinicInvalid",
    "ClinicNotFound",
    "ClinicService",
    "ClinicUnavailable",
    "OfferedSlot",
    "SlotFreed",
    "SlotHolds",
    "agenda_unavailable",
    "not_found",
]

_CONSENT_VERSION = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ClinicService(ClinicAgenda):
    """The clinic use cases, independent of where the data lives: the agenda (`ClinicAgenda`),
    patients, exams and billing."""

    # -- patients ----------------------------------------------------------------------------

    async def patient(self, patient_id: int) -> PatientRecord:
        """The patient view (404 when unknown)."""
        record = await self.directory.patient(patient_id)
        if record is None:
            raise not_found("patient")
        return record

    async def identify(
        self, patient_id: int, cpf: str | None, birth_date: date | None, name: str | None
    ) -> PatientRecord:
        """Validate and attach CPF / birth date / name; links to an existing record by CPF."""
        digits = None
        if cpf is not None:
            digits = normalize_cpf(cpf)
            if digits is None:
                raise ClinicInvalid("invalid_cpf", "CPF inválido")
        if birth_date is not None and not (date(1900, 1, 1) <= birth_date <= self.now().date()):
            raise ClinicInvalid("invalid_birth_date", "data de nascimento inválida")
        clean_name = " ".join(name.split())[:200] if name else None
        if digits is None and birth_date is None and not clean_name:
            raise ClinicInvalid("invalid_body", "send cpf, birth_date or name")
        await self._patient_id(patient_id)
        try:
            return await self.directory.identify(patient_id, digits, birth_date, clean_name)
        except IdentityError as exc:
            raise ClinicConflict(exc.code, exc.message) from None

    async def record_consent(self, patient_id: int, granted: bool, version: str) -> Consent:
        """Store a consent decision with its notice version and the time (append-only)."""
        if not _CONSENT_VERSION.match(version):
            raise ClinicInvalid("invalid_version", "version must look like privacidade-v1")
        await self._patient_id(patient_id)
        return await self.directory.record_consent(patient_id, granted, version, self.now())

    # -- exams and billing -------------------------------------------------------------------

    async def exam(self, slug: str) -> Exam:
        """One exam of the catalog."""
        exam = await self.directory.exam(slug)
        if exam is None:
            raise not_found("exam")
        return exam

    async def exam_results(self, patient_id: int) -> list[ExamResult]:
        """The patient's exam results and their status."""
        return await self.directory.exam_results(await self._patient_id(patient_id))

    async def boletos(self, patient_id: int) -> list[Boleto]:
        """The patient's boletos."""
        return await self.directory.boletos(await self._patient_id(patient_id))
