"""Waitlist rules (issue 15, item 3): who may be offered a freed slot, in which order, and holds.

Pure functions: no I/O, `now` is always passed in. A patient on the waitlist asked for an earlier
date for a specialty (optionally one doctor, optionally "before" a date). When a slot is freed it
is offered to the first waiting patient who fits (first come, first served) and held for them
for `hold` minutes; nobody else may book it while the hold lasts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

DEFAULT_HOLD_MINUTES = 30


class EntryStatus(StrEnum):
    """Life of a waitlist entry."""

    WAITING = "waiting"  # active: offered freed slots as they come
    BOOKED = "booked"  # an offer was accepted: the patient got an earlier appointment
    LEFT = "left"  # the patient (or staff) took it off the list


class OfferStatus(StrEnum):
    """Life of an offer of one freed slot to one patient."""

    HELD = "held"  # the slot is held for this patient until `hold_until`
    ACCEPTING = "accepting"  # the patient accepted; the booking is being written (still held)
    ACCEPTED = "accepted"  # booked from the waitlist (a refilled slot)
    DECLINED = "declined"  # the patient said no; the slot goes to the next
    EXPIRED = "expired"  # no answer within the hold; the slot goes to the next
    FAILED = "failed"  # accepted, but the slot could not be booked (taken outside the hold)


HOLDING = frozenset({OfferStatus.HELD, OfferStatus.ACCEPTING})  # statuses that keep the slot held


@dataclass(frozen=True)
class Candidate:
    """A waiting entry as the rules see it."""

    entry_id: int
    patient_id: int
    specialty: str
    doctor_id: int | None
    before: date | None
    created_at: datetime


@dataclass(frozen=True)
class FreedSlot:
    """A slot that became free: its doctor, specialty and times (aware, clinic zone)."""

    doctor_id: int
    specialty: str
    start: datetime
    end: datetime


def fits(candidate: Candidate, slot: FreedSlot) -> bool:
    """Whether the slot is what the patient asked for: same specialty, the doctor they named (if
    any), and on a day before their `before` date (if any; the slot's clinic-local date)."""
    if candidate.specialty != slot.specialty:
        return False
    if candidate.doctor_id is not None and candidate.doctor_id != slot.doctor_id:
        return False
    return candidate.before is None or slot.start.date() < candidate.before


def pick_next(
    candidates: Iterable[Candidate], slot: FreedSlot, now: datetime, excluded_patients: Iterable[int] = ()
) -> Candidate | None:
    """The first waiting patient (oldest entry first, then lowest id) who fits the slot and was not
    offered this slot before (`excluded_patients`: declined, let it expire, or could not book).
    A slot that already started is offered to nobody."""
    if slot.start <= now:
        return None
    excluded = set(excluded_patients)
    ordered = sorted(candidates, key=lambda c: (c.created_at, c.entry_id))
    return next((c for c in ordered if c.patient_id not in excluded and fits(c, slot)), None)


def position(candidate: Candidate, waiting: Sequence[Candidate]) -> int:
    """1-based place in line among the waiting entries of the same specialty."""
    ahead = [c for c in waiting if c.specialty == candidate.specialty and c.entry_id != candidate.entry_id
             and (c.created_at, c.entry_id) < (candidate.created_at, candidate.entry_id)]
    return len(ahead) + 1


def hold_until(now: datetime, minutes: int, slot_start: datetime) -> datetime:
    """When the hold ends: `minutes` from now, but never after the slot starts."""
    if minutes <= 0:
        raise ValueError("the hold must last at least one minute")
    return min(now + timedelta(minutes=minutes), slot_start)


def hold_expired(until: datetime, now: datetime) -> bool:
    """A hold ends at `until` exactly (an answer at that instant is too late)."""
    return now >= until


def active_key(patient_id: int, specialty: str, doctor_id: int | None) -> str:
    """The uniqueness key of an active entry: one per patient + specialty (+ doctor)."""
    return f"{patient_id}:{specialty}:{doctor_id if doctor_id is not None else '*'}"


def button_payload(intent: str, offer_id: int) -> str:
    """A Rasa button payload: `/waitlist_accept{"offer_id":"12"}`."""
    return f"/{intent}" + json.dumps({"offer_id": str(offer_id)}, separators=(",", ":"))


_WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")


def offer_text(specialty_name: str, doctor_name: str, start: datetime, hold_minutes: int) -> str:
    """The pt-BR offer message (`start` in clinic time)."""
    when = f"{_WEEKDAYS[start.weekday()]}, {start:%d/%m} às {start:%H:%M}"
    return (f"Boa notícia! Abriu um horário mais cedo em {specialty_name}: {when}, com {doctor_name}. "
            f"Ele fica reservado para você por {hold_minutes} minutos. Quer este horário?")
