"""The waitlist's pure rules: who fits a freed slot, in which order, and when a hold ends."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.waitlist import (
    Candidate,
    FreedSlot,
    active_key,
    button_payload,
    fits,
    hold_expired,
    hold_until,
    offer_text,
    pick_next,
    position,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=CLINIC_TZ)  # a Monday
SLOT = FreedSlot(doctor_id=7, specialty="cardiologia", start=datetime(2027, 3, 3, 10, 0, tzinfo=CLINIC_TZ),
                 end=datetime(2027, 3, 3, 10, 30, tzinfo=CLINIC_TZ))


def cand(entry_id: int, *, patient: int | None = None, specialty: str = "cardiologia", doctor: int | None = None,
         before: date | None = None, minutes_ago: int = 60) -> Candidate:
    return Candidate(entry_id, patient or 100 + entry_id, specialty, doctor, before,
                     NOW - timedelta(minutes=minutes_ago))


def test_fits_needs_the_specialty_the_doctor_named_and_a_day_before_the_limit() -> None:
    assert fits(cand(1), SLOT)
    assert not fits(cand(1, specialty="dermatologia"), SLOT)
    assert fits(cand(1, doctor=7), SLOT)
    assert not fits(cand(1, doctor=8), SLOT)
    assert fits(cand(1, before=date(2027, 3, 4)), SLOT)
    assert not fits(cand(1, before=date(2027, 3, 3)), SLOT)  # "before the 3rd" excludes the 3rd
    assert not fits(cand(1, before=date(2027, 3, 2)), SLOT)


def test_first_come_first_served_among_those_who_fit() -> None:
    line = [cand(3, minutes_ago=10), cand(1, minutes_ago=90, specialty="dermatologia"), cand(2, minutes_ago=50),
            cand(4, minutes_ago=50)]
    picked = pick_next(line, SLOT, NOW)
    assert picked is not None and picked.entry_id == 2  # oldest that fits; ties by entry id
    picked = pick_next(line, SLOT, NOW, excluded_patients={102})
    assert picked is not None and picked.entry_id == 4  # already offered this slot: skipped
    assert pick_next(line, SLOT, NOW, excluded_patients={102, 103, 104}) is None
    assert pick_next([], SLOT, NOW) is None


def test_a_slot_that_already_started_goes_to_nobody() -> None:
    assert pick_next([cand(1)], SLOT, SLOT.start) is None
    assert pick_next([cand(1)], SLOT, SLOT.start - timedelta(minutes=1)) is not None


def test_position_counts_earlier_entries_of_the_same_specialty() -> None:
    line = [cand(1, minutes_ago=90), cand(2, minutes_ago=80, specialty="dermatologia"), cand(3, minutes_ago=70)]
    assert position(line[0], line) == 1
    assert position(line[2], line) == 2
    assert position(line[1], line) == 1


def test_the_hold_lasts_n_minutes_but_never_past_the_slot_start() -> None:
    assert hold_until(NOW, 30, SLOT.start) == NOW + timedelta(minutes=30)
    assert hold_until(NOW, 30, NOW + timedelta(minutes=10)) == NOW + timedelta(minutes=10)
    with pytest.raises(ValueError):
        hold_until(NOW, 0, SLOT.start)
    until = NOW + timedelta(minutes=30)
    assert not hold_expired(until, until - timedelta(seconds=1))
    assert hold_expired(until, until)  # an answer at the end instant is too late
    assert hold_expired(until, until + timedelta(seconds=1))


def test_keys_payloads_and_text() -> None:
    assert active_key(5, "cardiologia", None) == "5:cardiologia:*"
    assert active_key(5, "cardiologia", 7) == "5:cardiologia:7"
    payload = button_payload("waitlist_accept", 12)
    assert payload == '/waitlist_accept{"offer_id":"12"}'
    assert json.loads(payload[len("/waitlist_accept"):]) == {"offer_id": "12"}
    text = offer_text("Cardiologia", "Dra. Ana", SLOT.start, 30)
    assert "quarta-feira, 03/03 às 10:00" in text and "30 minutos" in text and "Dra. Ana" in text
