"""Helpers to run custom actions for real in tests: a rasa_sdk Tracker built from plain data, the
merged domain from bot/domain/, and rendering of the responses an action uttered."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import yaml

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
if str(BOT_DIR) not in sys.path:
    sys.path.insert(0, str(BOT_DIR))

from rasa_sdk.executor import CollectingDispatcher  # noqa: E402
from rasa_sdk.interfaces import Action, Tracker  # noqa: E402
from rasa_sdk.types import DomainDict  # noqa: E402


def load_domain() -> DomainDict:
    """bot/domain/*.yml merged the simple way (responses, slots, actions)."""
    domain = DomainDict(intents=[], entities=[], slots={}, responses={}, actions=[], forms={})
    for path in sorted((BOT_DIR / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        domain["responses"].update(data.get("responses") or {})
        domain["slots"].update(data.get("slots") or {})
        domain["actions"] += data.get("actions") or []
    return domain


DOMAIN = load_domain()


def user_event(
    intent: str, text: str = "", entities: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    parse = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "text": text,
        "metadata": metadata or {},
    }
    return {"event": "user", "text": text, "parse_data": parse, "metadata": metadata or {}, "input_channel": "rest"}


def make_tracker(
    intent: str,
    text: str = "",
    entities: dict[str, str] | list[tuple[str, str]] | None = None,
    slots: dict[str, Any] | None = None,
    patient_id: int | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest user message has `intent`, `entities` ({entity: value}) and metadata."""
    pairs = list(entities.items()) if isinstance(entities, dict) else list(entities or [])
    ents = [{"entity": k, "value": v} for k, v in pairs]
    metadata = {"patient_id": patient_id, "channel": "webchat"} if patient_id is not None else {}
    latest = user_event(intent, text, ents, metadata)
    events = [*(history or []), latest]
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update(slots or {})
    return Tracker(
        sender_id="test",
        slots=all_slots,
        latest_message=latest["parse_data"],
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run_action(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one action for real; returns (dispatched messages, returned events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def render(message: dict[str, Any]) -> str:
    """The text a dispatched message shows: a response template filled with its kwargs, or text."""
    if message.get("response"):
        variations = DOMAIN["responses"].get(message["response"])
        assert variations, f"response {message['response']} is not in the domain"
        template = variations[0].get("text", "")
        return re.sub(r"\{(\w+)\}", lambda m: str(message.get(m.group(1), m.group(0))), template)
    return str(message.get("text") or "")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Buttons of a dispatched message (its own plus the response template's)."""
    own = list(message.get("buttons") or [])
    if message.get("response"):
        own += list((DOMAIN["responses"][message["response"]][0] or {}).get("buttons") or [])
    return own


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [render(m) for m in messages if not m.get("custom")]


def signals(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `custom.atende` control signals among the messages."""
    return [m["custom"]["atende"] for m in messages if isinstance(m.get("custom"), dict) and "atende" in m["custom"]]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
