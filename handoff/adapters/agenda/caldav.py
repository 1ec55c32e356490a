"""CalDAV agenda: one calendar per doctor on the clinic's CalDAV server (Radicale, Nextcloud, SOGo…).

Availability is the hub's working-time rules (`SlotRules`) minus the calendar's busy events
(VEVENTs not CANCELLED and not TRANSPARENT). Recurring events are expanded here, not by the server
(`recurring_ical_events`, only for objects with RRULE/RDATE): a server-side `<C:expand>` made
Radicale about 12 times slower per calendar. A lookup reads the calendars concurrently and first
only the next 7 days (`FIRST_WINDOW`); the rest of the window is read only when those days hold
fewer free slots than asked (the bot asks for a handful). A booking is
a VEVENT with the hub's patient reference in `X-ATENDE-PATIENT` and nothing else about the
patient but the name in SUMMARY (no phone, no CPF: LGPD minimum).

Double booking is prevented in two layers:
1. The event's name (href) is deterministic per doctor + slot start and it is written with
   `If-None-Match: *`, so of any number of hub replicas writing the same slot the server lets
   exactly one create it; the others get 412 and see the slot taken.
2. After writing, the adapter re-reads the busy events overlapping the slot. If anything else
   overlaps (the reception wrote an event meanwhile, or an off-grid event) it removes its own
   event and reports the slot taken. See `_claim` for the tie rule.

Moves write the new slot's event (same guards as a booking) and then delete the old one with
`If-Match` on its ETag; cancellations delete the event (If-Match), freeing its name for the
next patient. `changes` is an RFC 6578 sync-collection REPORT with the server's sync token.

Transport is the `caldav` library's async client (one per adapter). Every network error,
timeout, 5xx, refused credential or unexpected answer becomes `AgendaUnavailableError`; logs
carry the operation and HTTP status only, never event contents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

import icalendar
import recurring_ical_events
from caldav.aio import AsyncDAVClient, DAVResponse
from caldav.lib import error as dav_error

from handoff.domain.clinic import slots as slot_rules
from handoff.domain.clinic.agenda import (
    AgendaChanges,
    AgendaDoctor,
    AgendaPatient,
    BookingRef,
    ExternalBooking,
    SlotRules,
)
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.calendar import at, to_clinic
from handoff.domain.clinic.slots import Slot
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError

log = logging.getLogger(__name__)

PATIENT_PROPERTY = "X-ATENDE-PATIENT"
_PRODID = "-//atende//agenda//PT-BR"
_ICS = "text/calendar; charset=utf-8"
_XML = "application/xml; charset=utf-8"
# How many names one slot's event may take: the first is taken when the reception moved an
# earlier booking of that slot elsewhere (the event keeps its name), the next one is used.
_NAME_TRIES = 8
# A free-slot lookup reads this much of the calendars first, and the rest only when needed.
FIRST_WINDOW = timedelta(days=7)
# Requests in flight at once to the server, as browsers do per host. More buys nothing and can
# stall: Radicale, for one, serves 8 connections by default and a 9th waits for a kept-alive
# one to be let go (a second per request in the bench).
MAX_PARALLEL = 6

_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

_SYNC = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
</D:sync-collection>"""

_MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}
</C:calendar-multiget>"""




class _Refused(AgendaUnavailableError):
    """The server refused the request (401/403): bad credentials, or an expired sync token."""


@dataclass(frozen=True)
class _Event:
    """One VEVENT (or one expanded instance) as stored in a doctor's calendar."""

    href: str
    etag: str | None
    start: datetime
    end: datetime
    cancelled: bool
    transparent: bool
    patient_id: int | None

    @property
    def busy(self) -> bool:
        """Whether it makes the doctor unavailable (RFC 5545 STATUS / TRANSP)."""
        return not self.cancelled and not self.transparent

    def blocks(self, start: datetime, end: datetime) -> bool:
        """Busy and overlapping [start, end)."""
        return self.busy and self.start < end and start < self.end

    def booking(self, doctor_id: int) -> ExternalBooking:
        """The port's view of this event."""
        return ExternalBooking(
            ref=BookingRef(self.href, self.etag),
            doctor_id=doctor_id,
            start=self.start,
            end=self.end,
            cancelled=self.cancelled,
            patient_id=self.patient_id,
        )


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _path(url: str) -> str:
    """The server path of a URL, decoded like the hrefs the caldav library reports."""
    return unquote(urlsplit(url).path)


def _moment(value: object) -> datetime | None:
    """An iCalendar DATE-TIME / DATE as an aware clinic datetime (floating times are clinic time)."""
    if isinstance(value, datetime):
        return to_clinic(value)
    if isinstance(value, date):
        return at(value, time(0))
    return None


def _patient_id(value: object) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def _calendar(text: str) -> icalendar.Calendar | None:
    """One calendar object's text parsed (None: unreadable, skipped)."""
    try:
        return icalendar.Calendar.from_ical(text)
    except ValueError:
        log.warning("caldav agenda: skipped an unreadable calendar object")
        return None


def _parse(href: str, etag: str | None, text: str) -> list[_Event]:
    """Every VEVENT of one calendar object; masters (no RECURRENCE-ID) first. Unreadable -> []."""
    calendar = _calendar(text)
    return _events(href, etag, calendar.walk("VEVENT")) if calendar is not None else []


def _occurrences(href: str, etag: str | None, text: str, start: datetime, end: datetime) -> list[_Event]:
    """The events of one calendar object that happen in [start, end), recurrences expanded.

    Only objects with RRULE/RDATE go through `recurring_ical_events` (it applies EXDATE and the
    RECURRENCE-ID overrides); plain events are taken as they are, the server filtered them.
    """
    calendar = _calendar(text)
    if calendar is None:
        return []
    components = calendar.walk("VEVENT")
    if any(c.get("RRULE") is not None or c.get("RDATE") is not None for c in components):
        try:
            components = recurring_ical_events.of(calendar).between(start, end)
        except (ValueError, TypeError):  # InvalidCalendar is a ValueError
            log.warning("caldav agenda: skipped an unreadable recurring event")
            return []
    return _events(href, etag, components)


def _events(href: str, etag: str | None, components: Sequence[icalendar.cal.Component]) -> list[_Event]:
    """These VEVENTs as `_Event`s; masters (no RECURRENCE-ID) first."""
    events: list[tuple[bool, _Event]] = []
    for component in components:
        dtstart = component.get("DTSTART")
        start = _moment(dtstart.dt) if dtstart is not None else None
        if start is None:
            continue
        dtend, duration = component.get("DTEND"), component.get("DURATION")
        end = _moment(dtend.dt) if dtend is not None else None
        if end is None and duration is not None and isinstance(duration.dt, timedelta):
            end = start + duration.dt
        if end is None:  # RFC 5545 3.6.1: a DATE lasts one day, a DATE-TIME is an instant
            all_day = not isinstance(dtstart.dt, datetime)
            end = start + timedelta(days=1) if all_day else start
        status = str(component.get("STATUS", "")).upper()
        transp = str(component.get("TRANSP", "")).upper()
        event = _Event(
            href=href,
            etag=etag,
            start=start,
            end=end,
            cancelled=status == "CANCELLED",
            transparent=transp == "TRANSPARENT",
            patient_id=_patient_id(component.get(PATIENT_PROPERTY)),
        )
        events.append((component.get("RECURRENCE-ID") is not None, event))
    events.sort(key=lambda pair: pair[0])
    return [event for _, event in events]


def _event_name(doctor_id: int, start: datetime, attempt: int) -> str:
    """Deterministic event name (UID and href stem) of a doctor's slot, clinic wall time."""
    base = f"atende-{doctor_id}-{to_clinic(start):%Y%m%d%H%M}"
    return base if attempt == 0 else f"{base}-{attempt}"


def _event_ics(name: str, slot: Slot, patient: AgendaPatient) -> str:
    """The booking as iCalendar text: times in UTC, the patient's name and hub reference only."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"{name}@atende")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", slot.start.astimezone(UTC))
    event.add("dtend", slot.end.astimezone(UTC))
    event.add("summary", f"Consulta — {(patient.name or '').strip() or 'Paciente'}")
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add(PATIENT_PROPERTY, str(patient.id))
    calendar.add_component(event)
    return str(calendar.to_ical(), "utf-8")


class CalDavAgenda:
    """`ExternalAgenda` over CalDAV: `AgendaDoctor.agenda_ref` is the doctor's calendar URL.

    The ref may be absolute or relative to `url` (a leading "/" is a path on the same host).
    `BookingRef.ref` is the event's path on the server, `BookingRef.version` its ETag.
    """

    system = "caldav"

    def __init__(self, url: str, username: str | None, password: str | None, timeout: float = 10.0) -> None:
        self._base = url.rstrip("/") + "/"
        self._timeout = timeout
        options: dict[str, Any] = {
            "url": self._base,
            "username": username,
            "password": password,
            "auth_type": "basic" if username else None,
            "timeout": timeout,
            "rate_limit_handle": False,  # a 429/503 is an outage to report, not to sleep through
            "enable_rfc6764": False,
        }
        self._client = AsyncDAVClient(**options)
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        # The caldav library logs request and response bodies (events with patient names) at
        # DEBUG: keep it quieter than that whatever the root level is.
        library_log = logging.getLogger("caldav")
        if library_log.getEffectiveLevel() < logging.INFO:
            library_log.setLevel(logging.INFO)

    # --- transport ----------------------------------------------------------------------

    def _calendar_url(self, doctor: AgendaDoctor) -> str:
        url = urljoin(self._base, doctor.agenda_ref)
        return url if url.endswith("/") else url + "/"

    def _object_url(self, href: str) -> str:
        return urljoin(self._base, href)

    async def _send(self, method: str, url: str, body: str = "", headers: Mapping[str, str] | None = None,
                    ) -> DAVResponse:
        """One request; anything but an HTTP answer below 500 is `AgendaUnavailableError`."""
        try:
            async with self._parallel(), asyncio.timeout(self._timeout + 1):
                response = await self._client.request(url, method, body, dict(headers or {}))
        except dav_error.AuthorizationError as exc:
            log.warning("caldav agenda: %s refused (401/403)", method)
            raise _Refused(f"caldav {method} refused") from exc
        except (OSError, dav_error.DAVError, SyntaxError) as exc:  # network, timeout, 429, bad XML
            log.warning("caldav agenda: %s failed (%s)", method, type(exc).__name__)
            raise AgendaUnavailableError(f"caldav {method} failed: {type(exc).__name__}") from exc
        if response.status >= 500:
            log.warning("caldav agenda: %s answered %s", method, response.status)
            raise AgendaUnavailableError(f"caldav {method} answered {response.status}")
        return response

    def _parallel(self) -> asyncio.Semaphore:
        """The gate of `MAX_PARALLEL` requests (one per event loop: a semaphore is bound to one)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(MAX_PARALLEL))
        return self._gate[1]

    @staticmethod
    def _unexpected(method: str, response: DAVResponse) -> AgendaUnavailableError:
        log.warning("caldav agenda: %s answered %s", method, response.status)
        return AgendaUnavailableError(f"caldav {method} answered {response.status}")

    async def _report(self, url: str, body: str) -> DAVResponse:
        response = await self._send("REPORT", url, body, {"Depth": "1", "Content-Type": _XML})
        if response.status != 207:
            raise self._unexpected("REPORT", response)
        return response

    async def _get(self, url: str) -> _Event | None:
        """The event stored at `url` (its master when recurring); None when there is none."""
        response = await self._send("GET", url)
        if response.status in (404, 410):
            return None
        if response.status != 200:
            raise self._unexpected("GET", response)
        events = _parse(_path(url), response.headers.get("ETag"), response.raw)
        return events[0] if events else None

    async def _events_between(self, calendar_url: str, start: datetime, end: datetime) -> list[_Event]:
        """Events (recurrences expanded here) overlapping [start, end)."""
        body = _QUERY.format(start=_utc_text(start), end=_utc_text(end))
        response = await self._report(calendar_url, body)
        found: list[_Event] = []
        for item in response.parse_calendar_query():
            if item.status == 200 and item.calendar_data:
                found.extend(_occurrences(item.href, item.etag, item.calendar_data, start, end))
        return found

    async def _delete(self, url: str, etag: str | None) -> int:
        headers = {"If-Match": etag} if etag else {}
        response = await self._send("DELETE", url, headers=headers)
        if response.status not in (200, 204, 404, 410, 412):
            raise self._unexpected("DELETE", response)
        return response.status

    # --- availability -------------------------------------------------------------------

    async def free_slots(
        self, doctors: Sequence[AgendaDoctor], start: datetime, end: datetime, rules: SlotRules, limit: int
    ) -> list[Slot]:
        """Working-time slots of these doctors in [start, end) that no busy event overlaps.

        Reads the first `FIRST_WINDOW` of every calendar (concurrently), and the rest of the
        window only when that part holds fewer than `limit` free slots.
        """
        ids = {d.id for d in doctors}
        schedules = [row for row in rules.schedules if row.doctor_id in ids]
        earliest = max(to_clinic(start), to_clinic(rules.now) + slot_rules.MIN_LEAD)
        latest = min(to_clinic(end), earliest + slot_rules.MAX_WINDOW)
        if not schedules or earliest >= latest or limit <= 0:
            return []
        asked = [d for d in doctors if any(row.doctor_id == d.id for row in schedules)]
        cut = min(latest, earliest + FIRST_WINDOW)
        found = await self._free_between(asked, schedules, rules, earliest, cut, limit)
        if len(found) < limit and cut < latest:
            found += await self._free_between(asked, schedules, rules, cut, latest, limit - len(found))
        return found

    async def _free_between(self, doctors: Sequence[AgendaDoctor], schedules: Sequence[slot_rules.DoctorSchedule],
                            rules: SlotRules, start: datetime, end: datetime, limit: int) -> list[Slot]:
        """Free slots starting in [start, end) (bounds already clipped to now + lead and the
        longest window), reading every doctor's calendar at once."""
        # A slot starting just before `end` ends after it: read that far too.
        tail = timedelta(minutes=max(row.slot_minutes for row in schedules))
        found = await asyncio.gather(
            *(self._events_between(self._calendar_url(d), start, end + tail) for d in doctors)
        )
        busy = {
            d.id: [(e.start, e.end) for e in events if e.busy] for d, events in zip(doctors, found, strict=True)
        }
        return slot_rules.free_slots(schedules, rules.hours, busy, start, end, rules.now, limit=limit)

    async def offered(self, doctor: AgendaDoctor, start: datetime, rules: SlotRules) -> Slot | None:
        """The slot at `start` when the rules offer it and no busy event overlaps it."""
        slot = slot_rules.offered_slot(rules.schedules, rules.hours, doctor.id, start, rules.now)
        if slot is None:
            return None
        events = await self._events_between(self._calendar_url(doctor), slot.start, slot.end)
        return None if any(e.blocks(slot.start, slot.end) for e in events) else slot

    # --- writes -------------------------------------------------------------------------

    async def book(self, doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient) -> BookingRef:
        """Write the booking's event; `SlotTakenError` when anything else holds the slot."""
        return await self._claim(doctor, slot, patient, moving=None)

    async def _claim(self, doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient, moving: str | None,
                     ) -> BookingRef:
        """Create the slot's event. `moving`: href of the booking being moved (not a rival)."""
        calendar_url = self._calendar_url(doctor)
        for attempt in range(_NAME_TRIES):
            name = _event_name(doctor.id, slot.start, attempt)
            url = urljoin(calendar_url, f"{name}.ics")
            response = await self._send(
                "PUT", url, _event_ics(name, slot, patient), {"If-None-Match": "*", "Content-Type": _ICS}
            )
            if response.status in (200, 201, 204):
                etag = response.headers.get("ETag")
                if not etag:
                    written = await self._get(url)
                    etag = written.etag if written else None
                break
            if response.status != 412:
                raise self._unexpected("PUT", response)
            holder = await self._get(url)
            if holder is not None and holder.href != moving and holder.blocks(slot.start, slot.end):
                raise SlotTakenError(slot.id)  # another replica (or an earlier booking) holds it
            # The name is held by an event the reception moved away or cancelled: take the next.
        else:
            raise AgendaUnavailableError("caldav: no free event name for this slot")
        href = _path(url)
        # Tie rule: whoever sees a rival after writing yields (deletes its own event). A writer
        # that re-reads before the other writes keeps the slot, and the later one then sees it,
        # so two events never both stay; when both see each other both yield and the patient is
        # offered the next slots, which is safe. The reception never re-checks, so its events
        # always win this way.
        events = await self._events_between(calendar_url, slot.start, slot.end)
        if any(e.href not in (href, moving) and e.blocks(slot.start, slot.end) for e in events):
            await self._delete(url, etag)
            raise SlotTakenError(slot.id)
        return BookingRef(href, etag)

    async def read(self, doctor: AgendaDoctor, ref: BookingRef) -> ExternalBooking | None:
        """The booking as the calendar holds it now (None: deleted)."""
        event = await self._get(self._object_url(ref.ref))
        return event.booking(doctor.id) if event is not None else None

    async def move(
        self, doctor: AgendaDoctor, ref: BookingRef, to_doctor: AgendaDoctor, slot: Slot, patient: AgendaPatient
    ) -> BookingRef:
        """Write the new slot's event, then delete the old one with If-Match on `ref.version`.

        The new slot gets its own deterministic event (rather than editing the old event's
        times) so it is guarded against double booking exactly like a new booking.
        """
        old_url = self._object_url(ref.ref)
        current = await self._get(old_url)
        if current is None or (ref.version is not None and current.etag != ref.version):
            raise AgendaConflictError(ref.ref)
        if (to_doctor.id == doctor.id and current.start == slot.start and current.end == slot.end
                and not current.cancelled):
            return BookingRef(current.href, current.etag)
        same_calendar = self._calendar_url(to_doctor) == self._calendar_url(doctor)
        new = await self._claim(to_doctor, slot, patient, moving=current.href if same_calendar else None)
        status = await self._delete(old_url, current.etag)
        if status in (404, 410, 412):
            # The reception changed or deleted the old booking while we wrote the new one: undo
            # ours and let the caller re-read what the reception did.
            await self._delete(self._object_url(new.ref), new.version)
            raise AgendaConflictError(ref.ref)
        return new

    async def cancel(self, doctor: AgendaDoctor, ref: BookingRef) -> None:
        """Delete the event (If-Match); already gone or cancelled is fine."""
        url = self._object_url(ref.ref)
        if await self._delete(url, ref.version) != 412:
            return
        current = await self._get(url)
        if current is None:
            return
        if current.cancelled:  # the reception cancelled it: remove it to free the slot's name
            await self._delete(url, current.etag)
            return
        raise AgendaConflictError(ref.ref)

    # --- sync ---------------------------------------------------------------------------

    async def changes(self, doctor: AgendaDoctor, token: str | None) -> AgendaChanges:
        """RFC 6578 sync-collection since `token` (None: every event of the calendar)."""
        calendar_url = self._calendar_url(doctor)
        try:
            response = await self._report(calendar_url, _SYNC.format(token=token or ""))
        except _Refused:
            if token is None:
                raise
            # The server no longer honours this token (expired or reset, RFC 6578 3.2):
            # start over with everything.
            response = await self._report(calendar_url, _SYNC.format(token=""))
        result = response.parse_sync_collection()
        changed: list[ExternalBooking] = []
        without_data: list[str] = []
        for item in result.changed:
            if not item.calendar_data:
                without_data.append(item.href)
                continue
            events = _parse(item.href, item.etag, item.calendar_data)
            if events:
                changed.append(events[0].booking(doctor.id))
        if without_data:  # servers may answer sync-collection without calendar-data
            hrefs = "".join(f"<D:href>{escape(href)}</D:href>" for href in without_data)
            fetched = await self._report(calendar_url, _MULTIGET.format(hrefs=hrefs))
            for item in fetched.parse_calendar_query():
                events = _parse(item.href, item.etag, item.calendar_data or "") if item.status == 200 else []
                if events:
                    changed.append(events[0].booking(doctor.id))
        return AgendaChanges(changed=changed, deleted=list(result.deleted), token=result.sync_token or token)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._client.close()
