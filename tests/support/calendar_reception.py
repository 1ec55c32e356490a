"""The clinic's reception editing the doctors' calendars in its own calendar app.

Plain HTTP against the CalDAV server, the way a calendar app writes: an iCalendar object with a
TZID=America/Sao_Paulo and its VTIMEZONE, PUT with If-None-Match / If-Match. Nothing of the hub
is used on this side.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import icalendar

from handoff.domain.clinic.calendar import CLINIC_TZ
from tests.support.radicale_server import RECEPTION_PASSWORD, RECEPTION_USER, RadicaleServer


class Reception:
    """The reception's calendar app on one CalDAV server."""

    def __init__(self, server: RadicaleServer) -> None:
        self.base = server.url
        self.auth = (RECEPTION_USER, RECEPTION_PASSWORD)

    async def book(self, calendar: str, start: datetime, end: datetime) -> str:
        cal = icalendar.Calendar()
        cal.add("prodid", "-//Recepcao//Agenda//PT")
        cal.add("version", "2.0")
        event = icalendar.Event()
        event.add("uid", f"recepcao-{uuid.uuid4().hex}")
        event.add("summary", "Encaixe (recepção)")
        event.add("dtstamp", datetime.now().astimezone())
        event.add("dtstart", start.astimezone(CLINIC_TZ))  # TZID=America/Sao_Paulo + VTIMEZONE, as apps write
        event.add("dtend", end.astimezone(CLINIC_TZ))
        cal.add_component(event)
        cal.add_missing_timezones()
        href = f"{calendar}recepcao-{uuid.uuid4().hex}.ics"
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as c:
            r = await c.put(self.base + href, content=cal.to_ical(), headers={"Content-Type": "text/calendar",
                                                                            "If-None-Match": "*"})
        assert r.status_code in (201, 204), r.status_code
        return href

    async def get(self, href: str) -> tuple[icalendar.Calendar, str] | None:
        url = href if href.startswith("http") else self.base + href
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as c:
            r = await c.get(url)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.status_code
        return icalendar.Calendar.from_ical(r.content), r.headers["ETag"]

    async def move(self, href: str, delta: timedelta) -> None:
        found = await self.get(href)
        assert found is not None
        cal, etag = found
        for event in cal.walk("VEVENT"):
            start, end = event.decoded("dtstart"), event.decoded("dtend")
            del event["dtstart"], event["dtend"]
            event.add("dtstart", (start + delta).astimezone(CLINIC_TZ))
            event.add("dtend", (end + delta).astimezone(CLINIC_TZ))
        cal.add_missing_timezones()
        url = href if href.startswith("http") else self.base + href
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as c:
            r = await c.put(url, content=cal.to_ical(), headers={"Content-Type": "text/calendar", "If-Match": etag})
        assert r.status_code in (201, 204), r.status_code

    async def delete(self, href: str) -> None:
        """Delete an event (ours or theirs)."""
        url = href if href.startswith("http") else self.base + href
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as c:
            r = await c.delete(url)
        assert r.status_code in (200, 204), r.status_code

    async def events_between(self, calendar: str, start: datetime, end: datetime) -> list[icalendar.Event]:
        """Every VEVENT of the calendar overlapping [start, end) (read through the whole collection)."""
        body = ('<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>'
                '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>'
                '</C:filter></C:calendar-query>')
        async with httpx.AsyncClient(auth=self.auth, timeout=10) as c:
            r = await c.request("REPORT", self.base + calendar, content=body,
                                headers={"Depth": "1", "Content-Type": "application/xml"})
        assert r.status_code == 207, r.status_code
        found = []
        for chunk in r.text.split("BEGIN:VCALENDAR")[1:]:
            raw = "BEGIN:VCALENDAR" + chunk.split("END:VCALENDAR")[0] + "END:VCALENDAR"
            raw = raw.replace("&#13;", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            for event in icalendar.Calendar.from_ical(raw).walk("VEVENT"):
                if event.decoded("dtstart") < end and event.decoded("dtend") > start:
                    found.append(event)
        return found
