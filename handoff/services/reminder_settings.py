"""Reminder settings (/lembretes, access category "reminder_settings"): the schedule per
specialty (`rules_view`, `save_rule`) and the clinic's own text per kind (`texts_view`,
`save_text`; table `reminder_texts`, no row = the built-in text), a preview per channel filled
with a sample appointment (`preview`) and a test e-mail to the staff member themself (`send_test`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from connectors import email_replies as email_connector
from connectors import twilio as twilio_connector
from connectors.base import Button, ChannelSender, OutboundMessage
from handoff.adapters.sql import reminder_store as rs
from handoff.adapters.sql.models import ClinicProfile, SpecialtyRow
from handoff.adapters.sql.models_reminders import ReminderRuleRow, ReminderTextRow
from handoff.domain import reminders as rules
from handoff.domain.errors import NotFound
from handoff.domain.messages import Sender
from handoff.services.reminder_texts import (
    BUILT_IN_BODY,
    CONFIRM_PATH,
    MAX_OFFSETS,
    PLACEHOLDERS,
    PREVIEW_CHANNELS,
    SAMPLE_CARD,
    SAMPLE_NOTES,
    TEXT_MAX,
    buttons,
    iso_time,
    kind_label,
    reminder_text,
    rule_view,
    sample_start,
    settings_error,
)
from handoff.services.unit_of_work import UnitOfWork
from handoff.settings import Settings


class ReminderSettings:
    """The /lembretes use cases (a part of `ReminderService`)."""

    uow: UnitOfWork
    settings: Settings

    async def rules_view(self) -> dict[str, Any]:
        """The clinic's default schedule and each specialty's own (None = follows the default)."""
        async with self.uow() as (session, _):
            by_specialty = await rs.rules(session)
            specialties = (await session.execute(select(SpecialtyRow).order_by(SpecialtyRow.name))).scalars().all()
        return {"default": rule_view(by_specialty[None]), "max_offsets": MAX_OFFSETS,
                "max_offset_hours": rules.MAX_OFFSET_HOURS,
                "specialties": [{"specialty_id": sp.id, "name": sp.name,
                                 "rule": rule_view(by_specialty[sp.id]) if sp.id in by_specialty else None}
                                for sp in specialties]}

    async def save_rule(self, specialty_id: int | None, rule: rules.ReminderRule | None, now: datetime) -> None:
        """Set the default (`specialty_id` None) or one specialty's schedule; `rule` None makes
        the specialty follow the default again. Reminders already planned keep their times."""
        async with self.uow() as (session, _):
            if specialty_id is not None and await session.get(SpecialtyRow, specialty_id) is None:
                raise NotFound("not_found", "Especialidade não encontrada.")
            q = select(ReminderRuleRow).where(ReminderRuleRow.specialty_id.is_(None) if specialty_id is None
                                              else ReminderRuleRow.specialty_id == specialty_id)
            row = (await session.execute(q)).scalars().first()
            if rule is None:
                if specialty_id is None:
                    raise settings_error("A regra padrão da clínica não pode ser removida.")
                if row is not None:
                    await session.delete(row)
                return
            if row is None:
                row = ReminderRuleRow(specialty_id=specialty_id)
                session.add(row)
            row.offsets_hours, row.morning_of, row.enabled = list(rule.offsets_hours), rule.morning_of, rule.enabled
            row.updated_at = now

    async def texts_view(self) -> dict[str, Any]:
        """Every reminder kind the schedules produce (and any with a stored text): the clinic's
        text (None = built-in), the placeholders, and the WhatsApp template (read-only)."""
        async with self.uow() as (session, _):
            by_specialty = await rs.rules(session)
            stored = {t.kind: t for t in (await session.execute(select(ReminderTextRow))).scalars()}
        kinds = {"48h", "24h", rules.MORNING_KIND, *stored}
        for rule in by_specialty.values():
            kinds.update(rules.offset_kind(h) for h in rule.offsets_hours)
        order = sorted(kinds, key=lambda k: (k == rules.MORNING_KIND, -int(k[:-1]) if k[:-1].isdigit() else 0))
        return {"placeholders": [{"name": k, "label": v} for k, v in PLACEHOLDERS.items()],
                "max_length": TEXT_MAX, "built_in": BUILT_IN_BODY,
                "whatsapp_template": self._template_info(),
                "texts": [{"kind": k, "label": kind_label(k), "body": stored[k].body if k in stored else None,
                           "updated_at": iso_time(stored[k].updated_at) if k in stored else None} for k in order]}

    async def save_text(self, kind: str, body: str | None, staff_id: int | None, now: datetime) -> None:
        """Store the clinic's text of `kind` (validated); None = back to the built-in text."""
        async with self.uow() as (session, _):
            row = await session.get(ReminderTextRow, kind)
            if body is None:
                if row is not None:
                    await session.delete(row)
                return
            if row is None:
                row = ReminderTextRow(kind=kind)
                session.add(row)
            row.body, row.updated_by, row.updated_at = body, staff_id, now

    async def stored_text(self, kind: str) -> str | None:
        """The clinic's text of `kind` (None = built-in)."""
        async with self.uow() as (session, _):
            row = await session.get(ReminderTextRow, kind)
            return row.body if row is not None else None

    async def preview(self, kind: str, channel: str, body: str | None, now: datetime, *,
                      use_stored: bool = True) -> dict[str, Any]:
        """The reminder of `kind` as `channel` shows it, for a sample appointment. `body` is the
        draft being edited; without one (and `use_stored`) the saved text, else the built-in."""
        if channel not in PREVIEW_CHANNELS:
            raise settings_error("Canal de prévia inválido: use whatsapp, sms ou email.")
        if body is None and use_stored:
            body = await self.stored_text(kind)
        async with self.uow() as (session, _):
            profile = await session.get(ClinicProfile, 1)
        card = {**SAMPLE_CARD, "address": (profile.address if profile is not None and profile.address
                                           else SAMPLE_CARD["address"])}
        start = sample_start(now)
        sample_buttons = [Button(b["title"], b["payload"]) for b in buttons(0)]
        link = (self.settings.public_base_url.rstrip("/") + CONFIRM_PATH.replace("{token}", "exemplo")
                if channel == "email" else None)
        text = reminder_text(card, start, SAMPLE_NOTES, link, body)
        message = OutboundMessage(message_id=0, conversation_id="preview", channel=channel, external_user_id="",
                                  sender=Sender.SYSTEM.value, text=text, buttons=tuple(sample_buttons))
        out: dict[str, Any] = {"kind": kind, "channel": channel, "custom": bool(body)}
        if channel == "whatsapp":
            # Inside the 24-hour window: the text with three reply buttons. Outside it the
            # provider-approved template goes instead (shown read-only on the page).
            out.update(text=text, buttons=[b.title for b in sample_buttons], template=self._template_info())
        elif channel == "sms":
            out.update(text=twilio_connector.render_text(message), buttons=[])
        else:
            out.update(text=email_connector.render_text(message), buttons=[], link=link)
        return out

    async def send_test(self, sender: ChannelSender, to_address: str, kind: str, body: str | None,
                        now: datetime) -> None:
        """E-mail the reminder preview to a staff member's own address through the hub's e-mail
        sender (raises the sender's ChannelError when the server refuses)."""
        shown = await self.preview(kind, "email", body, now)
        message = OutboundMessage(message_id=0, conversation_id=f"reminder-test-{uuid.uuid4().hex[:12]}",
                                  channel="email", external_user_id=to_address, sender=Sender.SYSTEM.value,
                                  text="[Teste de lembrete — dados de exemplo]\n\n" + shown["text"])
        await sender.send(message)

    def _template_info(self) -> dict[str, Any] | None:
        for t in self.settings.whatsapp_templates:
            if t.id == self.settings.reminder_template_id:
                return {"id": t.id, "name": t.name, "body": t.body, "variables": list(t.variables),
                        "twilio_content_sid": t.twilio_content_sid, "meta_name": t.meta_name,
                        "language": t.language}
        return None
