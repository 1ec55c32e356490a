"""The time of day in a patient's words ("às 9h", "depois das 14h", "entre 10 e 12", "de manhã",
"depois do almoço") -> a daily window; part of `dates.parse_when`. Pure functions.

Conventions (see `dates`): manhã 08–12, tarde 12–18, noite 18–24; "às 9h" -> 09:00–10:00; hours
1–6 without "da manhã" mean the afternoon ("às 2" -> 14h): the clinic does not see patients at dawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["DayTime", "fmt_hour", "parse_day_time"]

_HOUR_WORDS = {
    "uma": 1, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8,
    "nove": 9, "dez": 10, "onze": 11, "doze": 12,
}  # fmt: skip
_HOUR_WORD_RE = "|".join(sorted(_HOUR_WORDS, key=len, reverse=True))

# Periods of the day: (regex, from, to, description). `to=None` means end of day.
_PERIODS: list[tuple[str, time, time | None, str]] = [
    (r"\b(?:bem cedo|logo cedo|cedinho)\b", time(8), time(10), "bem cedo"),
    (r"\b(?:fim|final) da tarde\b", time(16), time(18), "no fim da tarde"),
    (
        r"(?<!boa )\b(?:(?:de|pela|na|da|a|essa|esta|nessa|nesta) )?(?:manha|manhazinha)\b",
        time(8),
        time(12),
        "de manhã",
    ),
    (r"\b(?:hora|horario) (?:do|de) almoco\b", time(12), time(14), "na hora do almoço"),
    (r"\bdepois do almoco\b", time(13), None, "depois do almoço"),
    (r"\bantes do almoco\b", time(8), time(12), "antes do almoço"),
    (r"(?<!boa )\b(?:(?:de|pela|na|a|essa|esta|nessa|nesta) )?(?:tarde|tardinha)\b", time(12), time(18), "à tarde"),
    (r"(?<!boa )\b(?:(?:de|pela|na|a|essa|esta|nessa|nesta) )?(?:noite|noitinha)\b", time(18), None, "à noite"),
    (r"\bdepois do (?:expediente|trabalho|servico)\b", time(18), None, "à noite"),
]


def fmt_hour(hm: time) -> str:
    """9h, 9h30, 14h."""
    return f"{hm.hour}h" if hm.minute == 0 else f"{hm.hour}h{hm.minute:02d}"


# --------------------------------------------------------------------------------------------
# time of day


@dataclass
class DayTime:
    time_from: time | None = None
    time_to: time | None = None
    description: str = ""


def _hour(raw_hour: str, raw_min: str | None, qualifier: str | None) -> time | None:
    if raw_hour in _HOUR_WORDS:
        hour = _HOUR_WORDS[raw_hour]
    elif raw_hour in ("meio dia", "meio-dia", "meiodia"):
        hour = 12
    else:
        hour = int(raw_hour)
    minute = int(raw_min) if raw_min else 0
    q = qualifier or ""
    if ("tarde" in q or "noite" in q) and hour < 12:
        hour += 12
    elif "manha" not in q and "madrugada" not in q and 1 <= hour <= 6:
        hour += 12  # "às 2" at a clinic is 14h
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


_CLOCK = (
    r"(?P<h@>\d{1,2}(?![\d/])|(?:" + _HOUR_WORD_RE + r")\b|meio[\s-]?dia\b)"
    r"(?:\s?(?::|h|hs|hrs|horas?)\s?(?P<m@>\d{2})|\s?(?:h|hs|hrs|horas?)\b|\s?e meia(?P<half@>))?"
    r"(?:\s(?P<q@>da manha|da tarde|da noite|de manha|de tarde|de noite|da madrugada))?"
)


def _clock(n: int) -> str:
    """The clock-time regex with its groups numbered `n` (h1, m1, half1, q1)."""
    return _CLOCK.replace("@", str(n))


_BETWEEN_RE = re.compile(rf"\b(?:entre|das)\s(?:as\s)?{_clock(1)}\s(?:e|as|a|ate)\s(?:as\s)?{_clock(2)}")
_AFTER_RE = re.compile(
    rf"\b(?:depois das?|apos as?|a partir das?|mais tarde que as?)\s{_clock(1)}"
    r"(?:\s(?:em diante|pra frente|para frente))?"
)
_BEFORE_RE = re.compile(rf"\b(?:antes das?|ate as?|no maximo as?)\s{_clock(1)}")
_AT_RE = re.compile(rf"\b(?:as|por volta das?|umas|tipo|pras|para as)\s{_clock(1)}")
# A bare clock needs an explicit marker: 9:30, 9h, 9h30, 14 horas.
_BARE_CLOCK_RE = re.compile(
    r"(?<![\d/])(?P<h1>\d{1,2})(?::(?P<m1>\d{2})|\s?(?:h|hs|hrs|horas)(?:\s?(?P<m1b>\d{2}))?)(?![\d/])"
    r"(?:\s(?P<q1>da manha|da tarde|da noite))?"
)


def _clock_from(match: re.Match[str], n: int) -> time | None:
    groups = match.groupdict()
    raw_h = groups.get(f"h{n}")
    if raw_h is None:
        return None
    raw_m = groups.get(f"m{n}") or groups.get(f"m{n}b")
    if groups.get(f"half{n}") is not None:
        raw_m = "30"
    raw_h = re.sub(r"[\s-]", " ", raw_h)
    return _hour(raw_h, raw_m, groups.get(f"q{n}"))


def parse_day_time(text: str) -> tuple[DayTime | None, str]:
    """Extract the daily window; returns it and the text with the matched parts removed."""
    result = DayTime()
    found = False
    after: time | None = None
    before: time | None = None
    exact: time | None = None

    m = _BETWEEN_RE.search(text)
    if m:
        a, b = _clock_from(m, 1), _clock_from(m, 2)
        if a and b and a < b:
            after, before = a, b
            text = text[: m.start()] + " " + text[m.end() :]
    if after is None:
        m = _AFTER_RE.search(text)
        if m and (value := _clock_from(m, 1)) is not None:
            after = value
            text = text[: m.start()] + " " + text[m.end() :]
    if before is None:
        m = _BEFORE_RE.search(text)
        if m and (value := _clock_from(m, 1)) is not None:
            before = value
            text = text[: m.start()] + " " + text[m.end() :]
    if after is None and before is None:
        m = _AT_RE.search(text)
        if m and (value := _clock_from(m, 1)) is not None:
            exact = value
            text = text[: m.start()] + " " + text[m.end() :]
        elif (m := _BARE_CLOCK_RE.search(text)) and (value := _clock_from(m, 1)) is not None:
            exact = value
            text = text[: m.start()] + " " + text[m.end() :]
        elif m := re.search(r"\b(?:ao |no )?meio[\s-]?dia\b", text):
            exact = time(12)
            text = text[: m.start()] + " " + text[m.end() :]

    periods: list[tuple[time, time | None, str]] = []
    for pattern, p_from, p_to, desc in _PERIODS:
        pm = re.search(pattern, text)
        if pm:
            periods.append((p_from, p_to, desc))
            text = text[: pm.start()] + " " + text[pm.end() :]

    if periods:
        found = True
        result.time_from = min(p[0] for p in periods)
        ends = [p[1] for p in periods]
        result.time_to = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
        result.description = " ou ".join(p[2] for p in periods)
    if exact is not None:
        found = True
        end_dt = datetime.combine(date(2000, 1, 1), exact) + timedelta(hours=1)
        result.time_from = exact
        result.time_to = None if end_dt.day != 1 else end_dt.time()
        result.description = f"às {fmt_hour(exact)}"
    elif after is not None or before is not None:
        found = True
        lo = max(filter(None, [after, result.time_from]), default=None)
        hi_candidates = [t for t in (before, result.time_to) if t is not None]
        hi = min(hi_candidates) if hi_candidates else None
        if lo is not None and hi is not None and lo >= hi:  # contradictory: keep the explicit bounds
            lo, hi = after, before
        result.time_from, result.time_to = lo, hi
        if after is not None and before is not None:
            result.description = f"entre {fmt_hour(after)} e {fmt_hour(before)}"
        elif after is not None:
            result.description = f"depois das {fmt_hour(after)}"
            if periods:
                result.description = f"{periods[0][2]}, depois das {fmt_hour(after)}"
        elif before is not None:
            result.description = f"antes das {fmt_hour(before)}"
            if periods:
                result.description = f"{periods[0][2]}, antes das {fmt_hour(before)}"
    return (result if found else None), text
