"""The hub channel's turn reading (bot/hub_channel.py) on Rasa's own tracker stores and trackers.

The reading must be what the store saved at the end of the turn, without reading the tracker back,
only for the hub channel's turns in flight, and once per store however many turns run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from hub_channel import TurnReadings, reading_of, remember_readings
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [book_appointment, greet]
slots:
  specialty:
    type: text
    mappings: [{type: custom}]
"""
)


def _tracker(sender: str, intent: str, confidence: float, specialty: str | None) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("quero marcar", {"name": intent, "confidence": confidence}))
    if specialty:
        tracker.update(SlotSet("specialty", specialty))
    return tracker


def _store() -> FailSafeTrackerStore:
    return FailSafeTrackerStore(InMemoryTrackerStore(DOMAIN))


def test_a_turn_in_flight_gets_the_reading_of_the_tracker_it_saved() -> None:
    store = _store()
    readings = remember_readings(store)
    readings.expect("p1")
    asyncio.run(store.save(_tracker("p1", "book_appointment", 0.91, "cardiologia")))
    reading = readings.take("p1")
    assert reading is not None
    assert reading["intent"] == {"name": "book_appointment", "confidence": 0.91}
    assert reading["slots"]["specialty"] == "cardiologia"
    # the same as reading the tracker back from the store (what the channel did before)
    stored = asyncio.run(store.retrieve("p1"))
    assert stored is not None and reading == reading_of(stored)
    # taken once: the next turn starts clean
    assert readings.take("p1") is None


def test_turns_of_other_channels_leave_nothing_behind() -> None:
    store = _store()
    readings = remember_readings(store)
    asyncio.run(store.save(_tracker("rest-user", "greet", 0.8, None)))  # never expected
    assert readings.take("rest-user") is None
    assert readings._readings == {} and readings._expected == set()


def test_a_turn_whose_save_was_not_seen_falls_back() -> None:
    readings = TurnReadings()
    readings.expect("p2")
    assert readings.take("p2") is None  # the channel then reads the tracker back


def test_the_store_is_wrapped_once() -> None:
    store = _store()
    first = remember_readings(store)
    save = store.save
    assert remember_readings(store) is first and store.save is save
    first.expect("p3")
    asyncio.run(store.save(_tracker("p3", "greet", 0.7, None)))
    reading = first.take("p3")
    assert reading is not None and reading["intent"] == {"name": "greet", "confidence": 0.7}
    assert reading["slots"]["specialty"] is None
