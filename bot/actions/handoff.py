"""Handoff to humans: a control message the hub reads (never shown to the patient).

Every handoff (except the urgent one, see actions/urgent.py) checks the clinic's opening hours:
out of hours the patient is told the clinic is closed, that the request is registered and when a
person will answer; the handoff signal is still sent so the conversation waits in the queue.
Notes carry causes and codes only, never the patient's text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import REPLAY_KEY
from actions.formatting import parse_iso, when_br

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
NOT_HANDLED = frozenset({FALLBACK_INTENT, OUT_OF_SCOPE_INTENT})
MISUNDERSTANDINGS_BEFORE_HANDOFF = 2


def handoff_signal(reason: str, priority: str = "normal", note: str = "") -> dict[str, Any]:
    """The `custom` payload the hub recognises as a handoff request (docs/CONTRACTS.md)."""
    return {"atende": {"handoff": {"reason": reason, "priority": priority, "note": note}}}


def consecutive_misunderstandings(
    user_intents: list[str | None], kinds: frozenset[str] | set[str] = frozenset({FALLBACK_INTENT})
) -> int:
    """How many of the latest user messages in a row the bot did not understand."""
    count = 0
    for intent in reversed(user_intents):
        if intent not in kinds:
            break
        count += 1
    return count


def user_intents(tracker: Tracker) -> list[str | None]:
    """The intent of every user message so far, oldest first. A message an action replayed (a
    typed answer read as the option it names, actions/input_route.py) replaces the one it was read
    from: both are one patient message."""
    intents: list[str | None] = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        name = (parse.get("intent") or {}).get("name")
        if parse.get(REPLAY_KEY) and intents:
            intents[-1] = name
        else:
            intents.append(name)
    return intents


def closed_until(info: dict[str, Any] | None, now: datetime | None = None) -> str | None:
    """None while the clinic is open (or unknown); else when a person will answer, in pt-BR
    (`amanhã às 8h`), or `assim que a clínica abrir` when the next opening is unknown."""
    if not info or info.get("is_open_now") is not False:
        return None
    opening = parse_iso(info.get("next_opening"))
    if opening is None:
        return "assim que a clínica abrir"
    return when_br(opening, now)


async def clinic_info(api: ClinicApi) -> dict[str, Any] | None:
    """The clinic info, or None when the hub cannot answer (handoffs still go through)."""
    try:
        return await api.info()
    except ClinicApiError as exc:
        log.warning("clinic info failed: status=%s code=%s", exc.status, exc.code)
        return None


async def hand_off(
    dispatcher: CollectingDispatcher,
    api: ClinicApi,
    *,
    reason: str,
    priority: str = "normal",
    note: str = "",
    open_response: str = "utter_handoff",
    closed_prefix: str | None = None,
    **template_vars: Any,
) -> None:
    """Tell the patient (open hours: `open_response`; closed: an optional `closed_prefix`
    response then `utter_handoff_closed`) and signal the hub. `template_vars` fill the responses."""
    when = closed_until(await clinic_info(api))
    if when is None:
        dispatcher.utter_message(response=open_response, **template_vars)
    else:
        if closed_prefix:
            dispatcher.utter_message(response=closed_prefix, **template_vars)
        dispatcher.utter_message(response="utter_handoff_closed", when=when)
        note = f"{note}; fora do horário" if note else "fora do horário"
    dispatcher.utter_message(json_message=handoff_signal(reason, priority, note))


class ActionHandoff(Action):
    """The patient asked for a person: tell them (hours-aware), then signal the hub."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # After refusing consent the team must know the bot could not process this patient's data.
        refused = tracker.get_slot("consent") is False
        await hand_off(
            dispatcher,
            ClinicApi(),
            reason="consent_refused" if refused else "human",
            note="paciente pediu atendente" + ("; recusou consentimento" if refused else ""),
            open_response="utter_handoff_human",
        )
        return []


class ActionComplain(Action):
    """A complaint: acknowledge it warmly and hand off with high priority."""

    def name(self) -> str:
        return "action_complain"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        await hand_off(
            dispatcher,
            ClinicApi(),
            reason="complain",
            priority="high",
            note="reclamação",
            open_response="utter_handoff_complain",
            closed_prefix="utter_complain_sorry",
        )
        return []


class ActionFallback(Action):
    """First misunderstanding: ask which of two reasons the patient means when the NLU hesitated
    between two (actions/clarify.py), else ask to rephrase. Second in a row (including an unclear
    answer to that clarifying question): hand off."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from actions.input_route import ROUTE_CLARIFY, ROUTE_UNCLEAR, ask_clarification, reading_of

        reading = reading_of(tracker)
        if reading.route == ROUTE_UNCLEAR:
            await hand_off(
                dispatcher, ClinicApi(), reason="misunderstood",
                note="mensagem não compreendida após pergunta de esclarecimento",
            )
            return []
        if consecutive_misunderstandings(user_intents(tracker), NOT_HANDLED) >= MISUNDERSTANDINGS_BEFORE_HANDOFF:
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if consecutive_misunderstandings(user_intents(tracker), NOT_HANDLED) >= MISUNDERSTANDINGS_BEFORE_HANDOFF:
            await hand_off(dispatcher, ClinicApi(), reason="out_of_scope", note="pedido fora do escopo do bot")
        else:
            dispatcher.utter_message(response="utter_out_of_scope")
        return []


class ActionAcknowledge(Action):
    """A loose "sim"/"não" with no question pending (questions have their own conditioned rules,
    which are more specific and win): acknowledge and offer more help."""

    def name(self) -> str:
        return "action_acknowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        dispatcher.utter_message(response="utter_deny_ack" if intent == "deny" else "utter_affirm_ack")
        return []
