"""The clinic's agenda on a FHIR R4 server: Schedule / Slot / Appointment (+ Patient match).

Mapping (https://hl7.org/fhir/R4/appointment.html, the "Slot-based booking" pattern):
- a hub doctor's `agenda_ref` is the id of their FHIR `Schedule`; its `actor` names the
  `Practitioner` written into each Appointment;
- availability is the server's: the `Slot`s of that Schedule with status `free` (the clinic's
  system cuts them; the hub's own schedule rows are not used, only the clock and `MIN_LEAD`).
  One search asks for every doctor's Schedule at once (`schedule=Schedule/a,Schedule/b`, the
  standard OR of a search parameter), sorted by start and cut at the slots asked for, over the
  next 7 days first (`FIRST_WINDOW`) and over the rest of the window only when those days hold
  too few; its Slots are checked field by field (the fields read), not with the full model;
- a booking is one `transaction` Bundle: the Slot PUT to `busy` with If-Match on the version we
  read, plus the Appointment POST (status `booked`, `slot`, participants patient + practitioner,
  start/end). Two hub replicas (or the reception) racing for one Slot cannot both win: the
  second transaction's If-Match fails (412/409) and nothing of it is written -> SlotTakenError;
- cancel: Appointment `cancelled` (If-Match) + its Slots back to `free`, one transaction;
- move: new Slot `busy` (If-Match) + old Slots `free` + Appointment updated (If-Match on the
  booking's version -> AgendaConflictError when the reception changed it), one transaction;
- changes: Appointment search `actor=<Practitioner>&_lastUpdated=gt<mark>`; the token is the
  greatest `meta.lastUpdated` seen. A reception that deletes instead of cancelling is seen by
  `read` (404/410 -> None); a type-level `_history` is not asked for (many servers lack it).

Patients are matched by CPF, identifier system `https://saude.gov.br/fhir/sid/cpf` — the CPF
NamingSystem of the RNDS (Rede Nacional de Dados em Saúde, Ministério da Saúde), also used by
the BR Core profiles. A Patient we create carries the CPF, name, birth date and our own
reference (`urn:atende:patient` = the hub patient id), which `read`/`changes` use to map an
Appointment back to the hub's patient. No `meta.profile` is claimed: the RNDS / BR Core
profiles for Appointment/Slot/Schedule are not ones we can name exactly, so resources are plain R4.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from handoff.adapters.fhir_client import FhirClient, FhirConflictError, Resource, version_of
from handoff.domain.clinic.agenda import (
    AgendaChanges,
    AgendaDoctor,
    AgendaPatient,
    BookingRef,
    ExternalBooking,
    SlotRules,
)
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.calendar import CLINIC_TZ, to_clinic
from handoff.domain.clinic.slots import MAX_WINDOW, MIN_LEAD, Slot
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError

log = logging.getLogger(__name__)

# CPF identifier system of the RNDS (https://rnds-fhir.saude.gov.br/NamingSystem/cpf).
CPF_SYSTEM = "https://saude.gov.br/fhir/sid/cpf"
# Our own reference to the hub's patient record, so a booking maps back to it.
HUB_PATIENT_SYSTEM = "urn:atende:patient"
# Appointment statuses that no longer hold a slot.
_GONE = ("cancelled", "noshow", "entered-in-error")
# A free-slot lookup searches this much of the window first, and the rest only when needed.
FIRST_WINDOW = timedelta(days=7)
# Schedules named in one Slot search (the query string stays far below common URL limits).
_SCHEDULES_PER_SEARCH = 40
# FHIR R4 `instant` (https://hl7.org/fhir/R4/datatypes.html#instant): what a Slot's start/end
# must look like when the search's Slots are not checked with the full model.
_INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def _instant(value: datetime) -> str:
    """A FHIR instant for a search or a resource (aware, seconds precision)."""
    return value.isoformat(timespec="seconds")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # e.g. a leap second: a valid instant, but not a time we can offer
        return None
    return to_clinic(parsed) if parsed.tzinfo else None


def _ref_id(reference: Any, rtype: str) -> str | None:
    """The id in a `Type/id` (or absolute URL) reference of that type."""
    if not isinstance(reference, str):
        return None
    parts = reference.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if len(parts) >= 2 and parts[-2] == rtype else None


class FhirAgenda:
    """`ExternalAgenda` over a FHIR R4 server."""

    system = "fhir"

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.client = FhirClient(base_url, token, timeout)
        self._practitioners: dict[str, str] = {}  # Schedule id -> "Practitioner/<id>"
        self._patients: dict[str, int | None] = {}  # Patient id -> hub patient id (None: not ours)

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()

    # -- availability ---------------------------------------------------------------------------

    async def free_slots(
        self, doctors: Sequence[AgendaDoctor], start: datetime, end: datetime, rules: SlotRules, limit: int
    ) -> list[Slot]:
        """The Schedules' free Slots in [start, end), from now + MIN_LEAD, soonest first.

        One search for all the Schedules over the first `FIRST_WINDOW`; a second one over the
        rest of the window only when the first found fewer than `limit`.
        """
        earliest = max(to_clinic(start), to_clinic(rules.now) + MIN_LEAD)
        latest = min(to_clinic(end), earliest + MAX_WINDOW)
        if limit <= 0 or earliest >= latest or not doctors:
            return []
        cut = min(latest, earliest + FIRST_WINDOW)
        found = await self._free(doctors, earliest, cut, limit)
        if len(found) < limit and cut < latest:
            found += await self._free(doctors, cut, latest, limit - len(found))
        return found

    async def _free(self, doctors: Sequence[AgendaDoctor], earliest: datetime, latest: datetime, limit: int,
                    ) -> list[Slot]:
        """The first `limit` free Slots in [earliest, latest), ties on start by doctor id."""
        by_schedule: dict[str, list[AgendaDoctor]] = {}
        for doctor in doctors:
            by_schedule.setdefault(doctor.agenda_ref, []).append(doctor)
        refs = list(by_schedule)
        groups = [refs[i:i + _SCHEDULES_PER_SEARCH] for i in range(0, len(refs), _SCHEDULES_PER_SEARCH)]
        found = await asyncio.gather(*(self._free_search(group, by_schedule, earliest, latest, limit)
                                       for group in groups))
        slots = sorted((s for per_group in found for s in per_group), key=lambda s: (s.start, s.doctor_id))
        return slots[:limit]

    async def _free_search(self, refs: Sequence[str], by_schedule: dict[str, list[AgendaDoctor]],
                           earliest: datetime, latest: datetime, limit: int) -> list[Slot]:
        # The server sorts by start only; the slots sharing the last start are at most one per
        # Schedule, so this many more makes the cut by (start, doctor id) exact.
        count = limit + len(refs) - 1
        found = await self.client.search("Slot", [
            ("schedule", ",".join(f"Schedule/{ref}" for ref in refs)), ("status", "free"),
            ("start", f"ge{_instant(earliest)}"), ("start", f"lt{_instant(latest)}"),
            ("_sort", "start"), ("_count", str(count)),
        ], limit=count, checked=False)
        slots: list[Slot] = []
        for res in found:
            schedule = res.get("schedule")
            reference = schedule.get("reference") if isinstance(schedule, dict) else None
            start, end = res.get("start"), res.get("end")
            if not (isinstance(reference, str) and isinstance(start, str) and isinstance(end, str)
                    and _INSTANT.fullmatch(start) and _INSTANT.fullmatch(end)):
                log.warning("fhir agenda: invalid Slot from the server")
                raise AgendaUnavailableError("FHIR server answered an invalid Slot")
            # The search is the server's; status, Schedule and bounds are re-checked here (a
            # lenient server ignores what it does not support instead of refusing it).
            if res.get("status") != "free":
                continue
            for doctor in by_schedule.get(_ref_id(reference, "Schedule") or "", []):
                slot = self._slot(doctor, res)
                if slot is not None and earliest <= slot.start < latest:
                    slots.append(slot)
        return slots

    @staticmethod
    def _slot(doctor: AgendaDoctor, res: Resource) -> Slot | None:
        start, end = _parse(res.get("start")), _parse(res.get("end"))
        if start is None or end is None or end <= start:
            return None
        return Slot(doctor.id, start, end)

    async def _slot_at(self, doctor: AgendaDoctor, start: datetime) -> Resource | None:
        """The Slot of this Schedule starting exactly at `start` (any status), if any."""
        found = await self.client.search("Slot", [
            ("schedule", f"Schedule/{doctor.agenda_ref}"), ("start", f"eq{_instant(start)}"),
        ])
        at = to_clinic(start)
        exact = [r for r in found if _parse(r.get("start")) == at]
        # A free one wins over a busy duplicate (some systems keep cancelled Slots around).
        exact.sort(key=lambda r: r.get("status") != "free")
        return exact[0] if exact else None

    async def offered(self, doctor: AgendaDoctor, start: datetime, rules: SlotRules) -> Slot | None:
        """The Slot starting at `start` if it is free and not earlier than now + MIN_LEAD."""
        if to_clinic(start) < to_clinic(rules.now) + MIN_LEAD:
            return None
        res = await self._slot_at(doctor, start)
        if res is None or res.get("status") != "free":
            return None
        return self._slot(doctor, res)

    # -- writes ---------------------------------------------------------------------------------

    async def _practitioner(self, doctor: AgendaDoctor) -> str | None:
        """`Practitioner/<id>` from the Schedule's actor (cached: it does not move)."""
        cached = self._practitioners.get(doctor.agenda_ref)
        if cached is not None:
            return cached
        schedule = await self.client.read("Schedule", doctor.agenda_ref)
        if schedule is None:
            raise AgendaUnavailableError("the doctor's FHIR Schedule does not exist")
        for actor in schedule.get("actor") or []:
            pid = _ref_id(actor.get("reference"), "Practitioner")
            if pid is not None:
                self._practitioners[doctor.agenda_ref] = f"Practitioner/{pid}"
                return self._practitioners[doctor.agenda_ref]
        return None

    async def _patient(self, patient: AgendaPatient) -> str:
        """The Patient id: matched by CPF, else by our reference, else created (conditionally)."""
        hub_ident = {"system": HUB_PATIENT_SYSTEM, "value": str(patient.id)}
        if patient.cpf:
            key = ("identifier", f"{CPF_SYSTEM}|{patient.cpf}")
        else:
            key = ("identifier", f"{HUB_PATIENT_SYSTEM}|{patient.id}")
        for match in await self.client.search("Patient", [key]):
            if match.get("id"):
                await self._link_patient(match, patient)
                return str(match["id"])
        identifiers = [hub_ident]
        if patient.cpf:
            identifiers.insert(0, {"use": "official", "system": CPF_SYSTEM, "value": patient.cpf})
        body: Resource = {"resourceType": "Patient", "identifier": identifiers}
        if patient.name:
            body["name"] = [{"use": "official", "text": patient.name}]
        if patient.birth_date:
            body["birthDate"] = patient.birth_date.isoformat()
        # Conditional create: two replicas booking for the same new patient make one Patient.
        created = await self.client.create(body, if_none_exist=[key])
        self._patients[str(created["id"])] = patient.id
        return str(created["id"])

    async def _link_patient(self, match: Resource, patient: AgendaPatient) -> None:
        """Add our reference to a clinic Patient found by CPF, so bookings map back to the hub."""
        ours = [i for i in match.get("identifier") or [] if i.get("system") == HUB_PATIENT_SYSTEM]
        if ours:
            self._patients[str(match["id"])] = _hub_id(ours[0].get("value"))
            return
        updated = dict(match)
        updated["identifier"] = [*(match.get("identifier") or []),
                                 {"system": HUB_PATIENT_SYSTEM, "value": str(patient.id)}]
        try:
            await self.client.update(updated, version=version_of(match))
        except FhirConflictError:
            return  # changed meanwhile by the clinic: theirs stands, the link is made next time
        self._patients[str(match["id"])] = patient.id

    async def book(self, doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient) -> BookingRef:
        """Slot -> busy (If-Match) + Appointment create, in one transaction."""
        res = await self._slot_at(doctor, slot.start)
        if res is None or res.get("status") != "free":
            raise SlotTakenError("the slot is not free in the clinic's agenda")
        practitioner = await self._practitioner(doctor)
        patient_id = await self._patient(patient)
        participants: list[Resource] = [
            {"actor": {"reference": f"Patient/{patient_id}"}, "required": "required", "status": "accepted"},
        ]
        if practitioner is not None:
            participants.append({"actor": {"reference": practitioner}, "required": "required",
                                 "status": "accepted"})
        appointment: Resource = {
            "resourceType": "Appointment", "status": "booked",
            "slot": [{"reference": f"Slot/{res['id']}"}],
            "start": res["start"], "end": res["end"],
            "created": datetime.now(CLINIC_TZ).date().isoformat(),
            "participant": participants,
        }
        busy = {**res, "status": "busy"}
        try:
            written = await self.client.transaction([
                _put(busy, version_of(res)),
                {"fullUrl": "urn:uuid:appointment", "resource": appointment,
                 "request": {"method": "POST", "url": "Appointment"}},
            ])
        except FhirConflictError as exc:
            raise SlotTakenError("the slot was taken meanwhile") from exc
        landed = written[1] if len(written) > 1 else None
        if landed is None:
            raise AgendaUnavailableError("the FHIR server did not say where the Appointment is")
        return BookingRef(ref=landed.id, version=landed.version)

    async def read(self, doctor: AgendaDoctor, ref: BookingRef) -> ExternalBooking | None:
        """The Appointment as it is now (None: deleted)."""
        res = await self.client.read("Appointment", ref.ref)
        if res is None:
            return None
        return await self._booking(doctor, res)

    async def cancel(self, doctor: AgendaDoctor, ref: BookingRef) -> None:
        """Appointment -> cancelled + its Slots -> free (one transaction; idempotent).

        If-Match uses the version read just before, not `ref.version`: cancelling what the
        reception moved meanwhile is still what the patient asked for.
        """
        for _ in range(2):
            res = await self.client.read("Appointment", ref.ref)
            if res is None or res.get("status") in _GONE:
                return
            entries = [_put({**res, "status": "cancelled"}, version_of(res))]
            entries += await self._free_entries(res, keep=None)
            try:
                await self.client.transaction(entries)
                return
            except FhirConflictError:
                continue  # changed between our read and write: read it again once
        raise AgendaConflictError("the appointment keeps changing in the clinic's agenda")

    async def move(
        self, doctor: AgendaDoctor, ref: BookingRef, to_doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient
    ) -> BookingRef:
        """New Slot busy + old Slots free + Appointment updated, with If-Match on `ref`."""
        res = await self.client.read("Appointment", ref.ref)
        if res is None or res.get("status") in _GONE:
            raise AgendaConflictError("the appointment is no longer in the clinic's agenda")
        if ref.version is not None and version_of(res) != ref.version:
            raise AgendaConflictError("the appointment changed in the clinic's agenda")
        target = await self._slot_at(to_doctor, slot.start)
        if target is None or target.get("status") != "free":
            raise SlotTakenError("the new slot is not free in the clinic's agenda")
        old_practitioner = await self._practitioner(doctor)
        new_practitioner = await self._practitioner(to_doctor)
        participants = [p for p in res.get("participant") or []
                        if (p.get("actor") or {}).get("reference") != old_practitioner
                        or old_practitioner is None]
        if new_practitioner is not None:
            participants.append({"actor": {"reference": new_practitioner}, "required": "required",
                                 "status": "accepted"})
        moved = {**res, "slot": [{"reference": f"Slot/{target['id']}"}], "start": target["start"],
                 "end": target["end"], "participant": participants}
        entries = [_put({**target, "status": "busy"}, version_of(target)),
                   _put(moved, ref.version or version_of(res))]
        entries += await self._free_entries(res, keep=str(target["id"]))
        try:
            written = await self.client.transaction(entries)
        except FhirConflictError as exc:
            now = await self.client.read("Appointment", ref.ref)
            if now is None or version_of(now) != version_of(res):
                raise AgendaConflictError("the appointment changed in the clinic's agenda") from exc
            raise SlotTakenError("the new slot was taken meanwhile") from exc
        landed = written[1] if len(written) > 1 else None
        if landed is None or landed.version is None:
            again = await self.client.read("Appointment", ref.ref)
            return BookingRef(ref=ref.ref, version=version_of(again) if again else None)
        return BookingRef(ref=landed.id, version=landed.version)

    async def _free_entries(self, appointment: Resource, keep: str | None) -> list[Resource]:
        """PUT entries freeing the appointment's busy Slots (If-Match on what we read)."""
        entries: list[Resource] = []
        for item in appointment.get("slot") or []:
            sid = _ref_id(item.get("reference"), "Slot")
            if sid is None or sid == keep:
                continue
            current = await self.client.read("Slot", sid)
            if current is None or current.get("status") != "busy":
                continue
            entries.append(_put({**current, "status": "free"}, version_of(current)))
        return entries

    # -- the reception's changes ----------------------------------------------------------------

    async def changes(self, doctor: AgendaDoctor, token: str | None) -> AgendaChanges:
        """Appointments of the doctor's Practitioner updated after `token` (all when None)."""
        practitioner = await self._practitioner(doctor)
        if practitioner is None:
            return AgendaChanges(changed=[], deleted=[], token=token)
        params = [("actor", practitioner), ("_sort", "_lastUpdated")]
        if token:
            # gt, not ge: the mark is the last instant already seen. Servers stamp lastUpdated at
            # commit, so a write is never older than one already returned.
            params.append(("_lastUpdated", f"gt{token}"))
        found = await self.client.search("Appointment", params)
        changed: list[ExternalBooking] = []
        mark = token
        for res in found:
            stamp = (res.get("meta") or {}).get("lastUpdated")
            if isinstance(stamp, str) and (mark is None or _later(stamp, mark)):
                mark = stamp
            booking = await self._booking(doctor, res)
            if booking is not None:
                changed.append(booking)
        if mark is None:
            # Nothing at all yet: a mark of "now" on our clock would risk skipping writes
            # stamped by a server clock that lags ours; the beginning of time is safe.
            mark = "1970-01-01T00:00:00Z"
        return AgendaChanges(changed=changed, deleted=[], token=mark)

    async def _booking(self, doctor: AgendaDoctor, res: Resource) -> ExternalBooking | None:
        start, end = _parse(res.get("start")), _parse(res.get("end"))
        if start is None or end is None:
            return None  # proposed / waitlist appointments hold no time yet
        patient_id: int | None = None
        for part in res.get("participant") or []:
            pid = _ref_id((part.get("actor") or {}).get("reference"), "Patient")
            if pid is not None:
                patient_id = await self._hub_patient(pid)
                break
        # The doctor asked about: a booking is read through the agenda that holds it.
        return ExternalBooking(
            ref=BookingRef(ref=str(res["id"]), version=version_of(res)), doctor_id=doctor.id,
            start=start, end=end, cancelled=res.get("status") in _GONE, patient_id=patient_id,
        )

    async def _hub_patient(self, pid: str) -> int | None:
        if pid in self._patients:
            return self._patients[pid]
        patient = await self.client.read("Patient", pid)
        value = None
        for ident in (patient or {}).get("identifier") or []:
            if ident.get("system") == HUB_PATIENT_SYSTEM:
                value = _hub_id(ident.get("value"))
                break
        self._patients[pid] = value
        return value


def _put(resource: Resource, version: str | None) -> Resource:
    """A transaction entry updating `resource`, with If-Match when its version is known."""
    request: Resource = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    if version is not None:
        request["ifMatch"] = f'W/"{version}"'
    body = {k: v for k, v in resource.items() if k != "meta"}
    return {"resource": body, "request": request}


def _hub_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _later(a: str, b: str) -> bool:
    """Is instant `a` after instant `b`?"""
    try:
        return datetime.fromisoformat(a.replace("Z", "+00:00")) > datetime.fromisoformat(b.replace("Z", "+00:00"))
    except ValueError:
        return a > b

