"""How a patient message is read BEFORE its NLU intent is trusted.

Rasa runs `action_read_input` on every user message, before any policy predicts (it is the custom
mapping of slot `input_route`, run by `action_extract_slots`). It sets the featurized slot
`input_route` and the rules in data/rules/input_route.yml route the message by it, whatever its
intent:

- `option`: the text names one of the options the bot is waiting on (option_match.py): number,
  ordinal, time, weekday/date, or the option's own words -> `action_flow_continue`, which replays
  the option's payload as the patient's message, exactly as if the button had been tapped
  ("o quanto antes" read by the NLU as a price question still answers "Para quando?");
- `flow`: a booking/confirmation flow waits and the intent is an unsure non-answer -> the flow
  reads it (and re-asks when it cannot use it). Only a clear change of subject (a confident other
  intent that names no option) follows its own rule; the flow then resumes with the next answer;
- `clarify`: unsure between two reasons (actions/clarify.py) -> `action_clarify` asks once;
- `unclear`: the answer to that question is unclear again -> `action_fallback` hands off;
- None: the intent's own rule. A red flag (intent `urgent_symptom` / entity `red_flag`) is always
  None, so the urgent rule wins at once.

Options waiting for an answer: a step flow keeps the buttons it showed in its context (`choices`
in booking_ctx / appointment_ctx, actions/flow.py) while it waits; a one-turn question (the
clarifying question, the "when is my appointment" menu) keeps them in slot `offered_options` with
the turn it was asked at, and they only count for the very next message. `read_message` is pure;
the rest reads the tracker. `action_flow_continue` (here) takes every answer while a flow waits:
an option is replayed as its payload, anything else goes to the waiting flow (`flow.continue_flow`).
The actions for messages not understood are in actions/fallback.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rasa_sdk.events import ActionExecuted, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clarify import FALLBACK_INTENT, REASONS, URGENT_INTENT, clarification_candidates, clarifying_question
from actions.clinic_api import ClinicApi
from actions.common import NOT_UNDERSTOOD, OFFERED_SLOT, REPLAY_KEY, intent_of, user_intents
from actions.consent import consent_answer, require_consent
from actions.flow import CHOICES_KEY, FLOW_SLOT, clinic_today, continue_flow, flow_for, waiting_ctx
from actions.option_match import Option, match_option, parse_payload, usable_options

log = logging.getLogger(__name__)

ROUTE_SLOT = "input_route"
ROUTE_OPTION = "option"
ROUTE_FLOW = "flow"
ROUTE_CLARIFY = "clarify"
ROUTE_UNCLEAR = "unclear"
KIND_CLARIFY = "clarify"
KIND_MENU = "menu"
# Intents that are answers to a waiting flow anyway (their rules already send them to it).
FLOW_ANSWER_INTENTS = frozenset(
    {"inform", "affirm", "deny", "nlu_fallback", "choose_slot", "choose_when", "choose_appointment"}
)
# At or above this confidence a different intent that names no option is a change of subject.
CONFIDENT = 0.6


@dataclass(frozen=True)
class Reading:
    """How one message is read: `route` (None = its own rule), the `option` it names (route
    option), the `kind` of question that option belongs to, the two intents to ask about (route
    clarify)."""

    route: str | None = None
    option: Option | None = None
    kind: str | None = None
    candidates: tuple[str, str] | None = None


def has_red_flag(message: Mapping[str, Any]) -> bool:
    """Intent urgent_symptom or any `red_flag` entity: the urgent path, whatever else was said."""
    if intent_of(message) == URGENT_INTENT:
        return True
    return any(e.get("entity") == "red_flag" for e in message.get("entities") or [])


def read_message(
    message: Mapping[str, Any],
    *,
    options: Sequence[Option] = (),
    kind: str | None = None,
    flow_waiting: bool = False,
    previous_unclear: bool = False,
    reasons: Mapping[str, str] | None = None,
    today: date | None = None,
) -> Reading:
    """Route one parsed message (Rasa parse_data: text, intent, intent_ranking, entities).

    `options`: the buttons the bot waits on (`kind` "clarify" when they are the clarifying
    question's); `flow_waiting`: a booking/confirmation step waits for an answer;
    `previous_unclear`: the previous message was not understood (no clarifying question then)."""
    text = str(message.get("text") or "")
    if not text.strip() or text.lstrip().startswith("/") or message.get(REPLAY_KEY):
        return Reading()  # a button payload, or a message already read
    if has_red_flag(message):
        return Reading()
    intent = intent_of(message)
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    chosen = match_option(text, usable_options(options), today) if options else None
    if chosen is not None:
        return Reading(ROUTE_OPTION, option=chosen, kind=kind)
    ranking = message.get("intent_ranking") or []
    if kind == KIND_CLARIFY:
        # the answer to our clarifying question: asked once; unclear again -> fallback/handoff
        if intent == FALLBACK_INTENT or clarification_candidates(ranking, reasons):
            return Reading(ROUTE_UNCLEAR)
        return Reading()
    if flow_waiting:
        if intent not in FLOW_ANSWER_INTENTS and confidence < CONFIDENT:
            return Reading(ROUTE_FLOW)
        return Reading()
    candidates = clarification_candidates(ranking, reasons, previous_unclear=previous_unclear)
    if candidates is not None:
        return Reading(ROUTE_CLARIFY, candidates=candidates)
    return Reading()


# ------------------------------------------------------------------------------------------
# reading the tracker


def conversation_turn(tracker: Tracker) -> int:
    """How many messages the patient sent (a replayed message is the same turn)."""
    return sum(
        1 for e in tracker.events if e.get("event") == "user" and not (e.get("parse_data") or {}).get(REPLAY_KEY)
    )


def previous_unclear(tracker: Tracker) -> bool:
    """Was the patient's previous message one the bot did not understand?"""
    earlier = user_intents(tracker)[:-1]
    return bool(earlier) and earlier[-1] in NOT_UNDERSTOOD


def one_turn_offer(tracker: Tracker) -> dict[str, Any] | None:
    """The one-turn question (`offered_options`) the latest message answers, if it was asked just
    before it."""
    offer = tracker.get_slot(OFFERED_SLOT)
    if not isinstance(offer, dict) or not offer.get("options"):
        return None
    try:
        asked_at = int(offer["turn"])
    except (KeyError, TypeError, ValueError):
        return None
    return offer if asked_at == conversation_turn(tracker) - 1 else None


def pending_options(tracker: Tracker) -> tuple[list[dict[str, str]], str | None]:
    """The options the latest message may answer and their kind ("clarify", "menu", or the flow's
    name); the one-turn question first, it is the most recent."""
    offer = one_turn_offer(tracker)
    if offer is not None:
        return usable_options(offer.get("options")), str(offer.get("kind") or KIND_MENU)
    ctx = waiting_ctx(tracker)
    if ctx is not None:
        return usable_options(ctx.get(CHOICES_KEY)), str(tracker.get_slot(FLOW_SLOT))
    return [], None


def reading_of(tracker: Tracker) -> Reading:
    """`read_message` for the tracker's latest message (what `action_read_input` decided)."""
    options, kind = pending_options(tracker)
    return read_message(
        tracker.latest_message or {},
        options=options,
        kind=kind,
        flow_waiting=waiting_ctx(tracker) is not None,
        previous_unclear=previous_unclear(tracker),
        reasons=REASONS,
        today=clinic_today(),
    )


# ------------------------------------------------------------------------------------------
# events


def option_replay(message: Mapping[str, Any], option: Option) -> list[EventType]:
    """Listen + the patient's message again, now carrying the option's payload intent and entities
    (the original entities are kept unless the payload sets the same one), so the option's rule
    runs exactly as for a tap on its button. The text stays the patient's."""
    parsed = parse_payload(str(option.get("payload") or ""))
    if parsed is None:
        return []
    intent, values = parsed
    entities = [{"entity": k, "value": v} for k, v in values.items()]
    entities += [e for e in message.get("entities") or [] if e.get("entity") not in values]
    original = message.get("intent") or {}
    metadata = message.get("metadata") or {}
    parse = {
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": entities,
        "text": message.get("text"),
        "metadata": metadata,
        REPLAY_KEY: {
            "option": option.get("title"),
            "intent": original.get("name"),
            "confidence": original.get("confidence"),
        },
    }
    user = {
        "event": "user",
        "timestamp": None,
        "text": message.get("text"),
        "parse_data": parse,
        "input_channel": message.get("input_channel"),
        "metadata": metadata,
    }
    return [ActionExecuted("action_listen"), user]


def offer_events(tracker: Tracker, kind: str, buttons: Sequence[Mapping[str, Any]]) -> list[EventType]:
    """Remember a one-turn question's buttons: only the next message is read against them."""
    options = usable_options(buttons)
    if not options:
        return []
    return [SlotSet(OFFERED_SLOT, {"kind": kind, "turn": conversation_turn(tracker), "options": options})]


def answer_with_option(tracker: Tracker, reading: Reading) -> list[EventType]:
    """Events for a message read as one of the offered options (route `option`)."""
    events: list[EventType] = []
    if reading.kind in (KIND_CLARIFY, KIND_MENU):
        events.append(SlotSet(OFFERED_SLOT, None))  # answered: no longer on screen
    return events + option_replay(tracker.latest_message or {}, reading.option or {})


def ask_clarification(
    dispatcher: CollectingDispatcher, tracker: Tracker, candidates: tuple[str, str]
) -> list[EventType]:
    """"Só para eu entender: você quer X ou Y?" with a button for each; remembered for one turn."""
    values, buttons = clarifying_question(candidates)
    dispatcher.utter_message(response="utter_clarify_reason", buttons=buttons, **values)
    return offer_events(tracker, KIND_CLARIFY, buttons)


# ------------------------------------------------------------------------------------------
# actions


class ActionReadInput(Action):
    """Sets `input_route` for the latest message (run by action_extract_slots, before the policies
    predict). Never fails: on any error the message follows its own rule."""

    def name(self) -> str:
        return "action_read_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            route = reading_of(tracker).route
        except Exception:  # reading must never block a message
            log.exception("reading the message failed; it follows its own rule")
            route = None
        return [SlotSet(ROUTE_SLOT, route)]


class ActionFlowContinue(Action):
    """Any answer while a step flow waits, and the flows' buttons. A message read as one of the
    offered options (slot input_route = option) is replayed as that option's payload, whatever its
    intent; anything else goes to the flow that waits for it (actions/flow.py)."""

    def name(self) -> str:
        return "action_flow_continue"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        handed = consent_answer(tracker)
        if handed is not None:
            return handed
        if tracker.get_slot(ROUTE_SLOT) == ROUTE_OPTION:
            # the text names one of the offered options: it answers as that button would
            reading = reading_of(tracker)
            if reading.route == ROUTE_OPTION and reading.option is not None:
                return answer_with_option(tracker, reading)
        api = ClinicApi()
        flow = flow_for(tracker, intent_of(tracker.latest_message or {}))
        if flow is None or flow.needs_consent:
            gate = await require_consent(dispatcher, tracker, api)
            if gate is not None:
                return gate
        return await continue_flow(dispatcher, tracker, api)
