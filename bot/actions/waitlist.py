"""The patient's side of the waitlist (issue 15 item 3; docs/CONTRACTS.md, "Waitlist").

Three one-turn actions, each reached only by a button payload (no NLU examples):

- `waitlist_join{"specialty":"<slug>","doctor_id":"<id or empty>"}`: the booking flow's button when
  no time is free in the window asked (actions/booking_offer.py). Puts the patient on the list
  (`POST /api/clinic/waitlist`) and ends the booking flow that showed the button; "already on the
  list" is said as such.
- `waitlist_accept{"offer_id":"<id>"}`: the hub's offer message ("Quero este horário"). Books the held
  slot (`POST …/offers/<id>/accept`); when the hold ended, the offer was answered already or the
  slot could not be booked (409), apologises and offers to look for other times.
- `waitlist_decline{"offer_id":"<id>"}` ("Não, obrigado"): frees the slot for the next patient.

Join and accept use the patient's data and pass the consent gate first (actions/consent.py); a
"no, thanks" does not need it. A step flow waiting for an answer (booking, confirmation…) is left
as it is by accept/decline: the offer came from the hub, not from that flow's question. Logs carry
status and error codes only.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi, ClinicApiError, patient_id
from actions.common import HUMAN_BUTTON, entity_value, intent_button
from actions.consent import require_consent
from actions.flow import FLOW_SLOT, unavailable
from actions.formatting import long_when, parse_dt
from actions.handoff import hand_off

log = logging.getLogger(__name__)

# the booking flow (actions/booking.py) whose "no free times" message carries the join button
BOOKING_FLOW = "booking"
BOOKING_CTX_SLOT = "booking_ctx"
# 409s of accept/decline: the offer is no longer this patient's to take
OFFER_GONE = frozenset({"offer_closed", "slot_taken", "offer_not_found"})
# the hub's conversation ids (= the Rasa sender) are UUIDs; anything longer is not one of them
CONVERSATION_ID_MAX = 36
OTHER_TIMES_BUTTON = {"title": "Ver outros horários", "payload": "/book_appointment"}


def _int_or_none(value: Any) -> int | None:
    """A button entity as an id: "12" -> 12; "", None, "abc" -> None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def offer_id_of(tracker: Tracker) -> int | None:
    """The offer the tapped button names (entity `offer_id`)."""
    return _int_or_none(entity_value(tracker.latest_message or {}, "offer_id"))


async def _no_patient(dispatcher: CollectingDispatcher, api: ClinicApi) -> list[EventType]:
    """No patient behind the conversation: a person takes over."""
    dispatcher.utter_message(response="utter_booking_no_identity")
    await hand_off(dispatcher, api, reason="human", note="lista de espera: paciente sem identificação")
    return []


class ActionWaitlistAccept(Action):
    """The offer's "Quero este horário": book the slot the offer holds for this patient."""

    def name(self) -> str:
        return "action_waitlist_accept"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        api = ClinicApi()
        gate = await require_consent(dispatcher, tracker, api)
        if gate is not None:
            return gate
        pid, offer = patient_id(tracker), offer_id_of(tracker)
        if pid is None:
            return await _no_patient(dispatcher, api)
        if offer is None:
            dispatcher.utter_message(response="utter_waitlist_offer_gone", buttons=[OTHER_TIMES_BUTTON, HUMAN_BUTTON])
            return []
        try:
            appt = await api.waitlist_accept(offer, pid)
        except ClinicApiError as exc:
            if exc.code in OFFER_GONE or exc.status == 404:
                log.info("waitlist accept refused: status=%s code=%s", exc.status, exc.code)
                dispatcher.utter_message(
                    response="utter_waitlist_offer_gone", buttons=[OTHER_TIMES_BUTTON, HUMAN_BUTTON]
                )
                return []
            return unavailable(dispatcher, exc, "waitlist accept")
        start = parse_dt(appt.get("start"))
        dispatcher.utter_message(
            response="utter_waitlist_booked",
            when=long_when(start) if start else "",
            doctor=str(appt.get("doctor_name") or ""),
        )
        return []


class ActionWaitlistDecline(Action):
    """The offer's "Não, obrigado": the slot goes to the next patient on the list."""

    def name(self) -> str:
        return "action_waitlist_decline"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        api = ClinicApi()
        pid, offer = patient_id(tracker), offer_id_of(tracker)
        if offer is not None:
            try:
                await api.waitlist_decline(offer, pid)
            except ClinicApiError as exc:
                if not (exc.code in OFFER_GONE or exc.status == 404):
                    return unavailable(dispatcher, exc, "waitlist decline")
                # the hold ended or was answered already: nothing to free, the thanks still fit
                log.info("waitlist decline: status=%s code=%s", exc.status, exc.code)
        dispatcher.utter_message(response="utter_waitlist_declined")
        return []


class ActionWaitlistJoin(Action):
    """The booking flow's "Entrar na lista de espera": put the patient on the list of the specialty (and doctor)."""

    def name(self) -> str:
        return "action_waitlist_join"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        api = ClinicApi()
        gate = await require_consent(dispatcher, tracker, api)
        if gate is not None:
            return gate
        message = tracker.latest_message or {}
        booking = tracker.get_slot(BOOKING_CTX_SLOT)
        booking = booking if isinstance(booking, dict) else {}
        specialty = str(entity_value(message, "specialty") or booking.get("specialty") or "")
        doctor = _int_or_none(entity_value(message, "doctor_id"))
        pid = patient_id(tracker)
        if pid is None:
            return await _no_patient(dispatcher, api)
        try:
            specialties = await api.specialties()
            names = {str(s.get("slug")): str(s.get("name")) for s in specialties}
            if specialty not in names:
                # no (known) specialty on the button: ask which, each answer a join button
                buttons = [
                    intent_button(name, "waitlist_join", specialty=slug, doctor_id="") for slug, name in names.items()
                ]
                dispatcher.utter_message(response="utter_waitlist_which_specialty", buttons=buttons)
                return []
            conv = tracker.sender_id if tracker.sender_id and len(tracker.sender_id) <= CONVERSATION_ID_MAX else ""
            joined = await self._join(api, pid, specialty, doctor, conv)
        except ClinicApiError as exc:
            if exc.code == "patient_not_found":
                return await _no_patient(dispatcher, api)
            return unavailable(dispatcher, exc, "waitlist join")
        response = "utter_waitlist_joined" if joined.get("created") else "utter_waitlist_already"
        dispatcher.utter_message(response=response, specialty=names[specialty])
        return self._leave_booking(tracker)

    @staticmethod
    async def _join(api: ClinicApi, pid: int, specialty: str, doctor: int | None, conv: str) -> dict[str, Any]:
        """Join for the doctor named; when that doctor is unknown or of another specialty, for the
        whole specialty (the patient asked for the specialty in the first place)."""
        try:
            return await api.waitlist_join(pid, specialty, doctor, conversation_id=conv or None)
        except ClinicApiError as exc:
            if doctor is None or exc.code not in ("doctor_not_found", "specialty_mismatch"):
                raise
            return await api.waitlist_join(pid, specialty, None, conversation_id=conv or None)

    @staticmethod
    def _leave_booking(tracker: Tracker) -> list[EventType]:
        """The booking flow that offered the list is over: the patient chose to wait."""
        if tracker.get_slot(FLOW_SLOT) != BOOKING_FLOW:
            return []
        return [SlotSet(FLOW_SLOT, None), SlotSet(BOOKING_CTX_SLOT, None)]
