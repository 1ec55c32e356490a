"""pt-BR formatting for bot replies: money, dates and times in clinic time, appointments, "when will
someone answer", boleto lines. Pure functions, shared by every flow."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from clinic_nlu.dates import CLINIC_TZ, WEEKDAY_NAMES, WEEKDAY_SHORT

WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")


def brl(amount: Any) -> str:
    """`1234.5` -> `R$ 1.234,50` (ints, floats, decimals or numeric strings)."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return f"R$ {amount}"
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    return f"{sign}R$ {'.'.join(groups)},{cents}"


def parse_iso(value: Any) -> datetime | None:
    """ISO 8601 datetime/date string -> datetime (None when missing or invalid)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_dt(value: Any) -> datetime | None:
    """`parse_iso` for moments in clinic time: a naive moment is the clinic's (a bare `date` object
    is not a moment: None)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return None
    parsed = parse_iso(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CLINIC_TZ)


def short_when(start: datetime) -> str:
    """'qui 26/11 às 09:00' (clinic time)."""
    local = start.astimezone(CLINIC_TZ)
    return f"{WEEKDAY_SHORT[local.weekday()]} {local:%d/%m} às {local:%H:%M}"


def long_when(start: datetime) -> str:
    """'quinta, 26/11 às 09:00' (clinic time)."""
    local = start.astimezone(CLINIC_TZ)
    return f"{WEEKDAY_NAMES[local.weekday()]}, {local:%d/%m} às {local:%H:%M}"


def on_day(start: datetime) -> str:
    """'na quinta, 26/11 às 09:00' / 'no sábado, 28/11 às 08:00' (clinic time)."""
    local = start.astimezone(CLINIC_TZ)
    return ("no " if local.weekday() >= 5 else "na ") + long_when(local)


def address_line(address: Any) -> str:
    """'\n📍 Rua X, 10' (empty when unknown): appended to confirmation texts."""
    return f"\n📍 {address}" if address else ""


def appointment_label(appt: dict[str, Any]) -> str:
    """'qui 26/11 às 09:00 — Dra. Ana (Cardiologia)' (a button title)."""
    start = parse_dt(appt.get("start"))
    when = short_when(start) if start else ""
    return f"{when} — {appt.get('doctor_name')} ({appt.get('specialty_name') or appt.get('specialty')})"


def appointment_phrase(appt: dict[str, Any]) -> str:
    """'de Cardiologia com Dra. Ana na quinta, 26/11 às 09:00'."""
    start = parse_dt(appt.get("start"))
    when = on_day(start) if start else ""
    return f"de {appt.get('specialty_name') or appt.get('specialty')} com {appt.get('doctor_name')} {when}"


def date_br(value: Any) -> str:
    """`2025-12-10` / ISO datetime -> `10/12/2025` (the input unchanged when unparseable)."""
    parsed = parse_iso(value)
    return parsed.strftime("%d/%m/%Y") if parsed else str(value or "")


def hour_br(moment: datetime) -> str:
    """`08:00` -> `8h`, `14:30` -> `14h30`."""
    return f"{moment.hour}h" if moment.minute == 0 else f"{moment.hour}h{moment.minute:02d}"


def when_br(moment: datetime, now: datetime | None = None) -> str:
    """A future moment relative to `now`, in the moment's own zone (the clinic's offset):
    `hoje às 14h`, `amanhã às 8h`, `na segunda-feira (24/11) às 8h`, `em 02/12 às 8h`."""
    if now is None:
        now = datetime.now(moment.tzinfo)
    elif moment.tzinfo is not None and now.tzinfo is not None:
        now = now.astimezone(moment.tzinfo)
    days = (moment.date() - now.date()).days
    at = f"às {hour_br(moment)}"
    if days <= 0:
        return f"hoje {at}"
    if days == 1:
        return f"amanhã {at}"
    if days < 7:
        article = "no" if moment.weekday() >= 5 else "na"
        return f"{article} {WEEKDAYS[moment.weekday()]} ({moment.strftime('%d/%m')}) {at}"
    return f"em {moment.strftime('%d/%m')} {at}"


def _mod10(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def linha_digitavel(barcode: str) -> str:
    """A 44-digit FEBRABAN boleto barcode as the typeable line banking apps accept
    (`AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE`); anything else is returned as is."""
    if len(barcode) != 44 or not barcode.isdigit():
        return barcode
    free = barcode[19:44]
    f1, f2, f3 = barcode[0:4] + free[0:5], free[5:15], free[15:25]
    f1, f2, f3 = (f + str(_mod10(f)) for f in (f1, f2, f3))
    return f"{f1[:5]}.{f1[5:]} {f2[:5]}.{f2[5:]} {f3[:5]}.{f3[5:]} {barcode[4]} {barcode[5:19]}"
