"""Dates and slots of the booking flow, as pure functions: which free slots to offer (soonest
first, spread over days), how an offered slot and a date answer look as buttons, and which offered
slot a typed answer means ("o segundo", "às 10h", "quinta 9h"). No clinic API, no tracker.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from clinic_nlu.dates import CLINIC_TZ, WhenRange, normalize, parse_when

from actions.appointments import ORDINALS
from actions.formatting import parse_dt, short_when

MAX_OFFERED = 5
SLOT_PAGE = 100


# ------------------------------------------------------------------------------------------
# small pure helpers (unit-tested in tests/bot/test_booking_actions.py)


def slot_title(slot: dict[str, Any], specialty_names: dict[str, str]) -> str:
    """'qui 26/11 às 09:00 — Dra. Ana (Cardiologia)'."""
    start = parse_dt(slot.get("start"))
    when = short_when(start) if start else str(slot.get("start"))
    spec = specialty_names.get(str(slot.get("specialty")), str(slot.get("specialty") or "").replace("_", " ").title())
    return f"{when} — {slot.get('doctor_name')} ({spec})"


def slot_payload(slot_id: str) -> str:
    return '/choose_slot{"slot_id":"' + str(slot_id).replace('"', "") + '"}'


def when_payload(text: str) -> str:
    return '/choose_when{"when":"' + text.replace('"', "") + '"}'


def pick_slots(slots: list[dict[str, Any]], n: int = MAX_OFFERED, per_day: int | None = 2) -> list[dict[str, Any]]:
    """Up to `n` slots, soonest first, spread over several days when the window allows it
    (at most `per_day` on a day in the first pass; None = strictly the soonest)."""
    ordered = sorted(slots, key=lambda s: parse_dt(s.get("start")) or datetime.max.replace(tzinfo=CLINIC_TZ))
    if per_day is None:
        return ordered[:n]
    chosen: list[dict[str, Any]] = []
    per: dict[date, int] = {}
    for slot in ordered:
        start = parse_dt(slot.get("start"))
        day = start.astimezone(CLINIC_TZ).date() if start else date.min
        if per.get(day, 0) < per_day:
            chosen.append(slot)
            per[day] = per.get(day, 0) + 1
        if len(chosen) >= n:
            break
    if len(chosen) < n:
        for slot in ordered:
            if slot not in chosen:
                chosen.append(slot)
            if len(chosen) >= n:
                break
    return sorted(chosen, key=lambda s: parse_dt(s.get("start")) or datetime.max.replace(tzinfo=CLINIC_TZ))


def match_offered(text: str, offered: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """Which offered option a typed answer means: "1", "opção 2", "o primeiro", "o último",
    "às 10h", "quinta 9h", "26/11 às 14:30". None when unclear."""
    if not offered:
        return None
    norm = normalize(text)
    if not norm:
        return None
    m = re.fullmatch(r"(?:(?:a |o )?(?:opcao|opc|op|numero|n|no|horario)\s*)?(?:a |o )?(\d)(?:\s*(?:a|o|opcao))?", norm)
    if m:
        index = int(m.group(1))
        return offered[index - 1] if 1 <= index <= len(offered) else None
    for word, index in sorted(ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", norm):
            if index == -1:
                return offered[-1]
            return offered[index - 1] if index <= len(offered) else None
    when = parse_when(text, now)
    if when is None:
        return None
    exact = within_an_hour(when)
    fits = [s for s in offered if (start := parse_dt(s.get("start"))) and when.matches(start)]
    if exact:
        exact_hits = [
            s
            for s in fits
            if (start := parse_dt(s.get("start"))) and start.astimezone(CLINIC_TZ).time() == when.time_from
        ]
        if len(exact_hits) == 1:
            return exact_hits[0]
    if len(fits) == 1 and (exact or when.day_given):
        return fits[0]
    return None


def within_an_hour(when: WhenRange) -> bool:
    """A clock time ("às 9", "9h30"), not a period of the day."""
    if when.time_from is None or when.time_to is None:
        return False
    span = datetime.combine(date.min, when.time_to) - datetime.combine(date.min, when.time_from)
    return span <= timedelta(hours=1)


def is_exact_time(when: WhenRange) -> bool:
    """A day and a clock time ("quinta às 9"), not a period."""
    return when.day_given and within_an_hour(when)


def what_phrase(ctx: dict[str, Any]) -> str:
    """'com Dra. Ana' / 'de Cardiologia' (for "horários livres ...")."""
    if ctx.get("doctor_name"):
        return f"com {ctx['doctor_name']}"
    if ctx.get("specialty_name") or ctx.get("specialty"):
        return f"de {ctx.get('specialty_name') or ctx.get('specialty')}"
    return ""


def when_buttons() -> list[dict[str, str]]:
    return [
        {"title": "O quanto antes", "payload": when_payload("o quanto antes")},
        {"title": "Esta semana", "payload": when_payload("esta semana")},
        {"title": "Semana que vem", "payload": when_payload("semana que vem")},
    ]
