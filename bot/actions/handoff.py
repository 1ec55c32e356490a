"""Handoff to humans: a control message the hub reads (never shown to the patient)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

FALLBACK_INTENT = "nlu_fallback"
MISUNDERSTANDINGS_BEFORE_HANDOFF = 2


def handoff_signal(reason: str, priority: str = "normal", note: str = "") -> dict[str, Any]:
    """The `custom` payload the hub recognises as a handoff request (docs/architecture.md)."""
    return {"atende": {"handoff": {"reason": reason, "priority": priority, "note": note}}}


def consecutive_misunderstandings(user_intents: list[str | None]) -> int:
    """How many of the latest user messages in a row the bot did not understand."""
    count = 0
    for intent in reversed(user_intents):
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


def _user_intents(tracker: Tracker) -> list[str | None]:
    return [
        (e.get("parse_data") or {}).get("intent", {}).get("name")
        for e in tracker.events
        if e.get("event") == "user"
    ]


class ActionHandoff(Action):
    """The patient asked for a person: tell them, then signal the hub."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_handoff")
        dispatcher.utter_message(json_message=handoff_signal("human", note="paciente pediu atendente"))
        return []


class ActionFallback(Action):
    """First misunderstanding: ask to rephrase. Second in a row: hand off."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if consecutive_misunderstandings(_user_intents(tracker)) >= MISUNDERSTANDINGS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_handoff")
            dispatcher.utter_message(
                json_message=handoff_signal("misunderstood", note="duas mensagens seguidas não compreendidas")
            )
        else:
            dispatcher.utter_message(response="utter_rephrase")
        return []
