"""LGPD consent gate (docs/CONTRACTS.md, "Consent (LGPD)").

- `require_consent(dispatcher, tracker, api)`: every routine action that reads or writes the
  patient's data calls it first. It returns None when consent is granted; otherwise it utters
  `utter_privacy_notice` (buttons Aceito / Não aceito) and returns the events the caller must
  return: they remember the intent to resume (slot `pending_intent`).
- `consent_accept` records the consent (version `privacidade-v1`) and resumes the pending request
  by replaying the patient's own message (listen + the original user event, the same technique
  Rasa's two-stage fallback uses), so whatever rule/form handles that intent runs again with the
  original entities, now with consent granted.
- `consent_refuse` records the refusal and offers a person or the clinic phone.
- `action_session_start` keeps the slots and refreshes slot `consent` from the clinic API.
The urgent path never calls any of this.

Slot `consent`: True (granted for the current notice version), False (refused) or None
(never answered / unknown). Slot `consent_asked` (featurized) lets rules read a plain "sim"/"não"
right after the notice as accept/refuse.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi, ClinicApiError, patient_id, pid_from_metadata
from actions.common import intent_of, latest_intent

log = logging.getLogger(__name__)

PRIVACY_VERSION = "privacidade-v1"
# The hub records a data-subject revocation (LGPD Art. 18 IX) under this version: it is a refusal
# whatever notice is current, so the patient is not asked again as if they had never answered.
REVOCATION_VERSION = "revogacao-titular"
CONSENT_SLOT = "consent"
PENDING_SLOT = "pending_intent"
ASKED_SLOT = "consent_asked"
SESSION_METADATA_SLOT = "session_started_metadata"
# Intents that never become a pending request (answers to the notice itself, small talk).
NOT_RESUMABLE = {
    "consent_accept", "consent_refuse", "affirm", "deny", "greet", "goodbye", "thank",
    "nlu_fallback", "out_of_scope", "inform",
}
# Slots that must not survive into a new session (stale questions / pending requests).
SESSION_RESET_SLOTS = {
    PENDING_SLOT, ASKED_SLOT, "awaiting_item", "requested_slot", SESSION_METADATA_SLOT, "input_route",
    "offered_options",
}


def consent_from_patient(patient: dict[str, Any] | None) -> bool | None:
    """The consent decision stored for a patient record: True/False, None when never answered.

    A decision on an older notice version counts as not answered (the notice changed); a
    revocation counts as refused."""
    consent = (patient or {}).get("consent")
    if isinstance(consent, dict) and consent.get("version") == REVOCATION_VERSION:
        return False
    if not isinstance(consent, dict) or consent.get("version") != PRIVACY_VERSION:
        return None
    return bool(consent.get("granted"))


async def consent_status(tracker: Tracker, api: ClinicApi) -> bool | None:
    """True when consent is granted (slot, else the clinic API), False refused, None unknown."""
    if tracker.get_slot(CONSENT_SLOT) is True:
        return True
    pid = patient_id(tracker)
    if pid is None:
        return tracker.get_slot(CONSENT_SLOT)
    try:
        stored = consent_from_patient(await api.patient(pid))
    except ClinicApiError as exc:
        log.warning("consent lookup failed: status=%s code=%s", exc.status, exc.code)
        return tracker.get_slot(CONSENT_SLOT)
    return stored


def notice_events(intent: str | None) -> list[EventType]:
    """Events that remember the request waiting for consent."""
    pending = intent if intent and intent not in NOT_RESUMABLE else None
    return [SlotSet(PENDING_SLOT, pending), SlotSet(ASKED_SLOT, True)]


async def require_consent(
    dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi
) -> list[EventType] | None:
    """None when consent is granted; else show the privacy notice and return events to return."""
    status = await consent_status(tracker, api)
    if status is True:
        return None
    dispatcher.utter_message(response="utter_privacy_notice")
    return notice_events(latest_intent(tracker))


async def consented_patient(
    dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi
) -> int | list[EventType]:
    """The patient's id for an action on their own data: consent granted and the patient known.
    Otherwise the events to return (the privacy notice shown, or "utter_patient_unknown")."""
    gate = await require_consent(dispatcher, tracker, api)
    if gate is not None:
        return gate
    pid = patient_id(tracker)
    if pid is None:
        dispatcher.utter_message(response="utter_patient_unknown")
        return []
    return pid


async def notice_on_first_contact(
    dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi
) -> list[EventType]:
    """Non-blocking variant for public answers (address, prices...): show the notice once when
    the patient never answered it, without holding back the answer."""
    if tracker.get_slot(ASKED_SLOT) or tracker.get_slot(CONSENT_SLOT) is not None:
        return []
    status = await consent_status(tracker, api)
    if status is not None:
        return [SlotSet(CONSENT_SLOT, status)]
    dispatcher.utter_message(response="utter_privacy_notice")
    return notice_events(None)


def consent_answer(tracker: Tracker) -> list[EventType] | None:
    """The privacy notice is waiting for a yes/no: hand a plain "sim"/"não" to the consent flow."""
    intent = latest_intent(tracker)
    if tracker.get_slot(ASKED_SLOT) and intent in ("affirm", "deny"):
        return [FollowupAction("action_consent_accept" if intent == "affirm" else "action_consent_refuse")]
    return None


def resume_events(tracker: Tracker, intent: str | None) -> list[EventType]:
    """Replay the latest user message with `intent` (listen + user event) so its flow runs again."""
    if not intent:
        return []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        if intent_of(parse) != intent:
            continue
        replay = {
            "event": "user",
            "timestamp": None,
            "text": event.get("text"),
            "parse_data": parse,
            "input_channel": event.get("input_channel"),
            "metadata": event.get("metadata") or parse.get("metadata") or {},
        }
        return [ActionExecuted("action_listen"), replay]
    return []


def _api() -> ClinicApi:
    return ClinicApi()


async def _clinic_phone(api: ClinicApi) -> str:
    try:
        info = await api.info()
    except ClinicApiError:
        return ""
    return str(info.get("phone") or "")


async def _record_answer(api: ClinicApi, pid: int, granted: bool) -> bool:
    """Store the patient's answer to the notice; False (logged) when the clinic API failed."""
    try:
        await api.record_consent(pid, granted, PRIVACY_VERSION)
    except ClinicApiError as exc:
        log.warning("recording %s failed: status=%s code=%s", "consent" if granted else "refusal",
                    exc.status, exc.code)
        return False
    return True


class ActionConsentAccept(Action):
    """Store the consent, thank, and resume the request that was waiting for it."""

    def name(self) -> str:
        return "action_consent_accept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = _api()
        pid = patient_id(tracker)
        if pid is not None:
            if not await _record_answer(api, pid, True):
                dispatcher.utter_message(response="utter_consent_error")
                # The error message carries an "Aceito" button; a plain "sim" is no longer read as consent.
                return [SlotSet(ASKED_SLOT, False)]
        else:
            # No channel identity (e.g. a developer shell): consent lives in this tracker only.
            log.warning("consent accepted without patient_id; kept in the conversation only")
        dispatcher.utter_message(response="utter_consent_thanks")
        pending = tracker.get_slot(PENDING_SLOT)
        events: list[EventType] = [
            SlotSet(CONSENT_SLOT, True),
            SlotSet(ASKED_SLOT, False),
            SlotSet(PENDING_SLOT, None),
        ]
        resume = resume_events(tracker, pending)
        if not resume:
            dispatcher.utter_message(response="utter_how_can_i_help")
        return events + resume


class ActionConsentRefuse(Action):
    """Store the refusal and offer a person or the clinic phone instead."""

    def name(self) -> str:
        return "action_consent_refuse"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = _api()
        pid = patient_id(tracker)
        if pid is not None:
            # A refusal the clinic API did not store is still honoured: slot `consent` is False here.
            await _record_answer(api, pid, False)
        phone = await _clinic_phone(api)
        if phone:
            dispatcher.utter_message(response="utter_consent_refused_phone", phone=phone)
        else:
            dispatcher.utter_message(response="utter_consent_refused")
        return [SlotSet(CONSENT_SLOT, False), SlotSet(ASKED_SLOT, False), SlotSet(PENDING_SLOT, None)]


class ActionSessionStart(Action):
    """New session: keep the slots, drop stale questions, refresh `consent` from the clinic API."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        for key, value in tracker.current_slot_values().items():
            if value is not None and key not in SESSION_RESET_SLOTS:
                events.append(SlotSet(key, value))
        metadata = tracker.get_slot(SESSION_METADATA_SLOT)
        if metadata:
            events.append(SlotSet(SESSION_METADATA_SLOT, metadata))
        pid = pid_from_metadata(metadata)
        if pid is None:
            pid = patient_id(tracker)
        if pid is not None:
            try:
                events.append(SlotSet(CONSENT_SLOT, consent_from_patient(await _api().patient(pid))))
            except ClinicApiError as exc:
                log.warning("consent refresh failed: status=%s code=%s", exc.status, exc.code)
        events.append(ActionExecuted("action_listen"))
        return events

