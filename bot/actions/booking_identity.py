"""Identifying the patient in the booking flow: after a slot is chosen, a patient the clinic
does not know yet by CPF or birth date is asked for one (steps `cpf` and `birth_date`), the hub
checks it, and the flow asks "Confirma a consulta…?" (step `confirm`, answered in
actions/booking.py).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from clinic_nlu.cpf import find_cpf, valid_cpf
from clinic_nlu.dates import normalize, parse_birth_date
from rasa_sdk.events import EventType

from actions.booking_offer import SlotOffer
from actions.clinic_api import ClinicApiError, patient_id
from actions.common import YES_NO_BUTTONS, entity_value
from actions.flow import Ctx
from actions.formatting import long_when, on_day, parse_dt
from actions.handoff import hand_off

# the booking flow's logger (its log lines read "booking: ..." wherever the code lives)
log = logging.getLogger("actions.booking")

_NO_ID_RE = re.compile(r"\b(?:nao tenho|n tenho|nao sei|nao lembro|sem cpf|nao possuo|estrangeir[oa])\b")


class PatientIdentity(SlotOffer):
    """The booking flow's identity steps and its confirm question."""

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
