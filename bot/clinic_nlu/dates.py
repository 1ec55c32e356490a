"""pt-BR dates and periods as patients write them ("amanhã de manhã", "segunda que vem",
"dia 15", "15/12", "depois das 18h", "qualquer dia") -> a time window in the clinic's zone.

Pure functions, no Rasa imports: `parse_when(text, now)` returns a `WhenRange` or None.

Conventions (documented because patients are ambiguous):
- Clinic zone America/Sao_Paulo; `now` may be in any zone (naive = clinic time).
- A weekday alone ("sexta") is its next occurrence, 1 to 7 days ahead (today's weekday -> next
  week). "sexta que vem" / "próxima sexta" is the occurrence in next calendar week (Mon–Sun).
- Dates without month/year roll forward: "dia 5" on the 24th -> the 5th of next month; "15/01"
  in December -> next January. An explicit year is kept as given (even if in the past).
- Periods: manhã 08–12, tarde 12–18, noite 18–24; "às 9h" -> 09:00–10:00; "depois das 14h"
  14:00–24:00; "antes das 10" 00:00–10:00. Hours 1–6 without "da manhã" mean the afternoon
  ("às 2" -> 14h): the clinic does not see patients at dawn.
- No day given (only a period, "qualquer dia", "o quanto antes") -> from now to now + 30 days.
- The window never starts before `now` unless the whole window is already over (e.g. "hoje de
  manhã" asked at 15h); callers check `expired(now)`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clinic_nlu.dates_clock import parse_day_time

try:  # WhatsApp abbreviations ("q" -> "que", "dps" -> "depois", "mnh" -> "manha"), shared with the NLU
    from clinic_nlu.normalize import expand_word as _expand_word
except ImportError:  # pragma: no cover - clinic_nlu is always importable in the bot env

    def _expand_word(word: str) -> str:
        return word


CLINIC_TZ = ZoneInfo("America/Sao_Paulo")
DEFAULT_HORIZON_DAYS = 30

WEEKDAY_NAMES = ["segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo"]
WEEKDAY_SHORT = ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"]
MONTH_NAMES = [
    "janeiro", "fevereiro", "março", "abril", "maio", "junho",
    "julho", "agosto", "setembro", "outubro", "novembro", "dezembro",
]  # fmt: skip

# Full month names (accent-free) and the abbreviations accepted right after a day number.
_MONTHS_FULL = {
    "janeiro": 1, "fevereiro": 2, "marco": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7,
    "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
}  # fmt: skip
_MONTHS_ABBR = {
    "jan": 1, "fev": 2, "mar": 3, "abr": 4, "mai": 5, "jun": 6, "jul": 7,
    "ago": 8, "set": 9, "out": 10, "nov": 11, "dez": 12,
}  # fmt: skip
_MONTH_ANY = "|".join(sorted(list(_MONTHS_FULL) + list(_MONTHS_ABBR), key=len, reverse=True))
_MONTH_FULL_RE = "|".join(sorted(_MONTHS_FULL, key=len, reverse=True))


_NOT_A_WEEKDAY = r"(?![\s-]*(?:via|vez|vezes|opcao|opiniao|chamada|parcela|dose))"
_WEEKDAY_RES: list[tuple[int, str]] = [
    (0, rf"(?:segunda(?:[\s-]*feira)?|seg\b\.?|2a(?:[\s-]*feira)?){_NOT_A_WEEKDAY}"),
    (
        1,
        r"(?:terca(?:[\s-]*feira)?|ter[\s-]*feira|(?<=\bna\s)ter\b\.?|(?<=\bproxima\s)ter\b\.?|ter\.|3a(?:[\s-]*feira)?)"
        + _NOT_A_WEEKDAY,
    ),
    (2, rf"(?:quarta(?:[\s-]*feira)?|qua\b\.?|4a(?:[\s-]*feira)?){_NOT_A_WEEKDAY}"),
    (3, rf"(?:quinta(?:[\s-]*feira)?|qui\b\.?|5a(?:[\s-]*feira)?){_NOT_A_WEEKDAY}"),
    (4, rf"(?:sexta(?:[\s-]*feira)?|sex\b\.?|6a(?:[\s-]*feira)?){_NOT_A_WEEKDAY}"),
    (5, r"(?:sabado|sab\b\.?)"),
    (6, r"(?:domingo|dom\b\.?)"),
]


_ASAP_RE = re.compile(
    r"\b(?:o quanto antes|quanto antes|(?:o )?mais cedo possivel|(?:o )?mais rapido possivel|"
    r"(?:o )?mais breve(?: possivel)?|o quanto for possivel|primeiro horario(?: disponivel| livre| vago)?|"
    r"proximo horario(?: disponivel| livre| vago)?|assim que (?:tiver|possivel|der)|pra ja|para ja|"
    r"o mais proximo possivel|(?:o )?primeiro que tiver|asap)\b"
)
_ANY_DAY_RE = re.compile(
    r"\b(?:qualquer (?:dia|data|horario|hora|um|uma|momento)|tanto faz|(?:pode ser )?quando tiver|"
    r"qlq (?:dia|horario|hora)|qq (?:dia|horario|hora)|sem preferencia|nenhuma preferencia|indiferente)\b"
)


@dataclass(frozen=True)
class WhenRange:
    """A wished time window: slots starting in [start, end) and, each day, in
    [time_from, time_to) (None = no daily limit / end of day)."""

    start: datetime
    end: datetime
    description: str
    time_from: time | None = None
    time_to: time | None = None
    day_given: bool = False  # the patient named a day/week/month (not just a period)
    asap: bool = False  # "o quanto antes"

    def matches(self, when: datetime) -> bool:
        """Does a slot starting at `when` fit the window (range and daily period)?"""
        if when.tzinfo is None:
            when = when.replace(tzinfo=CLINIC_TZ)
        if not (self.start <= when < self.end):
            return False
        local = when.astimezone(CLINIC_TZ).time()
        if self.time_from is not None and local < self.time_from:
            return False
        if self.time_to is not None and local >= self.time_to:
            return False
        return True

    def expired(self, now: datetime) -> bool:
        """The whole window is in the past ("hoje de manhã" asked in the afternoon)."""
        return self.end <= _aware(now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (kept in a Rasa slot between turns)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "description": self.description,
            "time_from": self.time_from.strftime("%H:%M") if self.time_from else None,
            "time_to": self.time_to.strftime("%H:%M") if self.time_to else None,
            "day_given": self.day_given,
            "asap": self.asap,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WhenRange:
        def hm(value: str | None) -> time | None:
            return time.fromisoformat(value) if value else None

        return cls(
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            description=str(data.get("description") or ""),
            time_from=hm(data.get("time_from")),
            time_to=hm(data.get("time_to")),
            day_given=bool(data.get("day_given")),
            asap=bool(data.get("asap")),
        )


# --------------------------------------------------------------------------------------------
# helpers


def normalize(text: str) -> str:
    """Lowercase, no accents (ª/º become a/o), punctuation other than / : - . as spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"[^\w/:.\-\s]", " ", plain)
    plain = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", plain)  # keep dots only between digits
    plain = re.sub(r"\b[a-z]+\b", lambda m: _expand_word(m.group(0)), plain)
    return re.sub(r"\s+", " ", plain).strip()


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        return now.replace(tzinfo=CLINIC_TZ)
    return now.astimezone(CLINIC_TZ)


def _at(day: date, hm: time | None = None) -> datetime:
    return datetime.combine(day, hm or time(0), tzinfo=CLINIC_TZ)


def _first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day_of_month_forward(today: date, day: int) -> date | None:
    """The next date (today included) whose day of month is `day` (skips months lacking it)."""
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _day_month_forward(today: date, day: int, month: int) -> date | None:
    """dd/mm without year: this year if not past, else next year (29/02 -> next leap year)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    for year in range(today.year, today.year + 9):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _full_year(raw: str) -> int:
    year = int(raw)
    return year + 2000 if year < 100 else year


def fmt_day(day: date, with_weekday: bool = True, today: date | None = None) -> str:
    """'quarta, 25/11' ('/2027' appended when not the current year)."""
    text = day.strftime("%d/%m")
    if today is not None and day.year != today.year:
        text += f"/{day.year}"
    return f"{WEEKDAY_NAMES[day.weekday()]}, {text}" if with_weekday else text




# --------------------------------------------------------------------------------------------
# days


@dataclass
class _Days:
    first: date
    last: date  # inclusive
    description: str
    exact_day: bool = True  # one named day (vs a week/month span)


_UNTIL_PREFIX_RE = re.compile(r"(?:ate (?:o |a )?(?:dia )?|antes d[eoa]s?\s*(?:dia )?)\s*$")


def _weekday_re(wd: int) -> re.Pattern[str]:
    return re.compile(r"\b" + _WEEKDAY_RES[wd][1])


_WEEKDAY_COMPILED = [(wd, _weekday_re(wd)) for wd in range(7)]
_NEXT_QUALIFIER_BEFORE = re.compile(r"\b(?:proxim[ao]|prox|na outra|outra)\s*$")
_NEXT_QUALIFIER_AFTER = re.compile(r"^\s*(?:que vem|da semana que vem|da proxima semana|seguinte)\b")
_THIS_QUALIFIER_BEFORE = re.compile(r"\b(?:ness?a|dess?a|essa|esta|nesta|desta)\s*$")
_THIS_QUALIFIER_AFTER = re.compile(r"^\s*(?:dessa|desta|nessa|nesta) semana\b")


def _parse_days(text: str, today: date) -> tuple[_Days | None, str, re.Match[str] | None]:
    """The day(s) asked for; returns (days, text without the match, the match)."""

    def cut(m: re.Match[str]) -> str:
        return text[: m.start()] + " " + text[m.end() :]

    # explicit numeric date dd/mm(/yyyy)
    m = re.search(r"(?<![\d/])(\d{1,2})\s?[/\-]\s?(\d{1,2})(?:\s?[/\-]\s?(\d{2}|\d{4}))?(?![\d/])", text)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        target = _safe_date(_full_year(m.group(3)), month, day) if m.group(3) else _day_month_forward(today, day, month)
        if target is not None:
            return _Days(target, target, fmt_day(target, today=today)), cut(m), m

    # "15 de dezembro", "dia 15 de dez de 2026", "dia 1o"
    m = re.search(
        rf"\b(?:dia\s)?(\d{{1,2}}|primeiro|1o)\s(?:de\s)?({_MONTH_ANY})\b(?:\s(?:de\s)?(\d{{4}}))?",
        text,
    )
    if m:
        day = 1 if m.group(1) in ("primeiro", "1o") else int(m.group(1))
        name = m.group(2)
        month = _MONTHS_FULL.get(name) or _MONTHS_ABBR[name]
        target = _safe_date(int(m.group(3)), month, day) if m.group(3) else _day_month_forward(today, day, month)
        if target is not None:
            return _Days(target, target, fmt_day(target, today=today)), cut(m), m

    # "dia 15"
    m = re.search(r"\bdia\s(\d{1,2}|primeiro|1o)\b", text)
    if m:
        day = 1 if m.group(1) in ("primeiro", "1o") else int(m.group(1))
        target = _day_of_month_forward(today, day)
        if target is not None:
            return _Days(target, target, fmt_day(target, today=today)), cut(m), m

    # relative days
    m = re.search(r"\b(?:depois de amanha|dps de amanha|depois d amanha|depois de amanhan)\b", text)
    if m:
        target = today + timedelta(days=2)
        return _Days(target, target, f"depois de amanhã ({fmt_day(target)})"), cut(m), m
    m = re.search(r"\b(?:amanha|amanhan|amnh|amanh|amh)\b(?:\s(?:ou depois|ou no outro dia))?", text)
    if m:
        target = today + timedelta(days=1)
        if "ou" in m.group(0).split():
            last = target + timedelta(days=1)
            return (
                _Days(target, last, f"amanhã ou depois ({fmt_day(target, False)} a {fmt_day(last, False)})", False),
                cut(m),
                m,
            )
        return _Days(target, target, f"amanhã ({fmt_day(target)})"), cut(m), m
    m = re.search(r"\b(?:hoje|hj|hoj)\b", text)
    if m:
        return _Days(today, today, f"hoje ({fmt_day(today)})"), cut(m), m

    m = re.search(r"\b(?:daqui a|daqui|em|dentro de)\s(\d{1,2}|uma|um|duas|dois|tres)\s(dias?|semanas?)\b", text)
    if m:
        words = {"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3}
        count = words.get(m.group(1)) or int(m.group(1))
        if m.group(2).startswith("dia"):
            target = today + timedelta(days=count)
            return _Days(target, target, fmt_day(target, today=today)), cut(m), m
        first = today + timedelta(days=7 * count)
        first -= timedelta(days=first.weekday())  # that week, Monday to Sunday
        first = max(first, today)
        last = first + timedelta(days=6 - first.weekday())
        desc = f"daqui a {count} semana{'s' if count > 1 else ''} ({fmt_day(first, False)} a {fmt_day(last, False)})"
        return _Days(first, last, desc, False), cut(m), m

    # weekdays (before weeks: "segunda da semana que vem")
    for wd, pattern in _WEEKDAY_COMPILED:
        m = pattern.search(text)
        if not m:
            continue
        before, after = text[: m.start()], text[m.end() :]
        days_ahead = (wd - today.weekday()) % 7 or 7
        label = WEEKDAY_NAMES[wd]
        nxt_after = _NEXT_QUALIFIER_AFTER.match(after)
        this_after = _THIS_QUALIFIER_AFTER.match(after)
        if _NEXT_QUALIFIER_BEFORE.search(before) or nxt_after:
            next_monday = today + timedelta(days=7 - today.weekday())
            target = next_monday + timedelta(days=wd)
            label = f"{label} que vem"
        elif _THIS_QUALIFIER_BEFORE.search(before) or this_after:
            target = today + timedelta(days=(wd - today.weekday()) % 7)
        else:
            target = today + timedelta(days=days_ahead)
        tail = nxt_after or this_after
        end = m.end() + (tail.end() if tail else 0)
        cut_text = text[: m.start()] + " " + text[end:]
        return _Days(target, target, f"{label}, {target.strftime('%d/%m')}"), cut_text, m

    # weeks
    m = re.search(r"\b(?:semana que vem|proxima semana|prox semana|semana seguinte|outra semana)\b", text)
    if m:
        first = today + timedelta(days=7 - today.weekday())
        last = first + timedelta(days=6)
        return (
            _Days(first, last, f"semana que vem ({fmt_day(first, False)} a {fmt_day(last, False)})", False),
            cut(m),
            m,
        )
    m = re.search(r"\b(?:fim de semana|final de semana|fds)\b", text)
    if m:
        saturday = today + timedelta(days=(5 - today.weekday()) % 7) if today.weekday() != 6 else today
        last = saturday + timedelta(days=1) if saturday.weekday() == 5 else saturday
        return (
            _Days(saturday, last, f"fim de semana ({fmt_day(saturday, False)} a {fmt_day(last, False)})", False),
            cut(m),
            m,
        )
    m = re.search(r"\b(?:n?essa semana|esta semana|nesta semana|dessa semana|desta semana|ainda essa semana)\b", text)
    if m:
        last = today + timedelta(days=6 - today.weekday())
        return _Days(today, last, f"esta semana (até {fmt_day(last, False)})", False), cut(m), m

    # months
    m = re.search(r"\b(?:mes que vem|proximo mes|prox mes|mes seguinte)\b", text)
    if m:
        first = _first_of_next_month(today)
        last = _first_of_next_month(first) - timedelta(days=1)
        return _Days(first, last, f"mês que vem ({MONTH_NAMES[first.month - 1]})", False), cut(m), m
    m = re.search(r"\b(?:n?esse mes|este mes|neste mes|desse mes|ainda esse mes)\b", text)
    if m:
        last = _first_of_next_month(today) - timedelta(days=1)
        return _Days(today, last, f"este mês (até {fmt_day(last, False)})", False), cut(m), m
    m = re.search(rf"\b({_MONTH_FULL_RE})\b(?:\s(?:de\s)?(\d{{4}}))?", text)
    if m:
        month = _MONTHS_FULL[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (today.year if month >= today.month else today.year + 1)
        first = date(year, month, 1)
        last = _first_of_next_month(first) - timedelta(days=1)
        first = max(first, today) if first <= today <= last else first
        desc = MONTH_NAMES[month - 1] + (f" de {year}" if year != today.year else "")
        return _Days(first, last, desc, False), cut(m), m
    return None, text, None


# --------------------------------------------------------------------------------------------


def parse_when(text: str, now: datetime) -> WhenRange | None:
    """Parse a pt-BR date/period expression; None when the text names no day nor period."""
    now = _aware(now)
    today = now.date()
    norm = normalize(text)
    if not norm:
        return None

    asap = bool(_ASAP_RE.search(norm))
    norm = _ASAP_RE.sub(" ", norm)
    any_day = bool(_ANY_DAY_RE.search(norm))
    norm = _ANY_DAY_RE.sub(" ", norm)

    day_time, norm = parse_day_time(norm)
    days, rest, match = _parse_days(norm, today)

    if days is None and day_time is None and not asap and not any_day:
        return None

    horizon = timedelta(days=DEFAULT_HORIZON_DAYS)
    time_from = day_time.time_from if day_time else None
    time_to = day_time.time_to if day_time else None
    time_desc = day_time.description if day_time else ""

    if days is not None and match is not None:
        prefix = rest[: match.start()]
        if _UNTIL_PREFIX_RE.search(prefix) and days.exact_day:
            days = _Days(today, days.last, f"até {days.description}", False)
        elif re.search(r"(?:a partir d[eoa]s?|desde)\s*(?:dia\s*)?$", prefix):
            first = days.first
            days = _Days(first, first + horizon, f"a partir de {days.description}", False)
        elif re.search(r"(?:depois d[eoa]s?|apos (?:o |a )?)\s*(?:dia\s*)?$", prefix):
            first = days.last + timedelta(days=1)
            days = _Days(first, first + horizon, f"depois de {days.description}", False)

    if days is not None:
        start = _at(days.first, time_from)
        end = _at(days.last, time_to) if time_to is not None else _at(days.last + timedelta(days=1))
        parts = [days.description]
        day_given = True
    else:
        start = _at(today, time_from) if time_from else now
        end = _at(today + horizon + timedelta(days=1))
        if asap:
            parts = ["o quanto antes"]
        elif any_day or not day_time:
            parts = ["qualquer dia"]
        else:
            parts = []
        day_given = False
    if time_desc:
        parts.append(time_desc)
    description = " ".join(p for p in parts if p)

    if end > now and start < now:
        start = now
    return WhenRange(
        start=start,
        end=end,
        description=description.strip(),
        time_from=time_from,
        time_to=time_to,
        day_given=day_given,
        asap=asap,
    )


def parse_birth_date(text: str, today: date) -> date | None:
    """A birth date written as 25/03/1980, 25-03-80, 25.03.1980, 25031980 or "25 de março de
    1980"; None when absent, impossible, in the future or more than 120 years ago.
    Two-digit years are in this century when not after this year ("05" -> 2005), else 19xx."""
    norm = normalize(text)
    day = month = year = None
    m = re.search(r"(?<!\d)(\d{1,2})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{4}|\d{2})(?!\d)", norm)
    if m:
        day, month, raw_year = int(m.group(1)), int(m.group(2)), m.group(3)
    else:
        m = re.search(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)", norm)
        if m:
            day, month, raw_year = int(m.group(1)), int(m.group(2)), m.group(3)
        else:
            m = re.search(
                rf"(?<!\d)(\d{{1,2}}|primeiro|1o)\s(?:de\s)?({_MONTH_ANY})\b\s(?:de\s)?(\d{{4}}|\d{{2}})(?!\d)", norm
            )
            if not m:
                return None
            day = 1 if m.group(1) in ("primeiro", "1o") else int(m.group(1))
            month = _MONTHS_FULL.get(m.group(2)) or _MONTHS_ABBR[m.group(2)]
            raw_year = m.group(3)
    if len(raw_year) == 2:
        short = int(raw_year)
        year = 2000 + short if short <= today.year % 100 else 1900 + short
    else:
        year = int(raw_year)
    born = _safe_date(year, month, day)
    if born is None or born > today or today.year - born.year > 120:
        return None
    return born
