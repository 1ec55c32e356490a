"""Handoff to humans: a control message the hub reads (never shown to the patient).

Every handoff (except the urgent one, see actions/urgent.py) checks the clinic's opening hours:
out of hours the patient is told the clinic is closed, that the request is registered and when a
person will answer; the handoff signal is still sent so the conversation waits in the queue.
Notes carry causes and codes only, never the patient's text. Messages the bot did not understand
(clarify once, rephrase, then hand off) are actions/fallback.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import latest_intent
from actions.formatting import parse_iso, when_br

log = logging.getLogger(__name__)


def handoff_signal(reason: str, priority: str = "normal", note: str = "") -> dict[str, Any]:
    """The `custom` payload the hub recognises as a handoff request (docs/CONTRACTS.md)."""
    return {"atende": {"handoff": {"reason": reason, "priority": priority, "note": note}}}


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
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
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
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
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


class ActionAcknowledge(Action):
    """A loose "sim"/"não" with no question pending (questions have their own conditioned rules,
    which are more specific and win): acknowledge and offer more help."""

    def name(self) -> str:
        return "action_acknowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        dispatcher.utter_message(response="utter_deny_ack" if intent == "deny" else "utter_affirm_ack")
        return []
