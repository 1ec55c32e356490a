"""Confirmation flow (reason `confirmation`): "quando é minha consulta?", "confirmo",
"pode cancelar" (and answers to a reminder).

- check: lists the upcoming appointments with date, time, doctor, address and status.
- confirm: confirms the next pending one; asks which (buttons, or "todas") when several are pending.
- cancel: asks "Confirma o cancelamento…?" first, cancels, then offers to book another time
  (same specialty and doctor) through the booking flow.

Replies to a reminder (issue 15; the hub sends it with buttons Confirmar / Cancelar / Remarcar):
- a button carries entity `appointment_id`: the flow acts on THAT appointment, never asks which,
  and says so when it is cancelled, passed or not the patient's (`booking.act_on_named`);
- a typed "confirmo" / "não vou conseguir ir" hours later, on any channel: the hub's metadata
  `reminder` names the appointment of the patient's latest reminder (72 h), preferred when the
  text names none and several are upcoming (`booking.reminded_option`).

A step flow of the kernel (actions/flow.py): while it waits for an answer it sets `active_flow` =
"confirmation" and keeps its state in `appointment_ctx` {action: confirm|cancel, step:
pick|confirm_cancel|offer_rebook, options, appointment, rebook, misses, asked_at, choices (the
step's buttons)}; answers reach `action_flow_continue` (actions/input_route.py), which hands them
to `ConfirmationFlow.resume`. Logs carry error codes only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clinic_nlu.dates import normalize, parse_when
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.appointments import (
    active_appointments,
    appointment_payload,
    appointment_summary,
    match_appointment,
    match_specialty,
)
from actions.booking import BOOK_BUTTON, BOOKING_INTENTS, BookingFlow, act_on_named, reminded_option
from actions.clinic_api import ClinicApiError, patient_id
from actions.common import YES_NO_BUTTONS, entity_value, message_text
from actions.flow import FLOW_SLOT, Ctx, Flow, start_or_resume, trigger_message
from actions.formatting import address_line, appointment_label, appointment_phrase, parse_dt, short_when
from actions.input_route import KIND_MENU, offer_events

log = logging.getLogger(__name__)

FLOW_CONFIRMATION = "confirmation"
APPT_CTX_SLOT = "appointment_ctx"
ALL = "all"
STATUS_LABELS = {"scheduled": "aguardando sua confirmação", "confirmed": "confirmada ✅"}
REBOOK_BUTTONS = [
    {"title": "Sim, marcar outra data", "payload": "/affirm"},
    {"title": "Não, obrigado", "payload": "/deny"},
]
_YES_RE = re.compile(r"(?:sim|s|ss|pode|pode sim|isso|claro|confirmo|pode cancelar|cancela|quero|ok)\W*")
_NO_RE = re.compile(r"(?:nao|n|nao obrigado|nao precisa|deixa|deixa assim|mantem|manter|nao cancela)\W*")
ALL_RE = re.compile(r"\b(?:todas|todos|as duas|as tres|ambas|tudo)\b")


def is_yes_or_no(norm: str) -> bool:
    """A bare yes/no answer (normalized text)."""
    return bool(_YES_RE.fullmatch(norm) or _NO_RE.fullmatch(norm))


def appointment_block(appt: dict[str, Any]) -> str:
    """One appointment for the list: date/time, doctor, specialty, address, status."""
    start = parse_dt(appt.get("start"))
    lines = [f"🗓️ {short_when(start) if start else ''}"]
    lines.append(f"{appt.get('doctor_name')} — {appt.get('specialty_name') or appt.get('specialty')}")
    if appt.get("address"):
        lines.append(f"📍 {appt.get('address')}")
    status = STATUS_LABELS.get(str(appt.get("status")))
    if status:
        lines.append(f"Status: {status}")
    return "\n".join(lines)


def appointments_text(appts: list[dict[str, Any]]) -> str:
    return "\n\n".join(appointment_block(a) for a in appts)


def names_a_specific_one(text: str) -> bool:
    """Does the message say more than "confirmo"/"cancela" (e.g. a date, doctor, specialty)?"""
    norm = normalize(text)
    words = [
        w
        for w in norm.split()
        if w
        not in {
            "confirmo",
            "confirmar",
            "confirma",
            "quero",
            "pode",
            "cancelar",
            "cancela",
            "cancelo",
            "a",
            "o",
            "minha",
            "consulta",
            "sim",
            "por",
            "favor",
            "pfv",
            "pf",
            "eu",
            "vou",
            "presenca",
            "de",
            "da",
            "do",
        }
    ]
    return bool(words)


class ConfirmationFlow(Flow):
    """One run of a confirmation action."""

    name = FLOW_CONFIRMATION
    ctx_slot = APPT_CTX_SLOT
    miss_note = "consultas: respostas não compreendidas"
    no_identity_note = "consulta sem identificação do paciente"
    button_intents = frozenset({"choose_appointment"})
    fresh_entities = ("appointment_id",)
    # an answer no flow claims (none waits, no other flow's button) comes here: a leftover
    # appointment context still reads it, else the context is lost
    catch_all = True

    async def upcoming(self) -> list[dict[str, Any]]:
        pid = patient_id(self.tracker)
        if pid is None:
            raise LookupError("no patient id")
        appts = await self.api.appointments(pid, scope="upcoming")
        return [appointment_summary(a) for a in active_appointments(appts, self.now)]

    def none_found(self) -> list[EventType]:
        self.d.utter_message(response="utter_appointments_none", buttons=[BOOK_BUTTON])
        return self.done()

    # -- check -------------------------------------------------------------------------------

    async def check(self) -> list[EventType]:
        try:
            appts = await self.upcoming()
        except LookupError:
            return await self.no_identity()
        except ClinicApiError as exc:
            return self.api_error(exc)
        if not appts:
            return self.none_found()
        buttons = [
            {"title": "Confirmar presença", "payload": "/confirm_appointment"},
            {"title": "Remarcar", "payload": "/reschedule_appointment"},
            {"title": "Cancelar", "payload": "/cancel_appointment"},
        ]
        if all(a.get("status") == "confirmed" for a in appts):
            buttons = buttons[1:]
        response = "utter_appointments_next" if len(appts) == 1 else "utter_appointments_list"
        self.d.utter_message(response=response, appointments=appointments_text(appts), buttons=buttons)
        return offer_events(self.tracker, KIND_MENU, buttons)  # "cancelar", "a 2" pick a button

    # -- confirm -----------------------------------------------------------------------------

    async def confirm_start(self, source: dict[str, Any]) -> list[EventType]:
        raw = entity_value(source, "appointment_id")
        if raw is not None:  # a reminder's "Confirmar" button: that appointment, no question
            named = await act_on_named(self, raw)
            return named if isinstance(named, list) else await self.confirm_one(named)
        try:
            appts = await self.upcoming()
        except LookupError:
            return await self.no_identity()
        except ClinicApiError as exc:
            return self.api_error(exc)
        if not appts:
            return self.none_found()
        text = message_text(source)
        chosen = None
        if len(appts) > 1 and names_a_specific_one(text):
            chosen = match_appointment(text, appts, self.now)
        pending = [a for a in appts if a.get("status") == "scheduled"]
        if chosen is None and len(appts) > 1 and not self.names_another(text):
            # "confirmo" after a reminder: the appointment it was about, while it awaits confirmation
            chosen = reminded_option(pending, source)
        if chosen is None:
            if len(appts) == 1:
                chosen = appts[0]
            elif not pending:
                self.d.utter_message(response="utter_appointments_all_confirmed", appointments=appointments_text(appts))
                return self.done()
            elif len(pending) == 1:
                chosen = pending[0]
        if chosen is not None:
            return await self.confirm_one(chosen)
        ctx = {"action": "confirm", "step": "pick", "options": pending, "misses": 0}
        buttons = [{"title": appointment_label(a), "payload": appointment_payload(a["id"])} for a in pending]
        buttons.append({"title": "Confirmar todas", "payload": appointment_payload(ALL)})
        self.d.utter_message(response="utter_confirm_which", buttons=buttons)
        return self.keep(ctx)

    def names_another(self, text: str) -> bool:
        """Does the text name a day or a specialty (one that matched no single appointment)? Then
        the reminder is not guessed: confirming acts at once, so "which one?" is asked instead."""
        when = parse_when(text, self.now)
        return bool((when is not None and when.day_given) or match_specialty(text))

    async def confirm_one(self, appt: dict[str, Any]) -> list[EventType]:
        if appt.get("status") == "confirmed":
            self.d.utter_message(response="utter_appointment_already_confirmed", appointment=appointment_phrase(appt))
            return self.done()
        try:
            updated = await self.api.confirm(int(appt["id"]), patient_id(self.tracker))
        except ClinicApiError as exc:
            return self.change_refused(exc)
        merged = {**appt, **appointment_summary(updated or {})} if updated else appt
        merged = {k: v if v is not None else appt.get(k) for k, v in merged.items()}
        self.d.utter_message(
            response="utter_appointment_confirmed",
            appointment=appointment_phrase(merged),
            address=address_line(merged.get("address")),
        )
        return self.done()

    async def confirm_all(self, options: list[dict[str, Any]]) -> list[EventType]:
        confirmed = []
        for appt in options:
            try:
                await self.api.confirm(int(appt["id"]), patient_id(self.tracker))
                confirmed.append(appt)
            except ClinicApiError as exc:
                log.info("confirmation: confirm refused status=%s code=%s", exc.status, exc.code)
        if not confirmed:
            self.d.utter_message(response="utter_appointment_cannot_change")
            return self.done()
        self.d.utter_message(
            response="utter_appointments_confirmed_all",
            appointments=appointments_text([{**a, "status": "confirmed"} for a in confirmed]),
        )
        return self.done()

    def change_refused(self, exc: ClinicApiError) -> list[EventType]:
        log.info("confirmation: change refused status=%s code=%s", exc.status, exc.code)
        if exc.status in (404, 409):
            self.d.utter_message(response="utter_appointment_cannot_change")
            return self.done()
        return self.api_error(exc)

    # -- cancel ------------------------------------------------------------------------------

    async def cancel_start(self, source: dict[str, Any]) -> list[EventType]:
        raw = entity_value(source, "appointment_id")
        if raw is not None:  # a reminder's "Cancelar" button: that appointment, asked first
            named = await act_on_named(self, raw)
            if isinstance(named, list):
                return named
            return self.ask_cancel({"action": "cancel", "misses": 0}, named)
        try:
            appts = await self.upcoming()
        except LookupError:
            return await self.no_identity()
        except ClinicApiError as exc:
            return self.api_error(exc)
        if not appts:
            return self.none_found()
        text = message_text(source)
        chosen = appts[0] if len(appts) == 1 else None
        if chosen is None and names_a_specific_one(text):
            chosen = match_appointment(text, appts, self.now)
        if chosen is None:  # "não vou conseguir ir" after a reminder: the appointment it was about
            chosen = reminded_option(appts, source)
        if chosen is not None:
            return self.ask_cancel({"action": "cancel", "misses": 0}, chosen)
        ctx = {"action": "cancel", "step": "pick", "options": appts, "misses": 0}
        buttons = [{"title": appointment_label(a), "payload": appointment_payload(a["id"])} for a in appts]
        self.d.utter_message(response="utter_cancel_which", buttons=buttons)
        return self.keep(ctx)

    def ask_cancel(self, ctx: dict[str, Any], appt: dict[str, Any]) -> list[EventType]:
        ctx.update(step="confirm_cancel", appointment=appt, options=None)
        self.d.utter_message(response="utter_cancel_ask", appointment=appointment_phrase(appt), buttons=YES_NO_BUTTONS)
        return self.keep(ctx)

    async def cancel_one(self, ctx: dict[str, Any]) -> list[EventType]:
        appt = ctx["appointment"]
        try:
            await self.api.cancel(int(appt["id"]), patient_id(self.tracker))
        except ClinicApiError as exc:
            return self.change_refused(exc)
        rebook = {
            "specialty": appt.get("specialty"),
            "specialty_name": appt.get("specialty_name"),
            "doctor_id": appt.get("doctor_id"),
            "doctor_name": appt.get("doctor_name") if appt.get("doctor_id") else None,
        }
        self.d.utter_message(
            response="utter_cancel_done",
            appointment=appointment_phrase(appt),
            buttons=REBOOK_BUTTONS,
        )
        return self.keep({"action": "cancel", "step": "offer_rebook", "rebook": rebook, "misses": 0})

    # -- answers -----------------------------------------------------------------------------

    def yes(self) -> bool:
        return self.intent == "affirm" or bool(_YES_RE.fullmatch(normalize(self.text)))

    def no(self) -> bool:
        return self.intent == "deny" or bool(_NO_RE.fullmatch(normalize(self.text)))

    def is_answer(self, ctx: Ctx) -> bool:
        """"sim"/"não" to our yes/no questions whatever the intent ("quero marcar outra" after a
        cancellation rebooks); a typed pick only when the classifier was unsure."""
        step = ctx.get("step")
        norm = normalize(self.text)
        if step == "offer_rebook" and self.intent in BOOKING_INTENTS:
            return True  # "quero marcar outra" after cancelling: rebook with the same specialty
        if step in ("confirm_cancel", "offer_rebook"):
            return is_yes_or_no(norm)
        if step == "pick" and self.unsure:
            if ctx.get("action") == "confirm" and ALL_RE.search(norm):
                return True
            return match_appointment(self.text, ctx.get("options") or [], self.now) is not None
        return False

    async def on_confirm_cancel(self, ctx: Ctx) -> list[EventType]:
        if self.yes():
            return await self.cancel_one(ctx)
        if self.no():
            self.d.utter_message(response="utter_cancel_kept")
            return self.done()
        return await self.miss(
            ctx, "utter_cancel_ask", appointment=appointment_phrase(ctx["appointment"]), buttons=YES_NO_BUTTONS
        )

    async def on_pick(self, ctx: Ctx) -> list[EventType]:
        options = ctx.get("options") or []
        raw = entity_value(self.message, "appointment_id")
        norm = normalize(self.text)
        if ctx.get("action") == "confirm" and (str(raw) == ALL or ALL_RE.search(norm)):
            return await self.confirm_all(options)
        chosen = next((o for o in options if str(o.get("id")) == str(raw)), None) if raw is not None else None
        if chosen is None and self.text:
            chosen = match_appointment(self.text, options, self.now)
        if chosen is not None:
            ctx["misses"] = 0
            if ctx.get("action") == "confirm":
                return await self.confirm_one(chosen)
            return self.ask_cancel(ctx, chosen)
        if raw is not None:  # a button of an older list
            self.d.utter_message(response="utter_booking_expired_option")
            return self.done()
        if self.no():
            self.d.utter_message(response="utter_booking_dropped")
            return self.done()
        buttons = [{"title": appointment_label(o), "payload": appointment_payload(o["id"])} for o in options]
        if ctx.get("action") == "confirm":
            buttons.append({"title": "Confirmar todas", "payload": appointment_payload(ALL)})
        return await self.miss(ctx, "utter_appointment_pick_again", buttons=buttons)

    async def on_offer_rebook(self, ctx: Ctx) -> list[EventType]:
        preset = {k: v for k, v in (ctx.get("rebook") or {}).items() if v}
        when = parse_when(self.text, self.now)
        if self.yes() or when is not None or self.intent in BOOKING_INTENTS:
            booking = BookingFlow(self.d, self.tracker, self.api)
            # a fresh booking: the cancelled appointment's specialty/doctor, any date the patient gave
            events = await booking.start(preset=preset)
            events = [SlotSet(APPT_CTX_SLOT, None), *events]
            if not any(e.get("name") == FLOW_SLOT for e in events if isinstance(e, dict)):
                events.append(SlotSet(FLOW_SLOT, None))
            return events
        if self.no():
            self.d.utter_message(response="utter_rebook_declined")
            return self.done()
        return await self.miss(ctx, "utter_rebook_again", buttons=REBOOK_BUTTONS)


# ------------------------------------------------------------------------------------------
# actions


class ActionCheckAppointment(Action):
    """check_appointment: "quando é minha consulta?"."""

    def name(self) -> str:
        return "action_check_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await start_or_resume(
            dispatcher, tracker, lambda api: ConfirmationFlow(dispatcher, tracker, api).check()
        )


class ActionConfirmAppointment(Action):
    """confirm_appointment: "confirmo" (also the answer to a reminder)."""

    def name(self) -> str:
        return "action_confirm_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        source = trigger_message(tracker, {"confirm_appointment"})
        return await start_or_resume(
            dispatcher, tracker, lambda api: ConfirmationFlow(dispatcher, tracker, api).confirm_start(source)
        )


class ActionCancelAppointment(Action):
    """cancel_appointment: "pode cancelar" -> asks first, cancels, offers another date."""

    def name(self) -> str:
        return "action_cancel_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        source = trigger_message(tracker, {"cancel_appointment"})
        return await start_or_resume(
            dispatcher, tracker, lambda api: ConfirmationFlow(dispatcher, tracker, api).cancel_start(source)
        )
