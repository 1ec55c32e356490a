"""Clinic calendar: the clinic's time zone, Brazilian national holidays and business hours.

Everything here is pure: callers pass `now`. Datetimes going in may be in any zone (they are
converted to the clinic zone); datetimes coming out are aware and in the clinic zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CLINIC_TZ = ZoneInfo("America/Sao_Paulo")

# weekday (0 = Monday) -> opening intervals [(start, end), ...], end exclusive.
WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]

WEEKDAY_NAMES = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
_WEEKDAY_SHORT = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def national_holidays(year: int) -> dict[date, str]:
    """Days the clinic closes: national holidays plus Carnaval and Corpus Christi.

    Carnaval and Corpus Christi are legally "pontos facultativos", but clinics (like most of
    commerce) close on them, so patients must not be offered slots on those days.
    """
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Confraternização Universal",
        easter - timedelta(days=48): "Carnaval (segunda-feira)",
        easter - timedelta(days=47): "Carnaval (terça-feira)",
        easter - timedelta(days=2): "Sexta-feira Santa",
        date(year, 4, 21): "Tiradentes",
        date(year, 5, 1): "Dia do Trabalho",
        easter + timedelta(days=60): "Corpus Christi",
        date(year, 9, 7): "Independência do Brasil",
        date(year, 10, 12): "Nossa Senhora Aparecida",
        date(year, 11, 2): "Finados",
        date(year, 11, 15): "Proclamação da República",
        date(year, 12, 25): "Natal",
    }
    if year >= 2024:  # Lei 14.759/2023 made 20 November a national holiday
        days[date(year, 11, 20)] = "Dia Nacional de Zumbi e da Consciência Negra"
    return days


def holiday_name(day: date) -> str | None:
    """The holiday's pt-BR name when the clinic is closed for a holiday on `day`, else None."""
    return national_holidays(day.year).get(day)


def to_clinic(moment: datetime) -> datetime:
    """An aware datetime in the clinic zone; naive input is taken as clinic wall time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CLINIC_TZ)
    return moment.astimezone(CLINIC_TZ)


def at(day: date, clock: time) -> datetime:
    """Clinic wall time on `day` as an aware datetime."""
    return datetime.combine(day, clock, tzinfo=CLINIC_TZ)


def intervals_on(hours: WeeklyHours, day: date) -> list[tuple[time, time]]:
    """Opening intervals of a calendar day, sorted (none on holidays)."""
    if holiday_name(day) is not None:
        return []
    return sorted(hours.get(day.weekday(), ()))


def is_open(hours: WeeklyHours, now: datetime) -> bool:
    """True when `now` falls inside an opening interval (holidays are closed)."""
    local = to_clinic(now)
    return any(start <= local.time() < end for start, end in intervals_on(hours, local.date()))


def closes_at(hours: WeeklyHours, now: datetime) -> datetime | None:
    """When the current opening interval ends, or None when the clinic is closed now."""
    local = to_clinic(now)
    for start, end in intervals_on(hours, local.date()):
        if start <= local.time() < end:
            return at(local.date(), end)
    return None


def next_opening(hours: WeeklyHours, now: datetime, horizon_days: int = 31) -> datetime | None:
    """The next moment the clinic opens after `now` when it is closed now.

    None when it is open right now (nothing to wait for) or when no opening exists within
    `horizon_days` (e.g. an empty schedule).
    """
    local = to_clinic(now)
    if is_open(hours, local):
        return None
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        for start, _end in intervals_on(hours, day):
            opening = at(day, start)
            if opening > local:
                return opening
    return None


def _clock_text(t: time) -> str:
    return f"{t.hour}h" if t.minute == 0 else f"{t.hour}h{t.minute:02d}"


def _intervals_text(intervals: Sequence[tuple[time, time]]) -> str:
    return " e ".join(f"das {_clock_text(s)} às {_clock_text(e)}" for s, e in sorted(intervals))


def hours_text(hours: WeeklyHours) -> str:
    """Human pt-BR summary, e.g. "Segunda a sexta, das 8h às 12h e das 13h às 18h; sábado, ...".

    Consecutive weekdays with identical intervals are grouped.
    """
    groups: list[tuple[int, int, tuple[tuple[time, time], ...]]] = []
    for wd in range(7):
        ivs = tuple(sorted(hours.get(wd, ())))
        if not ivs:
            continue
        if groups and groups[-1][1] == wd - 1 and groups[-1][2] == ivs:
            groups[-1] = (groups[-1][0], wd, ivs)
        else:
            groups.append((wd, wd, ivs))
    parts = []
    for first, last, ivs in groups:
        if first == last:
            days = _WEEKDAY_SHORT[first]
        elif last == first + 1:
            days = f"{_WEEKDAY_SHORT[first]} e {_WEEKDAY_SHORT[last]}"
        else:
            days = f"{_WEEKDAY_SHORT[first]} a {_WEEKDAY_SHORT[last]}"
        parts.append(f"{days}, {_intervals_text(ivs)}")
    closed = [_WEEKDAY_SHORT[wd] for wd in range(7) if not hours.get(wd)]
    text = "; ".join(parts)
    text = text[:1].upper() + text[1:] if text else "Sem horário de atendimento definido"
    # Every short weekday name pluralises with a plain "s" (domingos, sábados, segundas...).
    suffix = (
        f"Fechado aos {' e '.join(d + 's' for d in closed)} e feriados nacionais."
        if closed
        else "Fechado nos feriados nacionais."
    )
    return f"{text}. {suffix}"


def parse_hhmm(value: str) -> time:
    """"08:00" -> time(8, 0); raises ValueError on anything else."""
    hh, sep, mm = value.partition(":")
    if not sep or len(hh) != 2 or len(mm) != 2 or not (hh + mm).isascii() or not (hh + mm).isdigit():
        raise ValueError(f"not HH:MM: {value!r}")
    return time(int(hh), int(mm))


def hours_from_json(raw: Sequence[Mapping[str, object]]) -> dict[int, list[tuple[time, time]]]:
    """Read `[{"weekday": 0, "intervals": [["08:00", "12:00"], ...]}, ...]` (the API's shape)."""
    out: dict[int, list[tuple[time, time]]] = {}
    for entry in raw:
        wd = int(str(entry["weekday"]))
        intervals = entry.get("intervals") or []
        if not isinstance(intervals, list | tuple):
            raise ValueError("intervals must be a list of [start, end] pairs")
        out[wd] = [(parse_hhmm(str(s)), parse_hhmm(str(e))) for s, e in intervals]
    return out


def hours_to_json(hours: WeeklyHours) -> list[dict[str, object]]:
    """The API's shape of the weekly hours, one entry per weekday 0..6 (empty when closed)."""
    return [
        {"weekday": wd, "intervals": [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in sorted(hours.get(wd, ()))]}
        for wd in range(7)
    ]
