"""CalDavAgenda against a real Radicale: the shared agenda contract plus CalDAV specifics.

The reception is a second CalDAV user writing straight into the doctors' calendars the way a
calendar app would (random event names, local times with TZID, recurring and all-day events).
"""

from __future__ import annotations

import asyncio
import threading
import time as clock
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import icalendar
import pytest

from handoff.adapters.agenda.caldav import CalDavAgenda
from handoff.domain.clinic.agenda import AgendaDoctor, BookingRef, SlotRules
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.errors import AgendaUnavailableError
from tests.agenda.contract import (
    CHECKS,
    NOW,
    OTHER_PATIENT,
    PATIENT,
    SPECIALTY,
    Check,
    at,
    check_id,
    day_window,
    slot_of,
    standard_rules,
)
from tests.support.net import TcpProxy, free_port
from tests.support.radicale_server import (
    HUB_PASSWORD,
    HUB_USER,
    RECEPTION_PASSWORD,
    RECEPTION_USER,
    RadicaleServer,
)


def _reception_ics(uid: str, start: date | datetime, end: date | datetime, **extra: object) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Clinica//Agenda da recepcao//PT-BR")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(CLINIC_TZ))
    event.add("dtstart", start.astimezone(CLINIC_TZ) if isinstance(start, datetime) else start)
    event.add("dtend", end.astimezone(CLINIC_TZ) if isinstance(end, datetime) else end)
    event.add("summary", "Retorno - Sr. Carlos")
    for key, value in extra.items():
        event.add(key, value)
    calendar.add_component(event)
    calendar.add_missing_timezones()  # VTIMEZONE for TZID=America/Sao_Paulo, like calendar apps
    return calendar.to_ical().decode()


class CalDavHarness:
    """The contract's harness over Radicale: fresh calendars for two doctors."""

    def __init__(self, server: RadicaleServer, url: str | None = None) -> None:
        self.server = server
        self.url = url or server.url
        self.doctors = [
            AgendaDoctor(id=1, name="Dra. Ana Souza", specialty=SPECIALTY, agenda_ref=server.make_calendar()),
            AgendaDoctor(id=2, name="Dr. Bruno Lima", specialty=SPECIALTY, agenda_ref=server.make_calendar()),
        ]
        self.agenda = self.new_agenda()
        self.reception = httpx.AsyncClient(base_url=server.url, auth=(RECEPTION_USER, RECEPTION_PASSWORD), timeout=10)

    def rules(self, now: datetime) -> SlotRules:
        return standard_rules(self.doctors, now)

    def new_agenda(self) -> CalDavAgenda:
        return CalDavAgenda(self.url, HUB_USER, HUB_PASSWORD, timeout=5)

    async def put_event(self, doctor: AgendaDoctor, ics: str) -> str:
        path = f"{doctor.agenda_ref}{uuid.uuid4()}.ics"
        r = await self.reception.put(path, content=ics, headers={"Content-Type": "text/calendar; charset=utf-8",
                                                                 "If-None-Match": "*"})
        assert r.status_code == 201, r.status_code
        return path

    async def reception_book(self, doctor: AgendaDoctor, start: datetime, end: datetime) -> str:
        return await self.put_event(doctor, _reception_ics(f"{uuid.uuid4()}@recepcao", start, end))

    async def get_event(self, ref: str) -> tuple[icalendar.Calendar, str]:
        r = await self.reception.get(ref)
        assert r.status_code == 200, r.status_code
        return icalendar.Calendar.from_ical(r.text), r.headers["ETag"]

    async def reception_move(self, ref: str, doctor: AgendaDoctor, start: datetime, end: datetime) -> None:
        calendar, etag = await self.get_event(ref)
        for event in calendar.walk("VEVENT"):
            for key, value in (("DTSTART", start), ("DTEND", end)):
                del event[key]
                event.add(key, value.astimezone(CLINIC_TZ))
        calendar.add_missing_timezones()
        r = await self.reception.put(ref, content=calendar.to_ical(),
                                     headers={"Content-Type": "text/calendar; charset=utf-8", "If-Match": etag})
        assert r.status_code in (201, 204), r.status_code

    async def reception_delete(self, ref: str, doctor: AgendaDoctor) -> None:
        r = await self.reception.delete(ref)
        assert r.status_code in (200, 204), r.status_code

    async def stop_server(self) -> None:
        await asyncio.to_thread(self.server.stop)

    async def start_server(self) -> None:
        await asyncio.to_thread(self.server.start)

    async def aclose(self) -> None:
        await self.agenda.aclose()
        await self.reception.aclose()


@pytest.fixture
async def harness(radicale: RadicaleServer) -> AsyncIterator[CalDavHarness]:
    h = CalDavHarness(radicale.start())
    try:
        yield h
    finally:
        await h.aclose()


@pytest.mark.parametrize("check", CHECKS, ids=check_id)
async def test_contract(harness: CalDavHarness, check: Check) -> None:
    await check(harness)


# --- CalDAV specifics ----------------------------------------------------------------------


async def test_event_carries_patient_reference_and_nothing_personal(harness: CalDavHarness) -> None:
    d0 = harness.doctors[0]
    ref = await harness.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    assert ref.ref == f"{d0.agenda_ref}atende-{d0.id}-202703010900.ics"
    r = await harness.reception.get(ref.ref)
    text = r.text
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["X-ATENDE-PATIENT"]) == str(PATIENT.id)
    assert str(event["SUMMARY"]) == "Consulta — Maria da Silva"
    assert event["DTSTART"].dt == at(0, 9) and event["DTEND"].dt == at(0, 9, 30)
    assert "DTSTART:20270301T120000Z" in text.replace("\r\n", "\n")  # 09:00 -03:00, in UTC
    assert PATIENT.cpf not in text and "529.982.247-25" not in text
    assert "1980" not in text  # no birth date
    assert r.headers["ETag"] == ref.version


async def test_reception_event_written_meanwhile_wins_and_ours_is_removed(harness: CalDavHarness) -> None:
    """book() writes its event (the name is free) and then finds the reception's event: it yields."""
    d0 = harness.doctors[0]
    theirs = await harness.reception_book(d0, at(1, 8, 15), at(1, 8, 45))  # off-grid, overlaps 08:00 and 08:30
    for start in (at(1, 8), at(1, 8, 30)):
        with pytest.raises(SlotTakenError):
            await harness.agenda.book(d0, slot_of(d0, start), PATIENT)
    listing = await harness.agenda.changes(d0, None)
    assert [b.ref.ref for b in listing.changed] == [theirs]  # nothing of ours was left behind


async def test_slot_name_taken_by_a_moved_event_uses_the_next_name(harness: CalDavHarness) -> None:
    d0 = harness.doctors[0]
    first = await harness.agenda.book(d0, slot_of(d0, at(0, 8)), PATIENT)
    await harness.reception_move(first.ref, d0, at(0, 10), at(0, 10, 30))
    second = await harness.agenda.book(d0, slot_of(d0, at(0, 8)), OTHER_PATIENT)
    assert second.ref.endswith(f"atende-{d0.id}-202703010800-1.ics")
    moved = await harness.agenda.read(d0, first)
    assert moved is not None and moved.start == at(0, 10) and moved.patient_id == PATIENT.id
    with pytest.raises(SlotTakenError):
        await harness.agenda.book(d0, slot_of(d0, at(0, 10)), OTHER_PATIENT)


async def test_recurring_all_day_cancelled_and_transparent_events(harness: CalDavHarness) -> None:
    d0 = harness.doctors[0]
    # Every day 08:00-09:00 from Tuesday, 3 times: the server expands it.
    await harness.put_event(d0, _reception_ics("rec@recepcao", at(1, 8), at(1, 9), rrule={"FREQ": "DAILY", "COUNT": 3}))
    # Thursday: the doctor is away all day (DATE value, opaque by default).
    await harness.put_event(d0, _reception_ics("ferias@recepcao", date(2027, 3, 4), date(2027, 3, 5)))
    # Friday: a transparent all-day note and a cancelled 08:00 appointment block nothing.
    note = _reception_ics("nota@recepcao", date(2027, 3, 5), date(2027, 3, 6), transp="TRANSPARENT")
    await harness.put_event(d0, note)
    await harness.put_event(d0, _reception_ics("cancel@recepcao", at(4, 8), at(4, 8, 30), status="CANCELLED"))
    rules = harness.rules(NOW)
    week = await harness.agenda.free_slots([d0], at(0, 0), at(5, 0), rules, 100)
    per_day = {day: sum(1 for s in week if s.start.date() == at(day, 0).date()) for day in range(5)}
    assert per_day == {0: 8, 1: 6, 2: 6, 3: 6 - 6, 4: 8}
    assert await harness.agenda.offered(d0, at(2, 8, 30), rules) is None
    assert await harness.agenda.offered(d0, at(4, 8), rules) is not None


async def test_expired_sync_token_falls_back_to_everything(harness: CalDavHarness) -> None:
    d0 = harness.doctors[0]
    ref = await harness.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    got = await harness.agenda.changes(d0, "http://radicale.org/ns/sync/" + "0" * 64)
    assert [b.ref.ref for b in got.changed] == [ref.ref] and got.token


async def test_hanging_server_times_out_as_unavailable(radicale: RadicaleServer) -> None:
    proxy = TcpProxy(radicale.start().port).start()
    h = CalDavHarness(radicale, url=f"http://127.0.0.1:{proxy.port}")
    agenda = CalDavAgenda(h.url, HUB_USER, HUB_PASSWORD, timeout=1)
    try:
        assert await agenda.free_slots(h.doctors, *day_window(0), h.rules(NOW), 5)  # through the proxy
        proxy.hang()
        began = clock.monotonic()
        with pytest.raises(AgendaUnavailableError):
            await agenda.free_slots(h.doctors, *day_window(0), h.rules(NOW), 5)
        assert clock.monotonic() - began < 5
    finally:
        proxy.up()
        await asyncio.sleep(0.2)  # let the hung connections notice and end
        await agenda.aclose()
        await h.aclose()
        proxy.close()


async def test_wrong_password_is_unavailable(harness: CalDavHarness) -> None:
    agenda = CalDavAgenda(harness.server.url, HUB_USER, "senha-errada", timeout=5)
    try:
        with pytest.raises(AgendaUnavailableError):
            await agenda.free_slots(harness.doctors, *day_window(0), harness.rules(NOW), 5)
    finally:
        await agenda.aclose()


class _Unavailable(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_DELETE = do_REPORT = do_PROPFIND = _answer  # noqa: N815 (http.server names)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_503() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), _Unavailable)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_5xx_is_unavailable(server_503: str) -> None:
    doctor = AgendaDoctor(id=1, name="Dra. Ana Souza", specialty=SPECIALTY, agenda_ref="/atende/agenda/")
    agenda = CalDavAgenda(server_503, HUB_USER, HUB_PASSWORD, timeout=5)
    try:
        with pytest.raises(AgendaUnavailableError):
            await agenda.free_slots([doctor], *day_window(0), standard_rules([doctor], NOW), 5)
        with pytest.raises(AgendaUnavailableError):
            await agenda.book(doctor, slot_of(doctor, at(0, 9)), PATIENT)
        with pytest.raises(AgendaUnavailableError):
            await agenda.cancel(doctor, BookingRef("/atende/agenda/x.ics", '"1"'))
        with pytest.raises(AgendaUnavailableError):
            await agenda.changes(doctor, None)
    finally:
        await agenda.aclose()


def test_reference_timezone_is_fixed() -> None:
    assert NOW.utcoffset() == timedelta(hours=-3)
