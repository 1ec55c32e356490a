"""Offering slots in the booking flow: the specialty or doctor and the date a message names, the
questions that ask for them, and the free slots fetched from the clinic API and offered as buttons
(or the one slot at the exact time asked, chosen at once).

`SlotOffer` is the lowest layer of `BookingFlow` (actions/booking.py); it registers no flow (it sets
no `name`). What follows a chosen slot (identifying the patient, then "Confirma a consulta…?") is
`ask_identity_or_confirm`, defined by the layer above (actions/booking_identity.py).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from clinic_nlu.dates import CLINIC_TZ, WhenRange, normalize, parse_when
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker

from actions.appointments import match_doctor, match_specialty
from actions.booking_slots import (
    MAX_OFFERED,
    SLOT_PAGE,
    is_exact_time,
    pick_slots,
    slot_payload,
    slot_title,
    what_phrase,
    when_buttons,
    when_payload,
)
from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import HUMAN_BUTTON, entity_value, message_text
from actions.flow import Flow
from actions.formatting import long_when, parse_dt


def waitlist_button(ctx: dict[str, Any]) -> list[dict[str, str]]:
    """The button "Entrar na lista de espera" for the specialty (and doctor) asked, when one is
    known: the hub offers the patient a freed slot later (actions/waitlist.py)."""
    if not ctx.get("specialty"):
        return []
    doctor = str(ctx.get("doctor_id") or "")
    payload = "/waitlist_join" + json.dumps(
        {"specialty": str(ctx["specialty"]), "doctor_id": doctor}, separators=(",", ":")
    )
    return [{"title": "Entrar na lista de espera", "payload": payload}]


class SlotOffer(Flow):
    """The booking flow's data, understanding and asking, up to the offered slots."""

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker, api: ClinicApi) -> None:
        super().__init__(dispatcher, tracker, api)
        self.slot_id = entity_value(self.message, "slot_id")
        self._specialties: list[dict[str, Any]] | None = None
        self._doctors: list[dict[str, Any]] | None = None

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
            down = await self.agenda_down(exc)
            return down if down is not None else self.api_error(exc, ctx)
        if not slots:
            ctx["step"] = "when"
            ctx["offered"] = []
            if when.day_given or when.time_from or when.time_to:
                self.d.utter_message(
                    response="utter_booking_no_slots",
                    what=what,
                    when=when.description,
                    buttons=[
                        {"title": "Próximos livres", "payload": when_payload("o quanto antes")},
                        *waitlist_button(ctx),
                        HUMAN_BUTTON,
                    ],
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

    # -- a chosen slot -----------------------------------------------------------------------

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

    async def ask_identity_or_confirm(self, ctx: dict[str, Any]) -> list[EventType]:
        """The step after a slot is chosen (actions/booking_identity.py)."""
        raise NotImplementedError
