"""FHIR R4 search semantics of the local test server (tests/support/fhir_server.py): resource
types, `OperationOutcome` errors, date prefixes (eq/ne/gt/ge/lt/le/sa/eb/ap) over partial dates,
reference and token matching, and the search parameters each type supports."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

TYPES = ("Patient", "Practitioner", "Schedule", "Slot", "Appointment", "Communication", "Encounter")
FHIR_JSON = "application/fhir+json"

# Required bindings fhir.resources does not enforce (code is a plain string there).
REQUIRED_CODES: dict[str, tuple[str, ...]] = {
    "Slot": ("busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"),
    "Appointment": ("proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                    "entered-in-error", "checked-in", "waitlist"),
}

DATE_PREFIXES = ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb", "ap")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                      r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


class FhirError(Exception):
    """An HTTP error with an OperationOutcome."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


# ---------------------------------------------------------------------------------------------
# search helpers

def parse_date_range(value: str) -> tuple[datetime, datetime]:
    """The [low, high) instant range a FHIR date search value stands for (its precision)."""
    match = _DATE_RE.match(value)
    if not match:
        raise FhirError(400, "invalid", f"invalid date search value {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hh, mm = int(zone[1:3]), int(zone[4:6])
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    # Values without a zone are read in UTC (the spec leaves it to the server).
    if month is None:
        low = datetime(int(year), 1, 1, tzinfo=tz)
        return low, low.replace(year=low.year + 1)
    if day is None:
        low = datetime(int(year), int(month), 1, tzinfo=tz)
        nxt = low.replace(year=low.year + 1, month=1) if low.month == 12 else low.replace(month=low.month + 1)
        return low, nxt
    if hour is None:
        low = datetime(int(year), int(month), int(day), tzinfo=tz)
        return low, low + timedelta(days=1)
    if second is None:
        low = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=tz)
        return low, low + timedelta(minutes=1)
    micro = round(float(fraction) * 1_000_000) if fraction else 0
    low = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    return low, low + (timedelta(microseconds=1) if fraction else timedelta(seconds=1))


def instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_matches(resource_value: str | None, prefix: str, low: datetime, high: datetime) -> bool:
    """FHIR date search: the resource's value (an instant here) against the parameter range."""
    if resource_value is None:
        return False
    point = instant(resource_value)
    return {
        "eq": low <= point < high,
        "ap": low <= point < high,
        "ne": not (low <= point < high),
        "gt": point >= high,
        "sa": point >= high,
        "ge": point >= low,
        "lt": point < low,
        "eb": point < low,
        "le": point < high,
    }[prefix]


def _ref_matches(reference: str | None, wanted: str, types: Iterable[str] | None = None) -> bool:
    """A Reference.reference against a reference search value (`Type/id`, `id` or an absolute URL)."""
    if not reference:
        return False
    have = reference.rstrip("/").split("/")[-2:]
    want = wanted.rstrip("/").split("/")
    if types is not None and len(have) == 2 and have[0] not in types:
        return False
    if len(want) == 1:
        return have[-1] == want[0]
    return have == want[-2:]


def _token_matches_identifier(identifiers: list[dict[str, Any]] | None, value: str) -> bool:
    for ident in identifiers or []:
        if "|" in value:
            system, _, code = value.partition("|")
            if system and ident.get("system") != system:
                continue
            if code and ident.get("value") != code:
                continue
            return True
        if ident.get("value") == value:
            return True
    return False


def _participant_refs(resource: dict[str, Any]) -> list[str]:
    return [str((p.get("actor") or {}).get("reference") or "") for p in resource.get("participant") or []]


Matcher = Callable[[dict[str, Any], str], bool]


def _any_ref(getter: Callable[[dict[str, Any]], list[str]], types: Iterable[str] | None = None) -> Matcher:
    return lambda res, value: any(_ref_matches(r, value, types) for r in getter(res))


def _token(getter: Callable[[dict[str, Any]], str | None]) -> Matcher:
    return lambda res, value: getter(res) == value


def _ref_of(field: str) -> Callable[[dict[str, Any]], list[str]]:
    def get(res: dict[str, Any]) -> list[str]:
        value = res.get(field)
        items = value if isinstance(value, list) else [value] if value else []
        return [str(item.get("reference") or "") for item in items if isinstance(item, dict)]
    return get


DATE_FIELDS: dict[str, dict[str, Callable[[dict[str, Any]], str | None]]] = {
    "Slot": {"start": lambda r: r.get("start")},
    "Appointment": {"date": lambda r: r.get("start")},
}

SEARCH_PARAMS: dict[str, dict[str, Matcher]] = {
    "Slot": {"schedule": _any_ref(_ref_of("schedule"), ["Schedule"]), "status": _token(lambda r: r.get("status"))},
    "Schedule": {"actor": _any_ref(_ref_of("actor"))},
    "Appointment": {
        "actor": _any_ref(_participant_refs),
        "patient": _any_ref(_participant_refs, ["Patient"]),
        "practitioner": _any_ref(_participant_refs, ["Practitioner"]),
        "status": _token(lambda r: r.get("status")),
        "slot": _any_ref(_ref_of("slot"), ["Slot"]),
    },
    "Patient": {"identifier": lambda r, v: _token_matches_identifier(r.get("identifier"), v)},
    "Practitioner": {"identifier": lambda r, v: _token_matches_identifier(r.get("identifier"), v)},
    "Communication": {"subject": _any_ref(_ref_of("subject")), "patient": _any_ref(_ref_of("subject"), ["Patient"]),
                      "encounter": _any_ref(_ref_of("encounter"), ["Encounter"]),
                      "identifier": lambda r, v: _token_matches_identifier(r.get("identifier"), v)},
    "Encounter": {"subject": _any_ref(_ref_of("subject")), "patient": _any_ref(_ref_of("subject"), ["Patient"])},
}

SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "start": lambda r: instant(r["start"]) if r.get("start") else datetime.max.replace(tzinfo=UTC),
    "date": lambda r: instant(r["start"]) if r.get("start") else datetime.max.replace(tzinfo=UTC),
    "_lastUpdated": lambda r: instant(r["meta"]["lastUpdated"]),
    "_id": lambda r: r["id"],
}
