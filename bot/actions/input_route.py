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

Options waiting for an answer: a booking/confirmation step keeps the buttons it showed in its
context (`choices` in booking_ctx / appointment_ctx) while its flow is active; a one-turn question
(the clarifying question, the "when is my appointment" menu) keeps them in slot `offered_options`
with the turn it was asked at, and they only count for the very next message. `read_message` and
`choices_after` are pure; the rest reads the tracker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clinic_nlu.dates import CLINIC_TZ
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import REASONS, clarification_candidates, clarifying_question
from actions.common import AWAITING_SLOT, OFFERED_SLOT, OTHER_FLOW_SLOT, REPLAY_KEY
from actions.handoff import user_intents
from actions.option_match import Option, match_option, parse_payload

log = logging.getLogger(__name__)

ROUTE_SLOT = "input_route"
ROUTE_OPTION = "option"
ROUTE_FLOW = "flow"
ROUTE_CLARIFY = "clarify"
ROUTE_UNCLEAR = "unclear"
KIND_CLARIFY = "clarify"
KIND_MENU = "menu"
# Flows whose steps keep their buttons in their context slot (actions/booking.py, confirmation.py).
FLOW_CTX_SLOTS = {"booking": "booking_ctx", "confirmation": "appointment_ctx"}
CHOICES_KEY = "choices"
# Intents that are answers to a waiting flow anyway (their rules already send them to it).
FLOW_ANSWER_INTENTS = frozenset(
    {"inform", "affirm", "deny", "nlu_fallback", "choose_slot", "choose_when", "choose_appointment"}
)
URGENT_INTENT = "urgent_symptom"
FALLBACK_INTENT = "nlu_fallback"
# At or above this confidence a different intent that names no option is a change of subject.
CONFIDENT = 0.6
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})


@dataclass(frozen=True)
class Reading:
    """How one message is read: `route` (None = its own rule), the `option` it names (route
    option), the `kind` of question that option belongs to, the two intents to ask about (route
    clarify)."""

    route: str | None = None
    option: Option | None = None
    kind: str | None = None
    candidates: tuple[str, str] | None = None


def usable_options(options: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """Buttons an answer can stand for: a title and an `/intent{...}` payload."""
    usable = []
    for option in options or []:
        title, payload = option.get("title"), option.get("payload")
        if isinstance(title, str) and title and isinstance(payload, str) and parse_payload(payload):
            usable.append({"title": title, "payload": payload})
    return usable


def has_red_flag(message: Mapping[str, Any]) -> bool:
    """Intent urgent_symptom or any `red_flag` entity: the urgent path, whatever else was said."""
    if ((message.get("intent") or {}).get("name")) == URGENT_INTENT:
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
    intent = (message.get("intent") or {}).get("name")
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


def choices_after(
    messages: Sequence[Mapping[str, Any]], previous: Sequence[Mapping[str, Any]] | None, same_step: bool
) -> list[dict[str, str]]:
    """The buttons a flow step now waits on: those of the last message it sent with buttons; when
    it sent none (e.g. "agenda indisponível, tente de novo") the previous ones if the step is the
    same, else none."""
    for message in reversed(messages):
        if message.get("buttons"):
            return usable_options(message.get("buttons"))
    return usable_options(previous) if same_step else []


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


def flow_ctx(tracker: Tracker) -> dict[str, Any] | None:
    """The context of the booking/confirmation flow waiting for an answer (None: none waits)."""
    slot = FLOW_CTX_SLOTS.get(str(tracker.get_slot(OTHER_FLOW_SLOT)))
    ctx = tracker.get_slot(slot) if slot else None
    return ctx if isinstance(ctx, dict) and ctx.get("step") else None


def one_turn_offer(tracker: Tracker) -> dict[str, Any] | None:
    """The one-turn question (`offered_options`) the latest message answers, if it was asked just
    before it."""
    offer = tracker.get_slot(OFFERED_SLOT)
    if not isinstance(offer, dict) or not offer.get("options"):
        return None
    try:
        asked_at = int(offer.get("turn"))
    except (TypeError, ValueError):
        return None
    return offer if asked_at == conversation_turn(tracker) - 1 else None


def pending_options(tracker: Tracker) -> tuple[list[dict[str, str]], str | None]:
    """The options the latest message may answer and their kind ("clarify", "menu", or the flow's
    name); the one-turn question first, it is the most recent."""
    offer = one_turn_offer(tracker)
    if offer is not None:
        return usable_options(offer.get("options")), str(offer.get("kind") or KIND_MENU)
    ctx = flow_ctx(tracker)
    if ctx is not None:
        return usable_options(ctx.get(CHOICES_KEY)), str(tracker.get_slot(OTHER_FLOW_SLOT))
    return [], None


def clinic_today() -> date:
    return datetime.now(CLINIC_TZ).date()


def reading_of(tracker: Tracker) -> Reading:
    """`read_message` for the tracker's latest message (what `action_read_input` decided)."""
    options, kind = pending_options(tracker)
    return read_message(
        tracker.latest_message or {},
        options=options,
        kind=kind,
        flow_waiting=flow_ctx(tracker) is not None,
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


def item_choice(tracker: Tracker, intent: str) -> dict[str, Any] | None:
    """While the bot waits for "which exam/price?" (slot awaiting_item = `intent`), the entities of
    the button of its question the typed answer names ("o primeiro", "o de glicemia"); the buttons
    are read from the bot's last messages."""
    if tracker.get_slot(AWAITING_SLOT) != intent:
        return None
    text = str((tracker.latest_message or {}).get("text") or "")
    buttons = [b for b in last_bot_buttons(tracker) if (parse_payload(b.get("payload", "")) or ("",))[0] == intent]
    chosen = match_option(text, usable_options(buttons), clinic_today()) if buttons else None
    parsed = parse_payload(str(chosen.get("payload"))) if chosen else None
    return parsed[1] if parsed and parsed[1] else None


def last_bot_buttons(tracker: Tracker) -> list[dict[str, Any]]:
    """The buttons of the bot's last message that had any, before the patient's latest message."""
    events = list(tracker.events)
    seen_latest_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                return []
            seen_latest_user = True
        elif kind == "bot" and seen_latest_user:
            buttons = (event.get("data") or {}).get("buttons")
            if buttons:
                return list(buttons)
    return []


# ------------------------------------------------------------------------------------------
# actions


class ActionReadInput(Action):
    """Sets `input_route` for the latest message (run by action_extract_slots, before the policies
    predict). Never fails: on any error the message follows its own rule."""

    def name(self) -> str:
        return "action_read_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            route = reading_of(tracker).route
        except Exception:  # noqa: BLE001 - reading must never block a message
            log.exception("reading the message failed; it follows its own rule")
            route = None
        return [SlotSet(ROUTE_SLOT, route)]


class ActionClarify(Action):
    """Unsure between two reasons: ask once which one, with a button for each."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reading = reading_of(tracker)
        if reading.route != ROUTE_CLARIFY or reading.candidates is None:
            from actions.handoff import ActionFallback  # the reading changed: plain fallback

            return await ActionFallback().run(dispatcher, tracker, domain)
        return ask_clarification(dispatcher, tracker, reading.candidates)
