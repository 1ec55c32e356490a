"""Data-subject requests under the LGPD (Art. 18/19): kinds, statuses, the 15-day clock, identity
checks, corrections and the legal holds that survive an erasure.

Plain rules, no I/O. The services layer (`handoff/services/privacy_requests.py`) applies them.

- Kinds: access (confirmation and access, Art. 18 I-II), export (portability, Art. 18 V),
  correction (Art. 18 III), erasure (Art. 18 IV/VI), revoke_consent (Art. 18 IX).
- Status: open -> in_progress -> answered | rejected (`TRANSITIONS`); open may also be rejected.
- Clock: the complete answer is due 15 days after the request (Art. 19 II); managers are alerted
  once when fewer than N days remain or the request is overdue (like the SLA clocks).
- Legal holds: the medical record is kept 20 years from its last entry (Lei 13.787/2018, art. 6º);
  fiscal documents (boletos) 5 years counted from the first day of the year after they were issued
  or paid (CTN arts. 173/174). Data under a hold is kept (and flagged) by an erasure.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class RequestKind(StrEnum):
    """What the patient asks for."""

    ACCESS = "access"
    EXPORT = "export"
    CORRECTION = "correction"
    ERASURE = "erasure"
    REVOKE_CONSENT = "revoke_consent"


class RequestStatus(StrEnum):
    """Where a request stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    REJECTED = "rejected"


S = RequestStatus
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.ANSWERED, S.REJECTED}),
    S.ANSWERED: frozenset(),
    S.REJECTED: frozenset(),
}
PENDING = frozenset({S.OPEN, S.IN_PROGRESS})  # the clock runs

KIND_LABELS = {  # pt-BR, shown to staff and in the PDF
    RequestKind.ACCESS: "Acesso aos dados",
    RequestKind.EXPORT: "Portabilidade (cópia dos dados)",
    RequestKind.CORRECTION: "Correção",
    RequestKind.ERASURE: "Eliminação / anonimização",
    RequestKind.REVOKE_CONSENT: "Revogação do consentimento",
}


class IllegalRequestTransition(ValueError):
    """A status change the table does not allow."""


def next_status(current: RequestStatus | str, target: RequestStatus | str) -> RequestStatus:
    """`target` when the table allows it from `current`; raises IllegalRequestTransition."""
    cur, tgt = RequestStatus(current), RequestStatus(target)
    if tgt not in TRANSITIONS[cur]:
        raise IllegalRequestTransition(f"{cur.value} -> {tgt.value} not allowed")
    return tgt


# -- the 15-day clock (LGPD Art. 19 II) --------------------------------------------------------

ANSWER_DAYS = 15
DAY_SECONDS = 86400.0


def due_at(created_at: datetime) -> datetime:
    """When the complete answer is due."""
    return created_at + timedelta(days=ANSWER_DAYS)


@dataclass(frozen=True)
class Clock:
    """A request's clock at one moment."""

    days_left: float  # negative when overdue
    overdue: bool
    escalate: bool  # managers should be alerted (fewer than `warn_days` left, or overdue)


def clock(due: datetime, now: datetime, status: RequestStatus | str, warn_days: float) -> Clock:
    """The clock of a request; answered/rejected requests never escalate."""
    left = (due - now).total_seconds() / DAY_SECONDS
    pending = RequestStatus(status) in PENDING
    return Clock(days_left=left, overdue=pending and left < 0, escalate=pending and left < warn_days)


def should_escalate(due: datetime, now: datetime, status: RequestStatus | str, warn_days: float,
                    escalated_at: datetime | None) -> bool:
    """True once per request: its clock says escalate and it was not escalated before."""
    return escalated_at is None and clock(due, now, status, warn_days).escalate


# -- identity -----------------------------------------------------------------------------------


def needs_strong_identity(identity_count: int, linked_records: int) -> bool:
    """The channel identity alone proves who asks only when it is the person's only identity and
    the record is not linked to/merged with others; otherwise CPF + birth date must match."""
    return identity_count != 1 or linked_records > 1


def cpf_digits(value: str | None) -> str:
    """The digits of a CPF as typed (dots, dashes and spaces dropped)."""
    return re.sub(r"\D", "", value or "")


def identity_matches(record_cpf: str | None, record_birth: date | None, cpf: str | None,
                     birth: date | None) -> bool:
    """CPF and birth date both given and both equal to the record's (which must hold both)."""
    if not record_cpf or record_birth is None or birth is None:
        return False
    given = cpf_digits(cpf)
    return len(given) == 11 and given == cpf_digits(record_cpf) and birth == record_birth


def mask_cpf(value: str | None) -> str | None:
    """`***.456.789-**`: enough for staff to compare with a document, not the whole number."""
    digits = cpf_digits(value)
    if len(digits) != 11:
        return None
    return f"***.{digits[3:6]}.{digits[6:9]}-**"


def erased_placeholder() -> str:
    """An irreversible stand-in for an erased identifier (hash of fresh randomness)."""
    return "erased:" + hashlib.sha256(secrets.token_bytes(32)).hexdigest()


# -- correction ---------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class InvalidCorrection(ValueError):
    """A corrected value the rules refuse; `field` names it, the message is pt-BR."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def clean_name(value: str) -> str:
    """A display name: trimmed, 2 to 200 characters, no control characters."""
    name = " ".join(value.split())
    if not 2 <= len(name) <= 200 or any(ord(c) < 32 for c in name):
        raise InvalidCorrection("name", "nome inválido (2 a 200 caracteres)")
    return name


def clean_email(value: str) -> str:
    """A lower-cased e-mail address."""
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidCorrection("email", "e-mail inválido")
    return email


def clean_phone(value: str) -> str:
    """A Brazilian phone in E.164 digits (`55` + DDD + number), from how people type it."""
    digits = re.sub(r"\D", "", value)
    if len(digits) in (10, 11):
        digits = "55" + digits
    if not (len(digits) in (12, 13) and digits.startswith("55") and digits[2] != "0"):
        raise InvalidCorrection("phone", "telefone inválido (DDD + número)")
    return "+" + digits


def clean_birth_date(value: date, today: date) -> date:
    """A plausible birth date: not in the future, not before 1900."""
    if value > today or value.year < 1900:
        raise InvalidCorrection("birth_date", "data de nascimento inválida")
    return value


# -- legal holds ----------------------------------------------------------------------------------


class HoldCategory(StrEnum):
    """Data the law obliges the clinic to keep."""

    MEDICAL_RECORD = "medical_record"
    FISCAL = "fiscal"


MEDICAL_RECORD_YEARS = 20
FISCAL_YEARS = 5
BASIS = {
    HoldCategory.MEDICAL_RECORD: "Lei 13.787/2018, art. 6º (prontuário: 20 anos do último registro)",
    HoldCategory.FISCAL: "CTN, arts. 173 e 174 (documentos fiscais: 5 anos)",
}
HOLD_LABELS = {  # pt-BR, for the answer to the patient
    HoldCategory.MEDICAL_RECORD: "Prontuário (consultas e exames)",
    HoldCategory.FISCAL: "Documentos fiscais (boletos)",
}


@dataclass(frozen=True)
class Hold:
    """One category under a legal hold until (and including) `until`; `until` None = indefinitely."""

    category: str
    basis: str
    until: date | None
    items: int = 0


def add_years(day: date, years: int) -> date:
    """`day` plus whole years (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def legal_holds(
    *,
    medical_entries: Iterable[date | datetime],
    fiscal_documents: Iterable[date | datetime],
    today: date,
    explicit: Iterable[Hold] = (),
) -> list[Hold]:
    """The categories under hold today, with until when.

    `medical_entries`: dates of the medical record's entries (appointments that were not
    cancelled, exam collections); `fiscal_documents`: each boleto's latest date (paid or due).
    `explicit`: holds staff recorded (`legal_holds` rows not released) — they win when longer.
    """
    found: dict[str, Hold] = {}
    medical = [_day(d) for d in medical_entries]
    if medical:
        until = add_years(max(medical), MEDICAL_RECORD_YEARS)
        if until >= today:
            found[HoldCategory.MEDICAL_RECORD] = Hold(HoldCategory.MEDICAL_RECORD, BASIS[HoldCategory.MEDICAL_RECORD],
                                                      until, len(medical))
    fiscal = [_day(d) for d in fiscal_documents]
    if fiscal:
        # CTN art. 173 I: five years from the first day of the following fiscal year.
        until = date(max(fiscal).year + 1 + FISCAL_YEARS, 1, 1) - timedelta(days=1)
        if until >= today:
            found[HoldCategory.FISCAL] = Hold(HoldCategory.FISCAL, BASIS[HoldCategory.FISCAL], until, len(fiscal))
    for hold in explicit:
        if hold.until is not None and hold.until < today:
            continue
        current = found.get(hold.category)
        if current is None or hold.until is None or (current.until is not None and hold.until > current.until):
            found[hold.category] = Hold(hold.category, hold.basis, hold.until,
                                        current.items if current is not None else hold.items)
    return [found[k] for k in sorted(found)]
