"""Reason `other`: greeting (with the privacy notice on first contact) and clinic information
(address, hours, parking, accessibility) from `GET /api/clinic/info`.

Public clinic information processes no personal data, so it is answered without the consent gate;
on first contact the privacy notice is shown after the answer (non-blocking).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import latest_intent
from actions.consent import consent_status, notice_events, notice_on_first_contact
from actions.flow import unavailable
from actions.handoff import closed_until

INFO_INTENTS = ("clinic_address", "clinic_hours", "clinic_parking", "clinic_accessibility")


def response_text(domain: Mapping[str, Any], name: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and buttons of the first variation of a domain response ("" and [] when missing)."""
    variations = (domain.get("responses") or {}).get(name) or [{}]
    first = variations[0] or {}
    return str(first.get("text") or ""), list(first.get("buttons") or [])


def first_contact_greeting(domain: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """One bubble: the greeting's first sentence then the privacy notice, with the notice's buttons."""
    greet, _ = response_text(domain, "utter_greet_first")
    notice, buttons = response_text(domain, "utter_privacy_notice")
    return f"{greet}\n\n{notice}".strip(), buttons


def maps_link(address: str) -> str:
    return "https://www.google.com/maps/search/?api=1&query=" + quote_plus(address)


def info_message(intent: str | None, info: dict[str, Any]) -> str:
    """The answer to one clinic-info question (pt-BR, WhatsApp style)."""
    name = info.get("name") or "Clínica"
    if intent == "clinic_hours":
        text = f"🕒 Nosso horário de atendimento:\n{info.get('hours_text') or ''}".rstrip()
        if info.get("holiday_today"):
            text += f"\nHoje é feriado ({info['holiday_today']}) 🎉"
        if info.get("is_open_now") is True:
            text += "\nEstamos abertos agora ✅"
        else:
            when = closed_until(info)
            if when:
                text += f"\nAgora estamos fechados. Abrimos {when}."
        return text
    if intent == "clinic_parking":
        return f"🚗 {info.get('parking') or 'Não temos informação de estacionamento no momento.'}"
    if intent == "clinic_accessibility":
        return f"♿ {info.get('accessibility') or 'Não temos informação de acessibilidade no momento.'}"
    address = str(info.get("address") or "")
    lines = [f"📍 {name}", address]
    if address:
        lines.append(f"Mapa: {maps_link(address)}")
    if info.get("phone"):
        lines.append(f"📞 {info['phone']}")
    return "\n".join(line for line in lines if line)


class ActionGreet(Action):
    """Greeting; on first contact (no consent decision recorded) greeting + privacy notice."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        status = await consent_status(tracker, ClinicApi())
        if status is None:
            text, buttons = first_contact_greeting(domain)
            dispatcher.utter_message(text=text, buttons=buttons)
            return notice_events(None)
        dispatcher.utter_message(response="utter_greet")
        return []


class ActionClinicInfo(Action):
    """Address, hours, parking or accessibility, depending on the intent."""

    def name(self) -> str:
        return "action_clinic_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        try:
            info = await api.info()
        except ClinicApiError as exc:
            return unavailable(dispatcher, exc, "clinic info")
        intent = latest_intent(tracker)
        dispatcher.utter_message(text=info_message(intent, info))
        return await notice_on_first_contact(dispatcher, tracker, api)
