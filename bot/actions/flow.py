"""The flow kernel: what every conversation flow of the bot shares, written once.

Two kinds of flow use it.

One-question flows (exams, billing, clinic info; actions/exams.py is the fullest example) answer in
one turn, or ask ONE question first ("which exam?") with a button per answer. While it waits, slot
`awaiting_item` holds the asking intent, so a bare answer ("hemograma", or "o primeiro" typed
instead of a tap) comes back to the action that asked: `ask_events` / `answered_events`,
`answer_values` (the entity of the latest message, or of the button a typed answer names),
`unavailable` (the clinic API failed: say so, log the code only).

Step flows (actions/booking.py, actions/confirmation.py) subclass `Flow`: a name (the value of slot
`active_flow` while the flow waits for an answer), a context slot, and one `on_<step>` method per
step. The kernel keeps the flow entered (`keep`), leaves it (`done`), re-asks an answer it could not
use and hands off after `MAX_MISSES` in a row (`miss`), forgets a context older than `STALE_AFTER`,
answers a lost context, and routes every answer to the flow that waits for it (`continue_flow`, run
by `action_flow_continue` in actions/input_route.py). A flow registers itself by being defined
(`Flow.__init_subclass__`), the way rasa_sdk finds actions: the action server imports every module
of the package. Only one question waits at a time: entering a step flow clears `awaiting_item`, and
asking a one-turn question clears `active_flow`.

A new simple flow (ask one question, call the clinic API, answer) is one action of under 30 lines.
Here, "which doctors see cardiology?" (intent `ask_doctors` with entity `specialty`;
tests/bot/test_flow_kernel.py runs this very code and keeps it under 30 lines):

    class ActionDoctors(Action):
        def name(self) -> str:
            return "action_doctors"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            api = ClinicApi()
            try:
                specialties = await api.specialties()
            except ClinicApiError as exc:
                return unavailable(dispatcher, exc, "specialties")
            named = answer_values(tracker, "ask_doctors", "specialty")
            found = next((s for v in named if (s := find_by_slug(specialties, v))), None)
            if found is None:
                buttons = [
                    intent_button(str(s["name"]), "ask_doctors", specialty=str(s["slug"]))
                    for s in specialties
                ]
                dispatcher.utter_message(response="utter_ask_which_specialty", buttons=buttons)
                return ask_events(tracker, "ask_doctors")
            try:
                doctors = await api.doctors(str(found["slug"]))
            except ClinicApiError as exc:
                return unavailable(dispatcher, exc, "doctors")
            names = ", ".join(str(d["name"]) for d in doctors)
            dispatcher.utter_message(response="utter_doctors", specialty=found["name"], doctors=names)
            return answered_events()

plus, in bot/domain/<flow>.yml (about 10 lines), the intent, `action_doctors`, `ask_doctors` among
the values of slot `awaiting_item` and the two responses (pt-BR: "De qual especialidade?", "Atendem
em {specialty}: {doctors}."); in bot/data/rules/<flow>.yml (about 30 lines) the four outcomes of the
featurized `awaiting_item` as bot/data/rules/exams.yml spells them (asked / answered at once, and a
typed `inform` answer after being asked: answered / asked again); and NLU training examples. An
action that reads the patient's own data first calls `consent.require_consent`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from clinic_nlu.dates import CLINIC_TZ
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker

from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import entity_value, entity_values, intent_of, message_text
from actions.consent import require_consent
from actions.formatting import parse_dt
from actions.handoff import hand_off
from actions.option_match import match_option, parse_payload, usable_options

log = logging.getLogger(__name__)

# While a step flow waits for an answer: its name ("booking", "confirmation"). Categorical and
# featurized (bot/domain/booking.yml): the rules send answers to `action_flow_continue` by it.
FLOW_SLOT = "active_flow"
# While a one-question flow waits for an answer: the intent that asked ("exam_preparation"...).
AWAITING_SLOT = "awaiting_item"
# Key of a step flow's context: the buttons the step waits on (a typed answer is read against them
# first, actions/input_route.py).
CHOICES_KEY = "choices"
# Answers a step flow could not use before it hands off (the MAX_MISSES-th in a row hands off).
MAX_MISSES = 2
# A step context older than this is forgotten: the answer is read as a new message.
STALE_AFTER = timedelta(hours=3)
# A start intent below this confidence while a flow waits is checked against the waiting step.
UNSURE_BELOW = 0.7

Ctx = dict[str, Any]
Events = list[EventType]


def clinic_now() -> datetime:
    return datetime.now(CLINIC_TZ)


def clinic_today() -> date:
    return clinic_now().date()


def trigger_message(tracker: Tracker, intents: set[str]) -> dict[str, Any]:
    """The latest user message with one of `intents` (the current one, or the replayed one after
    consent), falling back to the latest message."""
    latest = tracker.latest_message or {}
    if intent_of(latest) in intents:
        return latest
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            if intent_of(parse) in intents:
                return {**parse, "text": event.get("text"), "metadata": event.get("metadata")}
    return latest


# ------------------------------------------------------------------------------------------
# one-question flows


def ask_events(tracker: Tracker, question: str) -> Events:
    """Slot events for "the bot now waits for an answer to `question`" (a step flow that was
    waiting no longer is: its question is not the one on screen)."""
    events: Events = [SlotSet(AWAITING_SLOT, question)]
    if tracker.get_slot(FLOW_SLOT) is not None:
        events.append(SlotSet(FLOW_SLOT, None))
    return events


def answered_events() -> Events:
    """Slot events for "the one-turn question, if any, is answered"."""
    return [SlotSet(AWAITING_SLOT, None)]


def last_bot_buttons(tracker: Tracker) -> list[dict[str, Any]]:
    """The buttons of the bot's last message that had any, before the patient's latest message."""
    seen_latest_user = False
    for event in reversed(list(tracker.events)):
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


def item_choice(tracker: Tracker, question: str) -> dict[str, Any] | None:
    """While the bot waits for an answer to `question` (slot awaiting_item), the entities of the
    button of that question the typed answer names ("o primeiro", "o de glicemia"); the buttons
    are read from the bot's last messages."""
    if tracker.get_slot(AWAITING_SLOT) != question:
        return None
    text = str((tracker.latest_message or {}).get("text") or "")
    buttons = [
        b for b in last_bot_buttons(tracker) if (parse_payload(str(b.get("payload", ""))) or ("",))[0] == question
    ]
    chosen = match_option(text, usable_options(buttons), clinic_today()) if buttons else None
    parsed = parse_payload(str(chosen.get("payload"))) if chosen else None
    return parsed[1] if parsed and parsed[1] else None


def answer_values(tracker: Tracker, question: str, entity: str) -> list[str]:
    """The `entity` values of the latest message; without any, the value of the button of our
    pending `question` that a typed answer names."""
    values = entity_values(tracker, entity)
    if values:
        return values
    picked = item_choice(tracker, question)
    return [str(picked[entity])] if picked and picked.get(entity) else []


def unavailable(dispatcher: CollectingDispatcher, exc: ClinicApiError, what: str) -> Events:
    """The clinic API failed: tell the patient, log the error code only."""
    log.warning("%s failed: status=%s code=%s", what, exc.status, exc.code)
    dispatcher.utter_message(response="utter_clinic_unavailable")
    return []


# ------------------------------------------------------------------------------------------
# step flows


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


FLOWS: dict[str, type[Flow]] = {}

StepHandler = Callable[[Ctx], Awaitable[Events]]


class Flow:
    """One run of a step flow: reads the tracker, talks, returns the slot events.

    A subclass sets `name` and `ctx_slot` (both declared in the domain), the hand-off notes, and
    one `async def on_<step>(self, ctx)` per step; `resume` calls the one of the waiting step."""

    name: ClassVar[str]
    ctx_slot: ClassVar[str]
    # Notes for the team when the flow hands off (causes only, never the patient's words).
    miss_note: ClassVar[str] = "respostas não compreendidas"
    no_identity_note: ClassVar[str] = "paciente sem identificação"
    # Intents of this flow's own buttons: they reach it even while another flow waits.
    button_intents: ClassVar[frozenset[str]] = frozenset()
    # Entities of this flow's buttons: an answer carrying one is never stale (the patient tapped).
    fresh_entities: ClassVar[tuple[str, ...]] = ()
    # Answers that no flow claims (none waits, no flow's button) go to the flow that sets this.
    catch_all: ClassVar[bool] = False
    # Its answers pass the consent gate first (action_flow_continue); a flow for the patient's
    # LGPD rights (actions/privacy.py) does not: they are exercised with or without consent.
    needs_consent: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            FLOWS[cls.name] = cls

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi) -> None:
        self.d = dispatcher
        self.tracker = tracker
        self.api = api
        self.now = clinic_now()
        self.message: dict[str, Any] = tracker.latest_message or {}
        self.intent = intent_of(self.message)
        self.text = message_text(self.message)

    @property
    def unsure(self) -> bool:
        """The classifier was unsure of the latest message's intent."""
        return float((self.message.get("intent") or {}).get("confidence") or 0.0) < UNSURE_BELOW

    @classmethod
    def stored_ctx(cls, tracker: Tracker) -> Ctx:
        """This flow's context slot ({} when unset)."""
        ctx = tracker.get_slot(cls.ctx_slot)
        return ctx if isinstance(ctx, dict) else {}

    @classmethod
    def reads_button(cls, ctx: Ctx, intent: str | None) -> bool:
        """While this flow waits at `ctx`, does it read another flow's button `intent`?"""
        return False

    # -- events ------------------------------------------------------------------------------

    def keep(self, ctx: Ctx) -> Events:
        """Wait for the answer to the step in `ctx` (entering the flow if needed)."""
        ctx["asked_at"] = self.now.isoformat()
        previous = self.stored_ctx(self.tracker)
        # the buttons this step waits on: a typed answer is read against them first (input_route.py)
        ctx[CHOICES_KEY] = choices_after(
            self.d.messages, ctx.get(CHOICES_KEY), same_step=previous.get("step") == ctx.get("step")
        )
        events: Events = [SlotSet(FLOW_SLOT, self.name), SlotSet(self.ctx_slot, ctx)]
        if self.tracker.get_slot(AWAITING_SLOT) is not None:
            # a one-question flow's "which item?" is no longer the question waiting for an answer
            events.append(SlotSet(AWAITING_SLOT, None))
        return events

    def done(self) -> Events:
        """The flow is over: forget its context (and free `active_flow` if it was ours)."""
        events: Events = [SlotSet(self.ctx_slot, None)]
        if self.tracker.get_slot(FLOW_SLOT) in (self.name, None):
            events.insert(0, SlotSet(FLOW_SLOT, None))
        return events

    def lost_context(self) -> Events:
        self.d.utter_message(response="utter_booking_lost_context")
        return self.done()

    def api_error(self, exc: ClinicApiError, ctx: Ctx | None = None) -> Events:
        """The clinic API failed mid-flow: say so and keep waiting at the same step."""
        log.warning("%s: clinic api error status=%s code=%s", self.name, exc.status, exc.code)
        self.d.utter_message(response="utter_booking_api_error")
        return self.keep(ctx) if ctx else []

    async def agenda_down(self, exc: ClinicApiError) -> Events | None:
        """The clinic's own agenda (CalDAV/FHIR) is down: retrying would only make the patient
        wait, so say so and hand off; the flow's context (specialty, doctor, chosen time) goes to
        the attendant in the hand-off note and the bot context. None when it is another error."""
        if not (exc.status == 503 and exc.code == "agenda_unavailable"):
            return None
        log.warning("%s: the clinic agenda is unavailable", self.name)
        await hand_off(self.d, self.api, reason="agenda_unavailable",
                       note=f"agenda da clínica fora do ar ({self.name})",
                       open_response="utter_agenda_unavailable", closed_prefix="utter_agenda_unavailable_closed")
        return self.done()

    async def miss(self, ctx: Ctx, response: str, **kwargs: Any) -> Events:
        """An answer the step could not use: re-ask with `response`; the MAX_MISSES-th in a row
        hands off to a person."""
        ctx["misses"] = int(ctx.get("misses") or 0) + 1
        if ctx["misses"] >= MAX_MISSES:
            await hand_off(self.d, self.api, reason="misunderstood", note=self.miss_note)
            return self.done()
        self.d.utter_message(response=response, **kwargs)
        return self.keep(ctx)

    async def no_identity(self) -> Events:
        """No patient behind the conversation (no channel identity): a person takes over."""
        self.d.utter_message(response="utter_booking_no_identity")
        await hand_off(self.d, self.api, reason="human", note=self.no_identity_note)
        return self.done()

    # -- answers -----------------------------------------------------------------------------

    async def resume(self) -> Events:
        """An answer while this flow waits (or one of its buttons): the waiting step reads it."""
        ctx = self.stored_ctx(self.tracker)
        if not ctx.get("step"):
            return await self.without_context()
        ctx = dict(ctx)
        asked_at = parse_dt(ctx.get("asked_at"))
        tapped = any(entity_value(self.message, name) for name in self.fresh_entities)
        if asked_at is not None and self.now - asked_at > STALE_AFTER and not tapped:
            return self.lost_context()
        handler: StepHandler | None = getattr(self, f"on_{ctx['step']}", None)
        if handler is None:
            return self.lost_context()
        return await handler(ctx)

    async def without_context(self) -> Events:
        """An answer reached the flow but no step waits (expired or never asked)."""
        return self.lost_context()

    def answers_step(self) -> bool:
        """Is the latest message, classified as a *start* intent (book, cancel, confirm…), really
        the answer to the step this flow waits on?"""
        if not self.text:
            return False
        return self.is_answer(self.stored_ctx(self.tracker))

    def is_answer(self, ctx: Ctx) -> bool:
        """Flow-specific part of `answers_step` (the message has text)."""
        return False


def waiting_flow(tracker: Tracker) -> type[Flow] | None:
    """The step flow waiting for an answer (slot active_flow), if any."""
    return FLOWS.get(str(tracker.get_slot(FLOW_SLOT)))


def waiting_ctx(tracker: Tracker) -> Ctx | None:
    """The context of the step flow waiting for an answer (None: none waits)."""
    flow = waiting_flow(tracker)
    ctx = flow.stored_ctx(tracker) if flow is not None else {}
    return ctx if ctx.get("step") else None


def flow_for(tracker: Tracker, intent: str | None) -> type[Flow] | None:
    """The flow an answer goes to: the waiting flow, unless the answer is another flow's button."""
    waiting = waiting_flow(tracker)
    owner = next((flow for flow in FLOWS.values() if intent in flow.button_intents), None)
    if waiting is not None and (
        owner is None or owner is waiting or waiting.reads_button(waiting.stored_ctx(tracker), intent)
    ):
        return waiting
    if owner is not None:
        return owner
    return next((flow for flow in FLOWS.values() if flow.catch_all), None)


async def continue_flow(dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi) -> Events:
    """Hand the latest message to the flow that waits for an answer (or owns the button)."""
    flow = flow_for(tracker, intent_of(tracker.latest_message or {}))
    if flow is None:
        dispatcher.utter_message(response="utter_booking_lost_context")
        return [SlotSet(FLOW_SLOT, None)]
    return await flow(dispatcher, tracker, api).resume()


async def start_or_resume(
    dispatcher: CollectingDispatcher, tracker: Tracker, start: Callable[[ClinicApi], Awaitable[Events]]
) -> Events:
    """The opening every flow-starting action shares: the consent gate first; then, when the
    message answers a step a flow is waiting on, that flow resumes; otherwise `start` runs."""
    api = ClinicApi()
    gate = await require_consent(dispatcher, tracker, api)
    if gate is not None:
        return gate
    waiting = waiting_flow(tracker)
    if waiting is not None and waiting(dispatcher, tracker, api).answers_step():
        return await continue_flow(dispatcher, tracker, api)
    return await start(api)
