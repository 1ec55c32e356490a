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
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

from clinic_nlu.cpf import find_cpf, valid_cpf
from clinic_nlu.dates import CLINIC_TZ, WhenRange, normalize, parse_birth_date, parse_when
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.appointments import (
    ORDINALS,
    active_appointments,
    appointment_payload,
    appointment_summary,
    match_appointment,
    match_doctor,
    match_specialty,
)
from actions.clinic_api import ClinicApi, ClinicApiError, patient_id
from actions.common import HUMAN_BUTTON, YES_NO_BUTTONS, entity_value, intent_of, message_text
from actions.flow import FLOW_SLOT, Ctx, Flow, start_or_resume, trigger_message
from actions.formatting import address_line, appointment_label, long_when, on_day, parse_dt, short_when
from actions.handoff import hand_off

log = logging.getLogger(__name__)

CTX_SLOT = "booking_ctx"
FLOW_BOOKING = "booking"

MAX_OFFERED = 5
SLOT_PAGE = 100
DEFAULT_SYMPTOM_SPECIALTY = "clinica_geral"
CHILD_SPECIALTY = "pediatria"

BOOKING_INTENTS = {"book_appointment", "ask_availability", "symptom_consult"}
RESCHEDULE_INTENT = "reschedule_appointment"

_CHILD_WORDS = re.compile(r"\b(?:meu filho|minha filha|filho|filha|bebe|nene|crianca|neto|neta|menino|menina)\b")
_NO_ID_RE = re.compile(r"\b(?:nao tenho|n tenho|nao sei|nao lembro|sem cpf|nao possuo|estrangeir[oa])\b")
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
# small pure helpers (unit-tested in tests/bot/test_booking_actions.py)


def slot_title(slot: dict[str, Any], specialty_names: dict[str, str]) -> str:
    """'qui 26/11 às 09:00 — Dra. Ana (Cardiologia)'."""
    start = parse_dt(slot.get("start"))
    when = short_when(start) if start else str(slot.get("start"))
    spec = specialty_names.get(str(slot.get("specialty")), str(slot.get("specialty") or "").replace("_", " ").title())
    return f"{when} — {slot.get('doctor_name')} ({spec})"


def slot_payload(slot_id: str) -> str:
    return '/choose_slot{"slot_id":"' + str(slot_id).replace('"', "") + '"}'


def when_payload(text: str) -> str:
    return '/choose_when{"when":"' + text.replace('"', "") + '"}'


def pick_slots(slots: list[dict[str, Any]], n: int = MAX_OFFERED, per_day: int | None = 2) -> list[dict[str, Any]]:
    """Up to `n` slots, soonest first, spread over several days when the window allows it
    (at most `per_day` on a day in the first pass; None = strictly the soonest)."""
    ordered = sorted(slots, key=lambda s: parse_dt(s.get("start")) or datetime.max.replace(tzinfo=CLINIC_TZ))
    if per_day is None:
        return ordered[:n]
    chosen: list[dict[str, Any]] = []
    per: dict[date, int] = {}
    for slot in ordered:
        start = parse_dt(slot.get("start"))
        day = start.astimezone(CLINIC_TZ).date() if start else date.min
        if per.get(day, 0) < per_day:
            chosen.append(slot)
            per[day] = per.get(day, 0) + 1
        if len(chosen) >= n:
            break
    if len(chosen) < n:
        for slot in ordered:
            if slot not in chosen:
                chosen.append(slot)
            if len(chosen) >= n:
                break
    return sorted(chosen, key=lambda s: parse_dt(s.get("start")) or datetime.max.replace(tzinfo=CLINIC_TZ))


def match_offered(text: str, offered: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """Which offered option a typed answer means: "1", "opção 2", "o primeiro", "o último",
    "às 10h", "quinta 9h", "26/11 às 14:30". None when unclear."""
    if not offered:
        return None
    norm = normalize(text)
    if not norm:
        return None
    m = re.fullmatch(r"(?:(?:a |o )?(?:opcao|opc|op|numero|n|no|horario)\s*)?(?:a |o )?(\d)(?:\s*(?:a|o|opcao))?", norm)
    if m:
        index = int(m.group(1))
        return offered[index - 1] if 1 <= index <= len(offered) else None
    for word, index in sorted(ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", norm):
            if index == -1:
                return offered[-1]
            return offered[index - 1] if index <= len(offered) else None
    when = parse_when(text, now)
    if when is None:
        return None
    exact = within_an_hour(when)
    fits = [s for s in offered if (start := parse_dt(s.get("start"))) and when.matches(start)]
    if exact:
        exact_hits = [
            s
            for s in fits
            if (start := parse_dt(s.get("start"))) and start.astimezone(CLINIC_TZ).time() == when.time_from
        ]
        if len(exact_hits) == 1:
            return exact_hits[0]
    if len(fits) == 1 and (exact or when.day_given):
        return fits[0]
    return None


def within_an_hour(when: WhenRange) -> bool:
    """A clock time ("às 9", "9h30"), not a period of the day."""
    if when.time_from is None or when.time_to is None:
        return False
    span = datetime.combine(date.min, when.time_to) - datetime.combine(date.min, when.time_from)
    return span <= timedelta(hours=1)


def is_exact_time(when: WhenRange) -> bool:
    """A day and a clock time ("quinta às 9"), not a period."""
    return when.day_given and within_an_hour(when)


def what_phrase(ctx: dict[str, Any]) -> str:
    """'com Dra. Ana' / 'de Cardiologia' (for "horários livres ...")."""
    if ctx.get("doctor_name"):
        return f"com {ctx['doctor_name']}"
    if ctx.get("specialty_name") or ctx.get("specialty"):
        return f"de {ctx.get('specialty_name') or ctx.get('specialty')}"
    return ""


def when_buttons() -> list[dict[str, str]]:
    return [
        {"title": "O quanto antes", "payload": when_payload("o quanto antes")},
        {"title": "Esta semana", "payload": when_payload("esta semana")},
        {"title": "Semana que vem", "payload": when_payload("semana que vem")},
    ]


# ------------------------------------------------------------------------------------------
# the flow


class BookingFlow(Flow):
    """One run of a booking action: reads the tracker, talks, returns the slot events."""

    name = FLOW_BOOKING
    ctx_slot = CTX_SLOT
    miss_note = "agendamento: respostas não compreendidas"
    no_identity_note = "agendamento sem identificação do paciente"
    button_intents = frozenset({"choose_slot", "choose_when"})
    fresh_entities = ("slot_id", "when")

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi) -> None:
        super().__init__(dispatcher, tracker, api)
        self.slot_id = entity_value(self.message, "slot_id")
        self._specialties: list[dict[str, Any]] | None = None
        self._doctors: list[dict[str, Any]] | None = None

    @classmethod
    def reads_button(cls, ctx: Ctx, intent: str | None) -> bool:
        # rescheduling starts by picking the appointment to move, with the confirmation flow's buttons
        return intent == "choose_appointment" and ctx.get("step") == "pick_appointment"

    # -- data --------------------------------------------------------------------------------

    async def specialties(self) -> list[dict[str, Any]]:
        if self._specialties is None:
            self._specialties = list(await self.api.specialties() or [])
        return self._specialties

    async def specialty_names(self) -> dict[str, str]:
        try:
            return {str(s.get("slug")): str(s.get("name")) for s in await self.specialties()}
        except ClinicApiError:
            return {}

    async def doctors(self) -> list[dict[str, Any]]:
        if self._doctors is None:
            self._doctors = list(await self.api.doctors() or [])
        return self._doctors

    # -- understanding ----------------------------------------------------------------------

    async def read_specialty_or_doctor(self, ctx: dict[str, Any], source: dict[str, Any] | None = None) -> bool:
        """Update ctx with a specialty/doctor named in the message; True when something changed."""
        message = source or self.message
        text = message_text(message)
        specs = await self.specialties()
        slugs = {str(s.get("slug")) for s in specs}
        names = {str(s.get("slug")): str(s.get("name")) for s in specs}
        changed = False
        doctor = None
        raw_doctor = entity_value(message, "doctor")
        if raw_doctor or re.search(r"\b(?:dr|dra|doutor|doutora)\b", normalize(text)):
            doctor = match_doctor(f"dr {raw_doctor}" if raw_doctor else text, await self.doctors())
        if doctor is not None and doctor.get("id") != ctx.get("doctor_id"):
            ctx.update(
                doctor_id=doctor.get("id"),
                doctor_name=doctor.get("name"),
                specialty=doctor.get("specialty"),
                specialty_name=doctor.get("specialty_name") or names.get(str(doctor.get("specialty"))),
            )
            changed = True
        slug = entity_value(message, "specialty")
        if slug not in slugs:
            slug = match_specialty(text, specs)
        if slug and slug in slugs and slug != ctx.get("specialty") and doctor is None:
            ctx.update(specialty=slug, specialty_name=names.get(slug), doctor_id=None, doctor_name=None)
            changed = True
        return changed

    def read_when(self, text: str | None = None) -> WhenRange | None:
        chosen = entity_value(self.message, "when")
        if chosen:
            return parse_when(str(chosen), self.now)
        return parse_when(self.text if text is None else text, self.now)

    # -- asking ------------------------------------------------------------------------------

    async def ask_specialty(self, ctx: dict[str, Any]) -> list[EventType]:
        buttons = [
            {"title": str(s.get("name")), "payload": '/inform{"specialty":"' + str(s.get("slug")) + '"}'}
            for s in await self.specialties()
        ]
        self.d.utter_message(response="utter_booking_ask_specialty", buttons=buttons)
        ctx["step"] = "specialty"
        return self.keep(ctx)

    def ask_when(self, ctx: dict[str, Any], response: str = "utter_booking_ask_when", **kwargs: Any) -> list[EventType]:
        self.d.utter_message(response=response, buttons=when_buttons(), **kwargs)
        ctx["step"] = "when"
        return self.keep(ctx)

    async def fetch_slots(self, ctx: dict[str, Any], when: WhenRange, exclude: set[str]) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []
        start = max(when.start, self.now)
        doctor_id = ctx.get("doctor_id")
        for _ in range(4):
            batch = await self.api.slots(
                specialty=None if doctor_id else ctx.get("specialty"),
                doctor_id=doctor_id,
                start=start,
                end=when.end,
                limit=SLOT_PAGE,
            )
            batch = list(batch or [])
            for slot in batch:
                begin = parse_dt(slot.get("start"))
                if begin is not None and when.matches(begin) and str(slot.get("slot_id")) not in exclude:
                    collected.append(slot)
            if len(batch) < SLOT_PAGE or len(collected) >= 4 * MAX_OFFERED:
                break
            last = parse_dt(batch[-1].get("start"))
            if last is None:
                break
            start = last + timedelta(minutes=1)
        multi_day = (when.end - when.start) > timedelta(days=1)
        return pick_slots(collected, MAX_OFFERED, per_day=2 if multi_day and not when.asap else None)

    async def offer_slots(
        self, ctx: dict[str, Any], exclude: set[str] | None = None, intro: str | None = None
    ) -> list[EventType]:
        when = WhenRange.from_dict(ctx["when"])
        what = what_phrase(ctx)
        if when.expired(self.now):
            ctx.pop("when", None)
            return self.ask_when(ctx, "utter_booking_when_past")
        try:
            slots = await self.fetch_slots(ctx, when, exclude or set())
            if not slots and ctx.get("doctor_id") and ctx.get("specialty"):
                # the same doctor has nothing then: look at the whole specialty
                other = dict(ctx, doctor_id=None)
                slots = await self.fetch_slots(other, when, exclude or set())
                what = what_phrase(dict(ctx, doctor_name=None))  # nobody of the specialty, if still empty
                if slots:
                    self.d.utter_message(
                        response="utter_booking_other_doctors", doctor=ctx.get("doctor_name"), when=when.description
                    )
            names = await self.specialty_names()
        except ClinicApiError as exc:
            return self.api_error(exc, ctx)
        if not slots:
            ctx["step"] = "when"
            ctx["offered"] = []
            if when.day_given or when.time_from or when.time_to:
                self.d.utter_message(
                    response="utter_booking_no_slots",
                    what=what,
                    when=when.description,
                    buttons=[{"title": "Próximos livres", "payload": when_payload("o quanto antes")}, HUMAN_BUTTON],
                )
            else:
                self.d.utter_message(response="utter_booking_no_slots_soon", what=what, buttons=[HUMAN_BUTTON])
            return self.keep(ctx)
        offered: list[dict[str, Any]] = [
            {
                "slot_id": str(s.get("slot_id")),
                "start": s.get("start"),
                "doctor_id": s.get("doctor_id"),
                "doctor_name": s.get("doctor_name"),
                "specialty": s.get("specialty"),
                "specialty_name": names.get(str(s.get("specialty"))) or ctx.get("specialty_name"),
                "title": slot_title(s, names),
            }
            for s in slots
        ]
        if intro is None and is_exact_time(when):
            # "quinta às 9": when exactly one slot starts at that time, go straight to confirming it
            at_time = [
                o for o in offered if (b := parse_dt(o["start"])) and b.astimezone(CLINIC_TZ).time() == when.time_from
            ]
            if len(at_time) == 1:
                ctx["offered"] = at_time
                return await self._choose(ctx, dict(at_time[0]))
        ctx.update(offered=offered, step="slot")
        buttons = [{"title": o["title"], "payload": slot_payload(o["slot_id"])} for o in offered]
        self.d.utter_message(
            response=intro or "utter_booking_offer_slots",
            what=what,
            when=when.description,
            buttons=buttons,
        )
        return self.keep(ctx)

    async def ask_identity_or_confirm(self, ctx: dict[str, Any]) -> list[EventType]:
        if ctx.get("mode") == "book" and not ctx.get("identified"):
            pid = patient_id(self.tracker)
            if pid is None:
                return await self.no_identity()
            try:
                patient = await self.api.patient(pid)
            except ClinicApiError as exc:
                return self.api_error(exc, ctx)
            if not (patient.get("cpf_known") or patient.get("birth_date_known")):
                ctx["step"] = "cpf"
                self.d.utter_message(
                    response="utter_booking_ask_cpf", buttons=[{"title": "Não tenho CPF", "payload": "/deny"}]
                )
                return self.keep(ctx)
            ctx["identified"] = True
        return self.ask_confirm(ctx)

    def ask_confirm(self, ctx: dict[str, Any]) -> list[EventType]:
        slot = ctx["slot"]
        start = parse_dt(slot.get("start"))
        when = long_when(start) if start else ""
        if ctx.get("mode") == "reschedule":
            old = parse_dt((ctx.get("appointment") or {}).get("start"))
            self.d.utter_message(
                response="utter_reschedule_confirm",
                old=long_when(old) if old else "",
                new=when,
                doctor=slot.get("doctor_name"),
                buttons=YES_NO_BUTTONS,
            )
        else:
            self.d.utter_message(
                response="utter_booking_confirm",
                specialty=slot.get("specialty_name") or ctx.get("specialty_name") or "",
                doctor=slot.get("doctor_name"),
                when=on_day(start) if start else "",
                buttons=YES_NO_BUTTONS,
            )
        ctx["step"] = "confirm"
        return self.keep(ctx)

    async def advance(self, ctx: dict[str, Any]) -> list[EventType]:
        """Ask for the next missing piece, or offer slots when everything is known."""
        if not ctx.get("specialty") and not ctx.get("doctor_id"):
            return await self.ask_specialty(ctx)
        if not ctx.get("when"):
            if ctx.get("mode") == "reschedule":
                appt = ctx.get("appointment") or {}
                start = parse_dt(appt.get("start"))
                return self.ask_when(
                    ctx,
                    "utter_reschedule_ask_when",
                    appointment=f"{long_when(start) if start else ''} com {appt.get('doctor_name')}",
                )
            return self.ask_when(ctx)
        return await self.offer_slots(ctx)

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
        message = source or self.message
        pid = patient_id(self.tracker)
        if pid is None:
            return await self.no_identity()
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
        if chosen is None:
            # the date in "remarcar a de quinta" names the appointment, not the new date
            ctx.update(step="pick_appointment", options=options)
            self.d.utter_message(
                response="utter_reschedule_pick",
                buttons=[{"title": appointment_label(o), "payload": appointment_payload(o["id"])} for o in options],
            )
            return self.keep(ctx)
        if len(options) > 1:
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

    def _offered(self, ctx: dict[str, Any], slot_id: Any) -> dict[str, Any] | None:
        for option in ctx.get("offered") or []:
            if option.get("slot_id") == str(slot_id):
                return dict(option)
        return None

    async def _choose(self, ctx: dict[str, Any], slot: dict[str, Any]) -> list[EventType]:
        ctx.update(slot=slot, misses=0)
        return await self.ask_identity_or_confirm(ctx)

    async def _clicked_slot(self, ctx: dict[str, Any], slot_id: Any) -> list[EventType]:
        chosen = self._offered(ctx, slot_id)
        if chosen is not None:
            return await self._choose(ctx, chosen)
        # an old button (from an earlier list): show the current options again
        self.d.utter_message(response="utter_booking_expired_option")
        if ctx.get("when"):
            return await self.offer_slots(ctx)
        return await self.advance(ctx)

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

    async def on_cpf(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        cpf = entity_value(self.message, "cpf")
        cpf = find_cpf(str(cpf)) if cpf else find_cpf(self.text)
        if cpf is not None:
            if not valid_cpf(cpf):
                return await self.miss(
                    ctx, "utter_booking_cpf_invalid", buttons=[{"title": "Não tenho CPF", "payload": "/deny"}]
                )
            return await self.identify(ctx, cpf=cpf)
        born = parse_birth_date(self.text, self.now.date())
        if born is not None:
            return await self.identify(ctx, birth_date=born)
        if self.intent == "deny" or _NO_ID_RE.search(normalize(self.text)):
            ctx.update(step="birth_date", misses=0)
            self.d.utter_message(response="utter_booking_ask_birth_date")
            return self.keep(ctx)
        return await self.miss(
            ctx, "utter_booking_cpf_invalid", buttons=[{"title": "Não tenho CPF", "payload": "/deny"}]
        )

    async def on_birth_date(self, ctx: Ctx) -> list[EventType]:
        if self.slot_id:
            return await self._clicked_slot(ctx, self.slot_id)
        born = parse_birth_date(self.text, self.now.date())
        if born is None:
            return await self.miss(ctx, "utter_booking_birth_date_invalid")
        return await self.identify(ctx, cpf=ctx.pop("pending_cpf", None), birth_date=born)

    async def identify(
        self, ctx: dict[str, Any], cpf: str | None = None, birth_date: date | None = None
    ) -> list[EventType]:
        pid = patient_id(self.tracker)
        if pid is None:
            return await self.no_identity()
        try:
            await self.api.identify(pid, cpf=cpf, birth_date=birth_date)
        except ClinicApiError as exc:
            log.info("booking: identify refused status=%s code=%s", exc.status, exc.code)
            if exc.code == "birth_date_required" and cpf:
                ctx.update(step="birth_date", pending_cpf=cpf, misses=0)
                self.d.utter_message(response="utter_booking_birth_date_to_confirm")
                return self.keep(ctx)
            if exc.code == "invalid_cpf":
                return await self.miss(
                    ctx, "utter_booking_cpf_invalid", buttons=[{"title": "Não tenho CPF", "payload": "/deny"}]
                )
            if exc.status in (400, 409):
                self.d.utter_message(response="utter_booking_identity_mismatch")
                await hand_off(self.d, self.api, reason="human", note=f"identificação recusada ({exc.code})")
                return self.done()
            return self.api_error(exc, ctx)
        ctx.pop("pending_cpf", None)
        ctx.update(identified=True, misses=0)
        return self.ask_confirm(ctx)

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
