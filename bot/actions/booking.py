"""Booking flow (reason `booking`): book a consultation, reschedule one, ask for availability,
and the non-urgent "I have a symptom and want to be seen" path.

A step flow of the kernel (actions/flow.py). State lives in two slots (bot/domain/booking.yml):
- `active_flow` (categorical, featurized): "booking" while this flow waits for an answer,
  "confirmation" while the confirmation flow does (actions/confirmation.py); rules route the
  patient's answers (inform / affirm / deny / nlu_fallback) to `action_flow_continue` only
  while a flow is active, so any other intent mid-flow still goes to its own rule and the flow
  resumes with the next answer. Before that, every message is read against the step's buttons
  (actions/input_route.py, slot `input_route`): one that names an option ("o quanto antes",
  "o segundo", "às 10h") or an unsure other intent reaches `action_flow_continue` whatever its
  intent; only a red flag or a confident other intent leaves the flow.
- `booking_ctx` (any, not featurized): what is known so far
  {mode: book|reschedule, step, specialty, specialty_name, doctor_id, doctor_name, when,
   offered, slot, appointment, options, misses, asked_at, choices (the step's buttons)}.

Steps: specialty -> when -> slot -> (cpf -> birth_date) -> confirm. Every answer is read from
the text as well as from entities/buttons, so typed answers work as well as button clicks.
The bot never gives medical advice: a symptom only suggests which specialty to book.
Logs carry error codes only, never patient data.

Modules, each one layer of `BookingFlow`: actions/booking_slots.py (pure helpers: picking,
showing and matching slots and dates), actions/booking_offer.py (`SlotOffer`: reading the
specialty/doctor and the date, asking for them, offering slots), actions/booking_identity.py
(`PatientIdentity`: the CPF / birth date steps and the confirm question), and this one (the flow
itself: starting a booking or a reschedule, the steps' answers, booking and the actions).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from clinic_nlu.cpf import find_cpf
from clinic_nlu.dates import WhenRange, normalize, parse_birth_date, parse_when
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.appointments import (
    active_appointments,
    appointment_payload,
    appointment_summary,
    match_appointment,
)
from actions.booking_identity import PatientIdentity
from actions.booking_slots import match_offered, slot_payload, when_buttons
from actions.clinic_api import ClinicApi, ClinicApiError, patient_id
from actions.common import HUMAN_BUTTON, YES_NO_BUTTONS, entity_value, intent_of, message_text
from actions.flow import FLOW_SLOT, Ctx, Flow, start_or_resume, trigger_message
from actions.formatting import address_line, appointment_label, appointment_phrase, long_when, on_day, parse_dt

log = logging.getLogger(__name__)

CTX_SLOT = "booking_ctx"
FLOW_BOOKING = "booking"

DEFAULT_SYMPTOM_SPECIALTY = "clinica_geral"
CHILD_SPECIALTY = "pediatria"

BOOKING_INTENTS = {"book_appointment", "ask_availability", "symptom_consult"}
RESCHEDULE_INTENT = "reschedule_appointment"

_CHILD_WORDS = re.compile(r"\b(?:meu filho|minha filha|filho|filha|bebe|nene|crianca|neto|neta|menino|menina)\b")
_ANY_RE = re.compile(r"\b(?:tanto faz|qualquer|pode ser|nao sei|sem preferencia|indiferente|tanto fez)\b")
# Whole answers to "Confirma a consulta…?" (normalized text: no accents, abbreviations expanded).
YES_RE = re.compile(
    r"(?:sim|ok|pode|confirmo|confirma|confirmado|isso|isso mesmo|claro|quero|pode marcar|pode sim|sim pode|"
    r"sim por favor|pode ser|beleza|fechado|perfeito|certo|pode confirmar|marca|pode agendar)\W*"
)
BOOKING_NO_RE = re.compile(
    r"(?:nao|nao quero|nao obrigado|nao obrigada|cancela|cancelar|deixa|deixa pra la|deixa para la|esquece|"
    r"melhor nao|agora nao|nao pode)\W*"
)


# ------------------------------------------------------------------------------------------
# the appointment a reminder names (its buttons, or the reminder a typed reply answers)

# Key of the hub's message metadata naming the reminder the patient got lately (docs/CONTRACTS.md).
REMINDER_KEY = "reminder"
# Why an appointment named by a button cannot be confirmed, cancelled or moved.
NAMED_UNKNOWN = "utter_named_appointment_unknown"
NAMED_CANCELLED = "utter_named_appointment_cancelled"
NAMED_PASSED = "utter_named_appointment_passed"
BOOK_BUTTON = {"title": "Marcar consulta", "payload": "/book_appointment"}
CHECK_BUTTON = {"title": "Minhas consultas", "payload": "/check_appointment"}


def reminder_appointment_id(message: dict[str, Any]) -> str | None:
    """The appointment of the reminder the patient got lately (the hub adds `reminder` to the
    metadata of every message for 72 h while that appointment is upcoming and active); only the
    message's own metadata counts: an older message's reminder may be over."""
    metadata = message.get("metadata")
    reminder = metadata.get(REMINDER_KEY) if isinstance(metadata, dict) else None
    raw = reminder.get("appointment_id") if isinstance(reminder, dict) else None
    if raw is None or isinstance(raw, bool) or str(raw) == "":
        return None
    return str(raw)


def reminded_option(options: list[dict[str, Any]], message: dict[str, Any]) -> dict[str, Any] | None:
    """Among the patient's upcoming appointments, the one their latest reminder was about."""
    wanted = reminder_appointment_id(message)
    if wanted is None:
        return None
    return next((o for o in options if str(o.get("id")) == wanted), None)


async def named_appointment(
    api: ClinicApi, pid: int, raw: Any, now: datetime
) -> tuple[dict[str, Any] | None, str | None]:
    """The patient's appointment a button names (`appointment_id`) and, when it cannot be
    changed, the response saying why: (appointment, None) when upcoming and active;
    (appointment, NAMED_CANCELLED / NAMED_PASSED); (None, NAMED_UNKNOWN) when it is not among
    the patient's own (another patient's id is never acted on)."""
    appts = await api.appointments(pid, scope="all")
    found = next((a for a in appts or [] if str(a.get("id")) == str(raw)), None)
    if found is None:
        return None, NAMED_UNKNOWN
    summary = appointment_summary(found)
    if found.get("status") == "cancelled":
        return summary, NAMED_CANCELLED
    start = parse_dt(found.get("start"))
    if found.get("status") not in ("scheduled", "confirmed") or start is None or start <= now:
        return summary, NAMED_PASSED
    return summary, None


async def act_on_named(flow: Flow, raw: Any) -> dict[str, Any] | list[EventType]:
    """The appointment a button names, ready to confirm/cancel/move; or, when there is none to
    act on, the events of a turn that said why (in pt-BR, offering to book or a person)."""
    pid = patient_id(flow.tracker)
    if pid is None:
        return await flow.no_identity()
    try:
        appt, why = await named_appointment(flow.api, pid, raw, flow.now)
    except ClinicApiError as exc:
        return flow.api_error(exc)
    if why is None and appt is not None:
        return appt
    log.info("%s: named appointment not changeable (%s)", flow.name, why)
    buttons = [CHECK_BUTTON, HUMAN_BUTTON] if why == NAMED_UNKNOWN else [BOOK_BUTTON, HUMAN_BUTTON]
    flow.d.utter_message(
        response=why or NAMED_UNKNOWN, appointment=appointment_phrase(appt) if appt else "", buttons=buttons
    )
    return flow.done()


# ------------------------------------------------------------------------------------------
# the flow


class BookingFlow(PatientIdentity):
    """One run of a booking action: reads the tracker, talks, returns the slot events."""

    name = FLOW_BOOKING
    ctx_slot = CTX_SLOT
    miss_note = "agendamento: respostas não compreendidas"
    no_identity_note = "agendamento sem identificação do paciente"
    button_intents = frozenset({"choose_slot", "choose_when"})
    fresh_entities = ("slot_id", "when")

    @classmethod
    def reads_button(cls, ctx: Ctx, intent: str | None) -> bool:
        # rescheduling starts by picking the appointment to move, with the confirmation flow's buttons
        return intent == "choose_appointment" and ctx.get("step") == "pick_appointment"

    # -- entry points ------------------------------------------------------------------------

    async def start(
        self, source: dict[str, Any] | None = None, preset: dict[str, Any] | None = None
    ) -> list[EventType]:
        """book_appointment / ask_availability / symptom_consult (also mid-flow: merges)."""
        message = source or self.message
        intent = intent_of(message)
        current = self.stored_ctx(self.tracker)
        same_flow = self.tracker.get_slot(FLOW_SLOT) == FLOW_BOOKING and current.get("mode") == "book"
        ctx: dict[str, Any] = dict(current) if same_flow else {"mode": "book"}
        ctx.update(preset or {})
        ctx["misses"] = 0
        try:
            changed = await self.read_specialty_or_doctor(ctx, message)
        except ClinicApiError as exc:
            return self.api_error(exc, None)
        if intent == "symptom_consult" and not ctx.get("specialty") and not ctx.get("doctor_id"):
            child = bool(_CHILD_WORDS.search(normalize(message_text(message))))
            slug = CHILD_SPECIALTY if child else DEFAULT_SYMPTOM_SPECIALTY
            names = await self.specialty_names()
            if slug not in names and names:
                slug = DEFAULT_SYMPTOM_SPECIALTY if DEFAULT_SYMPTOM_SPECIALTY in names else next(iter(names))
            ctx.update(specialty=slug, specialty_name=names.get(slug, slug))
            self.d.utter_message(response="utter_booking_symptom_suggestion", specialty=ctx["specialty_name"])
        when = parse_when(message_text(message), self.now)
        if when is not None:
            ctx["when"] = when.to_dict()
        elif (
            not changed
            and same_flow
            and ctx.get("step") == "confirm"
            and ctx.get("slot")
            and not re.search(r"\b(?:nao|nunca|cancel\w*|outr[oa]s?)\b", normalize(message_text(message)))
        ):
            # "pode marcar" / "quero marcar" as the answer to "Confirma a consulta…?" is a yes
            return await self.execute(ctx)
        ctx.pop("slot", None)
        return await self.advance(ctx)

    async def start_reschedule(self, source: dict[str, Any] | None = None) -> list[EventType]:
        """reschedule_appointment: a reminder's "Remarcar" button moves THAT appointment (its
        doctor and specialty kept, only the new date asked); typed, the appointment named, the
        only one, or the one the latest reminder was about; else "which one?"."""
        message = source or self.message
        pid = patient_id(self.tracker)
        if pid is None:
            return await self.no_identity()
        raw = entity_value(message, "appointment_id")
        if raw is not None:
            named = await act_on_named(self, raw)
            if isinstance(named, list):
                return named
            return await self.reschedule_chosen({"mode": "reschedule", "misses": 0}, named, None)
        try:
            appts = active_appointments(await self.api.appointments(pid, scope="upcoming"), self.now)
        except ClinicApiError as exc:
            return self.api_error(exc, None)
        if not appts:
            self.d.utter_message(
                response="utter_reschedule_none",
                buttons=[{"title": "Marcar consulta", "payload": "/book_appointment"}],
            )
            return self.done()
        ctx: dict[str, Any] = {"mode": "reschedule", "misses": 0}
        when = parse_when(message_text(message), self.now)
        options = [appointment_summary(a) for a in appts]
        chosen = options[0] if len(options) == 1 else match_appointment(message_text(message), options, self.now)
        reminded = False
        if chosen is None:
            # "preciso remarcar" hours after a reminder: the appointment it was about
            chosen = reminded_option(options, message)
            reminded = chosen is not None
        if chosen is None:
            # the date in "remarcar a de quinta" names the appointment, not the new date
            ctx.update(step="pick_appointment", options=options)
            self.d.utter_message(
                response="utter_reschedule_pick",
                buttons=[{"title": appointment_label(o), "payload": appointment_payload(o["id"])} for o in options],
            )
            return self.keep(ctx)
        if len(options) > 1 and not reminded:
            when = None  # the date in the text picked the appointment
        return await self.reschedule_chosen(ctx, chosen, when)

    async def reschedule_chosen(
        self, ctx: dict[str, Any], appt: dict[str, Any], when: WhenRange | None
    ) -> list[EventType]:
        ctx.update(
            appointment=appt,
            specialty=appt.get("specialty"),
            specialty_name=appt.get("specialty_name"),
            doctor_name=appt.get("doctor_name"),
            doctor_id=appt.get("doctor_id"),
            options=None,
        )
        if not ctx.get("doctor_id") and appt.get("doctor_name"):
            try:
                docs = await self.api.doctors(appt.get("specialty"))
            except ClinicApiError:
                docs = []
            same = [d for d in docs or [] if d.get("name") == appt.get("doctor_name")]
            ctx["doctor_id"] = same[0].get("id") if same else None
        if not ctx.get("doctor_id"):
            ctx["doctor_name"] = None
        if when is not None:
            ctx["when"] = when.to_dict()
        return await self.advance(ctx)

    async def without_context(self) -> list[EventType]:
        """A slot/when button of a booking that is over: start again from it."""
        if self.slot_id or entity_value(self.message, "when"):
            self.d.utter_message(response="utter_booking_expired_option")
            return await self.start(preset={})
        return self.lost_context()

    def is_answer(self, ctx: Ctx) -> bool:
        """"confirmo" to "Confirma a consulta…?" whatever its intent; a typed slot, CPF or birth
        date only when the classifier was unsure of its start intent."""
        step = ctx.get("step")
        if step == "confirm":
            norm = normalize(self.text)
            return bool(YES_RE.fullmatch(norm) or BOOKING_NO_RE.fullmatch(norm))
        if not self.unsure:
            return False
        if step == "slot":
            return match_offered(self.text, ctx.get("offered") or [], self.now) is not None
        if step == "cpf":
            return find_cpf(self.text) is not None or parse_birth_date(self.text, self.now.date()) is not None
        if step == "birth_date":
            return parse_birth_date(self.text, self.now.date()) is not None
        if step == "pick_appointment":
            return match_appointment(self.text, ctx.get("options") or [], self.now) is not None
        return False  # specialty / when: the start action merges what was said anyway

    # -- step handlers -----------------------------------------------------------------------
    async def on_specialty(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        try:
            changed = await self.read_specialty_or_doctor(ctx)
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        if changed:
            ctx["misses"] = 0
            when = self.read_when()
            if when is not None:
                ctx["when"] = when.to_dict()
            return await self.advance(ctx)
        if self.intent == "deny":
            self.d.utter_message(response="utter_booking_dropped")
            return self.done()
        try:
            specs = await self.specialties()
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        buttons = [
            {"title": str(s.get("name")), "payload": '/inform{"specialty":"' + str(s.get("slug")) + '"}'} for s in specs
        ]
        return await self.miss(ctx, "utter_booking_specialty_not_understood", buttons=buttons)

    async def on_when(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        try:
            changed = await self.read_specialty_or_doctor(ctx)
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        when = self.read_when()
        norm = normalize(self.text)
        if when is None and (self.intent == "affirm" or _ANY_RE.search(norm)):
            when = parse_when("qualquer dia", self.now)
        if when is not None:
            ctx.update(when=when.to_dict(), misses=0)
            return await self.offer_slots(ctx)
        if changed:
            ctx["misses"] = 0
            return await self.advance(ctx)
        if self.intent == "deny":
            self.d.utter_message(response="utter_booking_dropped")
            return self.done()
        return await self.miss(ctx, "utter_booking_when_not_understood", buttons=when_buttons())

    async def on_slot(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        chosen = match_offered(self.text, ctx.get("offered") or [], self.now)
        if chosen is not None:
            return await self._choose(ctx, dict(chosen))
        try:
            changed = await self.read_specialty_or_doctor(ctx)
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        when = self.read_when()
        if when is not None or changed:
            if when is not None:
                ctx["when"] = when.to_dict()
            ctx["misses"] = 0
            return await self.offer_slots(ctx)
        if self.intent == "deny":
            ctx.pop("when", None)
            return self.ask_when(ctx, "utter_booking_ask_other_when")
        buttons = [{"title": o["title"], "payload": slot_payload(o["slot_id"])} for o in ctx.get("offered") or []]
        return await self.miss(ctx, "utter_booking_slot_not_understood", buttons=buttons)

    async def on_confirm(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        norm = normalize(self.text)
        if YES_RE.fullmatch(norm):
            return await self.execute(ctx)
        if BOOKING_NO_RE.fullmatch(norm):
            return self.decline(ctx)
        when = self.read_when()
        try:
            changed = await self.read_specialty_or_doctor(ctx)
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        if when is not None or changed:
            if when is not None:
                ctx["when"] = when.to_dict()
            ctx.pop("slot", None)
            return await self.offer_slots(ctx)
        if self.intent == "affirm":
            return await self.execute(ctx)
        if self.intent == "deny":
            return self.decline(ctx)
        return await self.miss(ctx, "utter_booking_confirm_again", buttons=YES_NO_BUTTONS)

    def decline(self, ctx: dict[str, Any]) -> list[EventType]:
        """ "Não" to "Confirma a consulta…?": nothing booked, ask for another date."""
        ctx.pop("slot", None)
        ctx.pop("when", None)
        return self.ask_when(ctx, "utter_booking_declined")

    async def on_pick_appointment(self, ctx: Ctx) -> list[EventType]:
        options = ctx.get("options") or []
        chosen = None
        raw = entity_value(self.message, "appointment_id")
        if raw is not None:
            chosen = next((o for o in options if str(o.get("id")) == str(raw)), None)
        if chosen is None:
            chosen = match_appointment(self.text, options, self.now)
        if chosen is not None:
            ctx["misses"] = 0
            return await self.reschedule_chosen(ctx, chosen, None)
        if self.intent == "deny":
            self.d.utter_message(response="utter_booking_dropped")
            return self.done()
        buttons = [{"title": appointment_label(o), "payload": appointment_payload(o["id"])} for o in options]
        return await self.miss(ctx, "utter_appointment_pick_again", buttons=buttons)

    async def execute(self, ctx: dict[str, Any]) -> list[EventType]:
        slot = ctx["slot"]
        pid = patient_id(self.tracker)
        try:
            if ctx.get("mode") == "reschedule":
                appt = await self.api.reschedule(int(ctx["appointment"]["id"]), slot["slot_id"])
            else:
                if pid is None:
                    return await self.no_identity()
                appt = await self.api.book(pid, slot["slot_id"], self.tracker.sender_id)
        except ClinicApiError as exc:
            log.info("booking: %s refused status=%s code=%s", ctx.get("mode"), exc.status, exc.code)
            down = await self.agenda_down(exc)
            if down is not None:
                return down
            if exc.status == 409 and exc.code == "slot_taken":
                ctx.pop("slot", None)
                exclude = {slot["slot_id"]}
                return await self.offer_slots(ctx, exclude=exclude, intro="utter_booking_slot_taken")
            if exc.status == 409 and exc.code in ("appointment_started", "appointment_cancelled"):
                self.d.utter_message(response="utter_appointment_cannot_change")
                return self.done()
            if exc.status in (400, 404, 409):
                self.d.utter_message(response="utter_booking_failed", buttons=[HUMAN_BUTTON])
                return self.done()
            return self.api_error(exc, ctx)
        start = parse_dt((appt or {}).get("start")) or parse_dt(slot.get("start"))
        address = (appt or {}).get("address") or ""
        if not address:
            try:
                address = str((await self.api.info()).get("address") or "")
            except ClinicApiError:
                address = ""
        response = "utter_reschedule_done" if ctx.get("mode") == "reschedule" else "utter_booking_done"
        self.d.utter_message(
            response=response,
            when=(long_when(start) if ctx.get("mode") == "reschedule" else on_day(start)) if start else "",
            doctor=(appt or {}).get("doctor_name") or slot.get("doctor_name"),
            specialty=(appt or {}).get("specialty_name")
            or slot.get("specialty_name")
            or ctx.get("specialty_name")
            or "",
            address=address_line(address),
        )
        return self.done()


# ------------------------------------------------------------------------------------------
# actions


class ActionBookingStart(Action):
    """book_appointment / ask_availability / symptom_consult."""

    def name(self) -> str:
        return "action_booking_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        source = trigger_message(tracker, BOOKING_INTENTS)
        return await start_or_resume(
            dispatcher, tracker, lambda api: BookingFlow(dispatcher, tracker, api).start(source)
        )


class ActionRescheduleStart(Action):
    """reschedule_appointment: pick the appointment, then a new slot, then move it."""

    def name(self) -> str:
        return "action_reschedule_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        source = trigger_message(tracker, {RESCHEDULE_INTENT})
        return await start_or_resume(
            dispatcher, tracker, lambda api: BookingFlow(dispatcher, tracker, api).start_reschedule(source)
        )
