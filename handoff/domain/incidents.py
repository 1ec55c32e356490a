"""The incident register's rules (LGPD Art. 48; ANPD Resolução CD/ANPD nº 15/2024).

A security incident that may bring relevant risk or damage to data subjects must be notified
to the ANPD (and to the subjects) within 3 working days ("dias úteis") of the controller
learning of it (Res. 15/2024, Art. 6). Counting follows the Brazilian rule for deadlines in
days: the day of detection is excluded, the last day is included, and the deadline ends at the
end of that day in the clinic's zone.

Working days are Monday to Friday except the national holidays fixed by law. Carnaval and
Corpus Christi are "pontos facultativos", not holidays: they are counted as working days here,
which can only make the deadline earlier (never late). This is why the clinic calendar's
holiday list (which closes the clinic on them) is not used as is.

Lifecycle: open -> notified (ANPD notified) -> closed; open -> closed is allowed for an incident
assessed as without relevant risk (the assessment goes in `measures`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from handoff.domain.clinic.calendar import CLINIC_TZ, easter_sunday, national_holidays

ANPD_WORKING_DAYS = 3
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")


class IncidentStatus(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    NOTIFIED = "notified"
    CLOSED = "closed"


_MOVES: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.NOTIFIED, IncidentStatus.CLOSED}),
    IncidentStatus.NOTIFIED: frozenset({IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
}


def can_move(current: str, new: str) -> bool:
    """True when `current` -> `new` is allowed (staying put is always allowed)."""
    try:
        cur, nxt = IncidentStatus(current), IncidentStatus(new)
    except ValueError:
        return False
    return cur == nxt or nxt in _MOVES[cur]


@lru_cache(maxsize=64)
def legal_holidays(year: int) -> frozenset[date]:
    """National holidays fixed by law (the clinic calendar minus Carnaval and Corpus Christi)."""
    easter = easter_sunday(year)
    optional = {easter - timedelta(days=48), easter - timedelta(days=47), easter + timedelta(days=60)}
    return frozenset(d for d in national_holidays(year) if d not in optional)


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a national holiday."""
    return day.weekday() < 5 and day not in legal_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself excluded)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def anpd_deadline(detected_at: datetime, tz: ZoneInfo = CLINIC_TZ) -> datetime:
    """The last instant to notify the ANPD: end of the 3rd working day after detection (aware)."""
    if detected_at.tzinfo is None:
        raise ValueError("detected_at must be timezone-aware")
    local_day = detected_at.astimezone(tz).date()
    last_day = add_working_days(local_day, ANPD_WORKING_DAYS)
    # End of the last day: one microsecond before the next local midnight.
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz) - timedelta(microseconds=1)


def is_overdue(status: str, anpd_due_at: datetime, anpd_notified_at: datetime | None, now: datetime) -> bool:
    """The ANPD was not notified and the deadline has passed (a closed incident is not flagged)."""
    if status == IncidentStatus.CLOSED or anpd_notified_at is not None:
        return False
    return now > anpd_due_at
