"""Small helpers shared by the exams, billing and clinic-info actions."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

# Categorical slot (actions/exams.py, actions/billing.py): the bot asked "which exam/specialty?"
# and a bare answer ("hemograma", intent `inform`) goes back to the action that asked.
AWAITING_SLOT = "awaiting_item"
# The booking/confirmation flows' "waiting for an answer" slot (actions/booking.py): when we ask
# our own question, theirs is no longer the one being answered (they clear ours symmetrically).
OTHER_FLOW_SLOT = "active_flow"
# The buttons of a one-turn question the bot asked outside the booking/confirmation steps (those
# keep theirs in their context): {"kind": "clarify"|"menu", "turn", "options"} (actions/input_route.py).
OFFERED_SLOT = "offered_options"
# Key in the parse_data of a message an action replays (a typed answer read as the option it
# names, actions/input_route.py): the replay and the message it replaces are one patient turn.
REPLAY_KEY = "atende_read_as"


def ask_events(tracker: Tracker, question: str) -> list[dict[str, Any]]:
    """Slot events for "the bot now waits for an answer to `question`"."""
    events = [SlotSet(AWAITING_SLOT, question)]
    if tracker.get_slot(OTHER_FLOW_SLOT) is not None:
        events.append(SlotSet(OTHER_FLOW_SLOT, None))
    return events


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Distinct values of one entity in the latest message, in order of appearance."""
    seen: list[str] = []
    for e in tracker.latest_message.get("entities") or []:
        value = e.get("value")
        if e.get("entity") == entity and isinstance(value, str) and value and value not in seen:
            seen.append(value)
    return seen


def slugify(text: str) -> str:
    """"Bradesco Saúde" -> "bradesco_saude" (to match entity values against API slugs/names)."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def find_by_slug(items: list[dict[str, Any]], value: str) -> dict[str, Any] | None:
    """The item whose slug (or slugified name) equals the slugified value."""
    wanted = slugify(value)
    for item in items:
        if slugify(str(item.get("slug") or "")) == wanted or slugify(str(item.get("name") or "")) == wanted:
            return item
    return None


def intent_button(title: str, intent: str, **entities: str) -> dict[str, str]:
    """A quick-reply button whose payload triggers `intent` with entities, bypassing NLU."""
    payload = "/" + intent
    if entities:
        inner = ",".join(f'"{k}":"{v}"' for k, v in entities.items())
        payload += "{" + inner + "}"
    return {"title": title, "payload": payload}
