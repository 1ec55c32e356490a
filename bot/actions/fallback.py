"""Messages the bot did not understand: ask once which of two reasons the patient means when the
NLU hesitated between two (actions/clarify.py, routed by actions/input_route.py), else ask to
rephrase; the second misunderstanding in a row hands off (actions/handoff.py)."""

from __future__ import annotations

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi
from actions.common import NOT_UNDERSTOOD, user_intents
from actions.handoff import hand_off
from actions.input_route import ROUTE_CLARIFY, ROUTE_UNCLEAR, ask_clarification, reading_of

MISUNDERSTANDINGS_BEFORE_HANDOFF = 2


def consecutive_misunderstandings(
    user_intents: list[str | None], kinds: frozenset[str] | set[str] = frozenset({"nlu_fallback"})
) -> int:
    """How many of the latest user messages in a row the bot did not understand."""
    count = 0
    for intent in reversed(user_intents):
        if intent not in kinds:
            break
        count += 1
    return count


def misunderstood_twice(tracker: Tracker) -> bool:
    """The latest message is the second in a row the bot did not understand."""
    return consecutive_misunderstandings(user_intents(tracker), NOT_UNDERSTOOD) >= MISUNDERSTANDINGS_BEFORE_HANDOFF


class ActionFallback(Action):
    """First misunderstanding: ask which of two reasons the patient means when the NLU hesitated
    between two (actions/clarify.py), else ask to rephrase. Second in a row (including an unclear
    answer to that clarifying question): hand off."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reading = reading_of(tracker)
        if reading.route == ROUTE_UNCLEAR:
            await hand_off(
                dispatcher, ClinicApi(), reason="misunderstood",
                note="mensagem não compreendida após pergunta de esclarecimento",
            )  # fmt: skip
            return []
        if misunderstood_twice(tracker):
            await hand_off(
                dispatcher, ClinicApi(), reason="misunderstood", note="duas mensagens seguidas não compreendidas"
            )
            return []
        if reading.route == ROUTE_CLARIFY and reading.candidates is not None:
            return ask_clarification(dispatcher, tracker, reading.candidates)
        dispatcher.utter_message(response="utter_rephrase_options")
        return []


class ActionOutOfScope(Action):
    """Something the bot does not handle: say what it can do; the second in a row hands off."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if misunderstood_twice(tracker):
            await hand_off(dispatcher, ClinicApi(), reason="out_of_scope", note="pedido fora do escopo do bot")
        else:
            dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionClarify(Action):
    """Unsure between two reasons: ask once which one, with a button for each."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reading = reading_of(tracker)
        if reading.route != ROUTE_CLARIFY or reading.candidates is None:
            # the reading changed: plain fallback
            return await ActionFallback().run(dispatcher, tracker, domain)
        return ask_clarification(dispatcher, tracker, reading.candidates)
