"""Small helpers every flow shares: reading a message (intent, text, entities), matching names to
clinic slugs, quick-reply buttons, the patient's intents so far. Pure or read-only on the tracker."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from rasa_sdk.interfaces import Tracker

# The buttons of a one-turn question the bot asked outside the booking/confirmation steps (those
# keep theirs in their context): {"kind": "clarify"|"menu", "turn", "options"} (actions/input_route.py).
OFFERED_SLOT = "offered_options"
# Key in the parse_data of a message an action replays (a typed answer read as the option it
# names, actions/input_route.py): the replay and the message it replaces are one patient turn.
REPLAY_KEY = "atende_read_as"
# Intents of a message the bot did not understand (the second in a row hands off, actions/fallback.py).
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})

HUMAN_BUTTON = {"title": "Falar com atendente", "payload": "/request_human"}
YES_NO_BUTTONS = [{"title": "Sim", "payload": "/affirm"}, {"title": "Não", "payload": "/deny"}]


def intent_of(message: Mapping[str, Any]) -> str | None:
    """The intent name of a parsed message (None when it has none)."""
    name = (message.get("intent") or {}).get("name")
    return str(name) if name is not None else None


def latest_intent(tracker: Tracker) -> str | None:
    return intent_of(tracker.latest_message or {})


def message_text(message: Mapping[str, Any]) -> str:
    """The patient's words (empty for button payloads like /choose_slot{...})."""
    text = str(message.get("text") or "")
    return "" if text.startswith("/") else text


def entity_value(message: Mapping[str, Any], name: str) -> Any:
    """The first non-empty value of entity `name` in a parsed message (None when absent)."""
    for entity in message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value") not in (None, ""):
            return entity.get("value")
    return None


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Distinct values of one entity in the latest message, in order of appearance."""
    seen: list[str] = []
    for e in tracker.latest_message.get("entities") or []:
        value = e.get("value")
        if e.get("entity") == entity and isinstance(value, str) and value and value not in seen:
            seen.append(value)
    return seen


def user_intents(tracker: Tracker) -> list[str | None]:
    """The intent of every user message so far, oldest first. A message an action replayed (a
    typed answer read as the option it names, actions/input_route.py) replaces the one it was read
    from: both are one patient message."""
    intents: list[str | None] = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        name = intent_of(parse)
        if parse.get(REPLAY_KEY) and intents:
            intents[-1] = name
        else:
            intents.append(name)
    return intents


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
