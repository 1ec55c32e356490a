"""Appointment reminders (issue 15): plan them, send each exactly once, record what happened.

- `plan(now)`: for active appointments starting in the next REMINDER_HORIZON_HOURS, insert the
  reminder rows they lack (the unique key (appointment, kind, planned start) makes it idempotent
  across replicas); scheduled rows of cancelled/done/moved appointments become
  `skipped_inactive`; sent rows get their delivery/read time from the message row and a reply
  derived from the appointment (confirmed / cancelled / moved after the send).
- `send_due(now)`: claim due rows with a lease (one sender per reminder on any number of
  replicas), then per row, in ONE transaction: skip with a status (stale, inactive, opt-out, no
  contact) or queue one outbound message in the outbox and mark the row `sent` with its id. A
  crash before that commit leaves the lease to expire and the row is claimed again; after the
  commit the row is sent and never claimed again.
- Channel: the patient's most recent conversation. WhatsApp outside the 24-hour window goes as
  the configured template (payload.template); other channels get text + buttons (SMS renders
  them as numbered options), e-mail a confirm link (capability token, only its SHA-256 kept).
- Settings (/lembretes, access category "reminder_settings"): the schedule per specialty
  (`rules_view`, `save_rule`) and the clinic's own text per kind (`texts_view`, `save_text`;
  table `reminder_texts`, placeholders {nome} {quando} {medico} {especialidade} {endereco}
  {preparo}; no row = the built-in text), a preview per channel filled with a sample
  appointment (`preview`) and a test e-mail to the staff member themself (`send_test`).

Logs carry ids and status codes, never message text or personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import statistics
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from connectors import email as email_connector
from connectors import twilio as twilio_connector
from connectors.base import Button, ChannelSender, OutboundMessage
from handoff.adapters.sql import reminder_store as rs
from handoff.adapters.sql import store
from handoff.adapters.sql import waitlist_store as ws
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AppointmentRow, ClinicProfile, SpecialtyRow
from handoff.adapters.sql.models_reminders import ReminderOptOutRow, ReminderRow, ReminderRuleRow, ReminderTextRow
from handoff.domain import reminders as rules
from handoff.domain.clinic.calendar import at, to_clinic
from handoff.domain.errors import Invalid, NotFound
from handoff.domain.messages import Sender
from handoff.domain.messaging_window import META_MESSAGING_CHANNELS, WHATSAPP_CHANNELS, window_state
from handoff.domain.reminders import ReminderStatus as S
from handoff.services.unit_of_work import WORK_TOPIC, UnitOfWork
from handoff.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
CONFIRM_PATH = "/lembrete/{token}/confirmar"
REMINDER_EVENT = "reminder_sent"  # conversation event {reminder_id, appointment_id, message_id}


def token_digest(token: str) -> str:
    """SHA-256 of a confirm token (the only form stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def buttons(appointment_id: int) -> list[dict[str, str]]:
    """Confirmar / Cancelar / Remarcar, as payloads the bot reads (intents of bot/domain/intents.yml)."""
    ref = f'{{"appointment_id":"{appointment_id}"}}'
    return [{"title": "Confirmar", "payload": "/confirm_appointment" + ref},
            {"title": "Cancelar", "payload": "/cancel_appointment" + ref},
            {"title": "Remarcar", "payload": "/reschedule_appointment" + ref}]


def when_text(start: datetime) -> tuple[str, str]:
    """('quinta-feira, 10/12', '09:30') on the clinic's clock."""
    local = to_clinic(start)
    return f"{WEEKDAYS[local.weekday()]}, {local:%d/%m}", f"{local:%H:%M}"


def reminder_text(card: dict[str, Any], start: datetime, notes: str | None, confirm_link: str | None,
                  body: str | None = None) -> str:
    """The pt-BR reminder: date, time, doctor, specialty, address, preparation notes. `body` is
    the clinic's own text (placeholders filled in); None = the built-in wording. An e-mail always
    ends with the confirm link."""
    if body:
        lines = [fill(body, placeholder_values(card, start, notes))]
    else:
        day, clock = when_text(start)
        name = card.get("patient_name") or ""
        hello = f"Olá, {name.split()[0]}!" if name.strip() else "Olá!"
        who = f" de {card['specialty']}" if card.get("specialty") else ""
        doctor = f" com {card['doctor']}" if card.get("doctor") else ""
        lines = [f"{hello} Lembrete da sua consulta{who}{doctor} na {day}, às {clock}."]
        if card.get("address"):
            lines.append(f"Endereço: {card['address']}.")
        if notes:
            lines.append(f"Preparo: {notes}")
        if not confirm_link:
            lines.append("Você confirma sua presença?")
    if confirm_link:
        lines.append(f"Para confirmar sua presença, acesse: {confirm_link}")
        lines.append("Para cancelar ou remarcar, responda este e-mail.")
    return "\n".join(lines)


# --- editable texts and schedules (/lembretes) ----------------------------------------------

PLACEHOLDERS: dict[str, str] = {
    "nome": "primeiro nome do(a) paciente", "quando": "dia e horário da consulta",
    "medico": "nome do(a) médico(a)", "especialidade": "especialidade",
    "endereco": "endereço da clínica", "preparo": "orientações de preparo da especialidade",
}
BUILT_IN_BODY = ("Olá, {nome}! Lembrete da sua consulta de {especialidade} com {medico} na {quando}.\n"
                 "Endereço: {endereco}.\nPreparo: {preparo}\nVocê confirma sua presença?")
TEXT_MAX = 1000
MAX_OFFSETS = 4
PREVIEW_CHANNELS = ("whatsapp", "sms", "email")
_FIELD = re.compile(r"\{([^{}]*)\}")
_KIND = re.compile(r"^(morning|[1-9][0-9]{0,2}h)$")
SAMPLE_CARD: dict[str, Any] = {"patient_name": "Maria Silva", "doctor": "Dra. Ana Souza", "specialty": "Cardiologia",
                               "address": "Rua Exemplo, 100 - Centro"}
SAMPLE_NOTES = "Traga seus exames anteriores e chegue 15 minutos antes."


class ReminderSettingsError(Invalid):
    """A refused settings change: code and a pt-BR message for the staff."""


def _invalid(message: str) -> ReminderSettingsError:
    return ReminderSettingsError("invalid_body", message)


def fill(body: str, values: dict[str, str]) -> str:
    """`body` with each known {placeholder} replaced (a regex, not str.format: a stored text must
    never reach attributes or indexes of the values)."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), body).strip()


def placeholder_values(card: dict[str, Any], start: datetime, notes: str | None) -> dict[str, str]:
    """The values of the placeholders for one appointment."""
    day, clock = when_text(start)
    name = (card.get("patient_name") or "").split()
    return {"nome": name[0] if name else "paciente", "quando": f"{day}, às {clock}",
            "medico": card.get("doctor") or "", "especialidade": card.get("specialty") or "",
            "endereco": card.get("address") or "", "preparo": notes or ""}


def check_body(body: Any) -> str | None:
    """A text the staff submitted, validated (None or blank = back to the built-in text)."""
    if body is None:
        return None
    if not isinstance(body, str):
        raise _invalid("O texto do lembrete deve ser um texto.")
    text: str = body.strip()
    if not text:
        return None
    if len(text) > TEXT_MAX:
        raise _invalid(f"O texto do lembrete tem {len(text)} caracteres; o máximo é {TEXT_MAX}.")
    unknown = [m.group(0) for m in _FIELD.finditer(text) if m.group(1) not in PLACEHOLDERS]
    if unknown:
        known = " ".join("{" + k + "}" for k in PLACEHOLDERS)
        raise _invalid(f"Campo desconhecido no texto: {unknown[0]}. Use apenas: {known}.")
    rest = _FIELD.sub("", text)
    if "{" in rest or "}" in rest:
        raise _invalid("Há uma chave { ou } sem par no texto; os campos são escritos assim: {nome}.")
    return text


def check_kind(kind: Any) -> str:
    """A reminder kind: `morning` or `<n>h` with n from 1 to 168."""
    if not isinstance(kind, str) or not _KIND.match(kind) or (
            kind != rules.MORNING_KIND and not 1 <= int(kind[:-1]) <= rules.MAX_OFFSET_HOURS):
        raise _invalid("Tipo de lembrete inválido: use \"morning\" ou horas antes da consulta, como \"24h\".")
    return kind


def check_rule(data: Any) -> rules.ReminderRule:
    """A schedule the staff submitted: 1 to 4 distinct offsets of 1–168 hours, two flags."""
    if not isinstance(data, dict):
        raise _invalid("Envie a regra como um objeto JSON.")
    offsets = data.get("offsets_hours")
    if not isinstance(offsets, list) or any(isinstance(h, bool) or not isinstance(h, int) for h in offsets):
        raise _invalid("Informe as antecedências em horas, como números inteiros (ex.: 48 e 24).")
    if len(offsets) > MAX_OFFSETS:
        raise _invalid(f"No máximo {MAX_OFFSETS} lembretes antes da consulta.")
    if any(not 1 <= h <= rules.MAX_OFFSET_HOURS for h in offsets):
        raise _invalid(f"Cada antecedência deve ficar entre 1 e {rules.MAX_OFFSET_HOURS} horas (7 dias).")
    if len(set(offsets)) != len(offsets):
        raise _invalid("Há antecedências repetidas.")
    for flag, label in (("morning_of", "lembrete na manhã da consulta"), ("enabled", "lembretes ativos")):
        if not isinstance(data.get(flag), bool):
            raise _invalid(f"Informe sim ou não para \"{label}\".")
    return rules.ReminderRule(tuple(sorted(offsets, reverse=True)), data["morning_of"], data["enabled"])


def rule_view(rule: rules.ReminderRule) -> dict[str, Any]:
    """A schedule as JSON."""
    return {"offsets_hours": list(rule.offsets_hours), "morning_of": rule.morning_of, "enabled": rule.enabled}


def kind_label(kind: str) -> str:
    """`24h` -> '24 horas antes'; `morning` -> 'Manhã da consulta'."""
    return "Manhã da consulta (08:00)" if kind == rules.MORNING_KIND else f"{kind[:-1]} horas antes"


def sample_start(now: datetime) -> datetime:
    """The sample appointment of the preview: two days from now, 09:30 clinic time."""
    return at(to_clinic(now).date() + timedelta(days=2), time(9, 30)).astimezone(UTC)


class ReminderService:
    """Plans and sends reminders; every method takes `now` (the tests' clock)."""

    def __init__(self, uow: UnitOfWork, settings: Settings, *, owner: str | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.owner = owner or f"rem-{uuid.uuid4().hex[:12]}"

    # --- planning ------------------------------------------------------------------------

    async def plan(self, now: datetime) -> dict[str, int]:
        """Insert missing rows, retire rows of changed appointments, derive replies; idempotent."""
        horizon = now + timedelta(hours=self.settings.reminder_horizon_hours)
        counts = {"planned": 0, "inactive": 0, "replies": 0}
        async with self.uow() as (session, _):
            by_specialty = await rs.rules(session)
            appts = await rs.upcoming(session, now, horizon)
            have = {(r.appointment_id, r.kind, as_utc(r.appointment_start))
                    for r in await rs.existing(session, [a.id for a, _ in appts])}
            new: list[dict[str, Any]] = []
            for a, specialty_id in appts:
                start = as_utc(a.starts_at)
                created = as_utc(a.created_at)
                assert start is not None and created is not None
                rule = by_specialty.get(specialty_id, by_specialty[None])
                for p in rules.schedule(start, rule):
                    if (a.id, p.kind, start) in have or not rules.owed(p.due_at, created):
                        continue
                    new.append({"appointment_id": a.id, "patient_id": a.patient_id, "kind": p.kind,
                                "appointment_start": start, "due_at": p.due_at, "status": S.SCHEDULED.value,
                                "attempts": 0, "details": {"doctor_id": a.doctor_id, "specialty_id": specialty_id},
                                "created_at": now, "updated_at": now})
            counts["planned"] = await rs.insert_missing(session, self.uow.dialect, new)
            for waiting, appt in await rs.scheduled_with_appointments(session):
                if not _active_for(waiting, appt):
                    waiting.status, waiting.last_error, waiting.updated_at = S.SKIPPED_INACTIVE.value, "inactive", now
                    counts["inactive"] += 1
            since = now - timedelta(days=self.settings.reminder_reply_days)
            for sent, sent_appt, msg in await rs.sent_open(session, since):
                counts["replies"] += _observe(sent, sent_appt, msg, now)
        return counts

    # --- sending -------------------------------------------------------------------------

    async def claim(self, now: datetime, owner: str | None = None) -> int | None:
        """Lease one due reminder (committed); its id, or None when nothing is due."""
        async with self.uow() as (session, _):
            row = await rs.claim(session, self.uow.dialect, owner or self.owner,
                                 self.settings.reminder_lease_seconds, now)
            return row.id if row is not None else None

    async def deliver(self, reminder_id: int, now: datetime, owner: str | None = None) -> str | None:
        """Skip or queue the claimed reminder, in one transaction; the status it ended in (None
        when the lease was lost)."""
        async with self.uow() as (session, events):
            row = await rs.owned(session, reminder_id, owner or self.owner, now)
            if row is None:
                return None
            status = await self._decide(session, row, now)
            row.lease_owner, row.lease_until, row.updated_at = None, None, now
            if status == S.SENT.value and row.conversation_id:
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": row.conversation_id})
            log.info("reminder %s of appointment %s: %s", row.id, row.appointment_id, status)
            return status

    async def send_due(self, now: datetime, limit: int = 500) -> dict[str, int]:
        """Claim and handle due reminders until none is left (or `limit`); counts by status."""
        done: dict[str, int] = {}
        for _ in range(limit):
            rid = await self.claim(now)
            if rid is None:
                break
            status = await self.deliver(rid, now)
            if status is not None:
                done[status] = done.get(status, 0) + 1
        return done

    async def _decide(self, session: Any, row: ReminderRow, now: datetime) -> str:
        appt = await session.get(AppointmentRow, row.appointment_id)
        planned_start = as_utc(row.appointment_start)
        due = as_utc(row.due_at)
        assert planned_start is not None and due is not None
        if not _active_for(row, appt) or planned_start <= now:
            return _skip(row, S.SKIPPED_INACTIVE, "inactive")
        if rules.is_stale(row.kind, due, now):
            return _skip(row, S.SKIPPED_STALE, "stale")
        if await rs.opted_out(session, row.patient_id):
            return _skip(row, S.SKIPPED_OPT_OUT, "opt_out")
        conv = await rs.contact_conversation(session, row.patient_id)
        if conv is None:
            return _skip(row, S.SKIPPED_NO_CONTACT, "no_contact")
        card = await rs.appointment_card(session, appt)
        if card["patient_erased"]:
            return _skip(row, S.SKIPPED_NO_CONTACT, "erased")
        payload: dict[str, Any] = {"reminder_id": row.id, "appointment_id": row.appointment_id,
                                   "buttons": buttons(row.appointment_id)}
        link: str | None = None
        window = window_state(conv.channel, as_utc(conv.last_inbound_at), now)
        if conv.channel in WHATSAPP_CHANNELS and not window.open:
            template = self._template(conv.channel)
            if template is None:
                return _skip(row, S.FAILED, "no_template")
            # The template's quick-reply buttons carry the same payloads as the free-text buttons
            # (`button_payloads`, in button order) so a tap binds to this appointment.
            payload["template"] = {**template, "variables": _template_values(card, planned_start),
                                   "button_payloads": [b["payload"] for b in payload["buttons"]]}
        elif conv.channel in META_MESSAGING_CHANNELS and not window.open:
            return _skip(row, S.SKIPPED_NO_CONTACT, "window_closed")
        if conv.channel == "email":
            token = secrets.token_urlsafe(32)
            row.token_hash = token_digest(token)
            link = self.settings.public_base_url.rstrip("/") + CONFIRM_PATH.format(token=token)
        notes = self.settings.reminder_preparation_notes.get(str(card.get("specialty_slug") or ""))
        own = await session.get(ReminderTextRow, row.kind)
        text = reminder_text(card, planned_start, notes, link, own.body if own is not None else None)
        msg = store.add_outbound(session, conv, Sender.SYSTEM, text, payload)
        await session.flush()
        await store.add_event(session, conv.id, REMINDER_EVENT, "system",
                              {"reminder_id": row.id, "appointment_id": row.appointment_id, "message_id": msg.id})
        row.status, row.channel, row.conversation_id = S.SENT.value, conv.channel, conv.id
        row.message_id, row.sent_at, row.last_error = msg.id, now, None
        row.details = {**(row.details or {}), "doctor_id": card["doctor_id"], "specialty_id": card["specialty_id"]}
        return S.SENT.value

    def _template(self, channel: str) -> dict[str, Any] | None:
        ref_key = "twilio_content_sid" if channel == "whatsapp" else "meta_name"
        for t in self.settings.whatsapp_templates:
            if t.id == self.settings.reminder_template_id and getattr(t, ref_key):
                return {"id": t.id, "name": t.name, "twilio_content_sid": t.twilio_content_sid,
                        "meta_name": t.meta_name, "language": t.language}
        return None

    # --- settings: schedules, texts, preview, test e-mail (/lembretes) ------------------------

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
                    raise _invalid("A regra padrão da clínica não pode ser removida.")
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
                           "updated_at": _iso(stored[k].updated_at) if k in stored else None} for k in order]}

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
            raise _invalid("Canal de prévia inválido: use whatsapp, sms ou email.")
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

    # --- patient choices and staff reads ---------------------------------------------------

    async def opt_out(self, patient_id: int, now: datetime, channel: str | None = None) -> None:
        """Record that the patient wants no reminders (idempotent)."""
        async with self.uow() as (session, _):
            if await session.get(ReminderOptOutRow, patient_id) is None:
                session.add(ReminderOptOutRow(patient_id=patient_id, at=now, channel=channel))

    async def history(self, appointment_id: int) -> list[dict[str, Any]]:
        """An appointment's reminders with delivery status (for the conversation's context)."""
        async with self.uow() as (session, _):
            return [reminder_view(r, s) for r, s in await rs.history(session, appointment_id)]

    async def by_token(self, token: str) -> ReminderRow | None:
        """The reminder an e-mail confirm link points at (None when unknown)."""
        async with self.uow() as (session, _):
            return await rs.by_token(session, token_digest(token))

    async def stats(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """Reminders sent in [start, end): sent, delivered, read, confirmed, cancelled (with the
        mean and median lead time in hours between the cancellation and the appointment), in total
        and by specialty, doctor and weekday of the appointment (clinic time, 0 = Monday); plus
        the waitlist offers made in the period (`waitlist`: accepted = slots refilled), the
        no-show figures (`no_show`: the period and, week over week, the 7 days up to
        min(end, now) against the 7 days before) and the group keys' names (`labels`).
        Formulas: docs/metrics.md, "Reminders, no-show and waitlist"."""
        now = now or utcnow()
        ref = min(end, now)
        this_week, last_week = (ref - timedelta(days=7), ref), (ref - timedelta(days=14), ref - timedelta(days=7))
        async with self.uow() as (session, _):
            rows = await rs.in_range(session, start, end)
            appts = await rs.appointments_starting(session, min(start, last_week[0]), max(end, ref))
            waitlist = await ws.stats(session, start, end)
            labels = await rs.names(session)
        total = _Tally()
        groups: dict[str, dict[str, _Tally]] = {"specialty": {}, "doctor": {}, "weekday": {}}
        for r, delivery in rows:
            details = r.details or {}
            planned = as_utc(r.appointment_start)
            assert planned is not None
            keys = {"specialty": str(details.get("specialty_id")), "doctor": str(details.get("doctor_id")),
                    "weekday": str(to_clinic(planned).weekday())}
            for tally in (total, *(groups[g].setdefault(k, _Tally()) for g, k in keys.items())):
                tally.add(r, delivery, planned)
        no_show = {"grace_hours": NO_SHOW_GRACE.total_seconds() / 3600, "as_of": now.isoformat(),
                   "period": _no_show_groups(appts, start, end, now)}
        for name, (lo, hi) in (("this_week", this_week), ("last_week", last_week)):
            no_show[name] = {"from": lo.isoformat(), "to": hi.isoformat(), **_no_show_groups(appts, lo, hi, now)}
        return {"total": total.view(),
                **{f"by_{g}": {k: t.view() for k, t in sorted(d.items())} for g, d in groups.items()},
                "waitlist": {**waitlist, "refilled": waitlist["accepted"]}, "no_show": no_show, "labels": labels}


NO_SHOW_GRACE = timedelta(hours=2)


def no_show_state(status: str, ends_at: datetime, now: datetime) -> str | None:
    """'no_show', 'attended' or None (not counted) for one appointment as the hub knows it.

    A no-show is an appointment whose end passed more than NO_SHOW_GRACE ago and that is still
    scheduled/confirmed: neither cancelled nor marked done by the agenda or the reception. One
    still inside the grace, or cancelled, is not counted; `done` counts as attended."""
    if status == "cancelled" or ends_at + NO_SHOW_GRACE > now:
        return None
    if status in rs.ACTIVE_STATUSES:
        return "no_show"
    return "attended" if status == "done" else None


def _no_show_groups(appts: list[tuple[int, int, int, datetime, datetime, str]], start: datetime, end: datetime,
                    now: datetime) -> dict[str, Any]:
    """No-show counts of the appointments starting in [start, end): total and by specialty,
    doctor and weekday (clinic time, 0 = Monday)."""
    total = _NoShow()
    groups: dict[str, dict[str, _NoShow]] = {"specialty": {}, "doctor": {}, "weekday": {}}
    for _aid, doctor_id, specialty_id, starts, ends, status in appts:
        if not start <= starts < end:
            continue
        state = no_show_state(status, ends, now)
        if state is None:
            continue
        keys = {"specialty": str(specialty_id), "doctor": str(doctor_id), "weekday": str(to_clinic(starts).weekday())}
        for tally in (total, *(groups[g].setdefault(k, _NoShow()) for g, k in keys.items())):
            tally.add(state == "no_show")
    return {"total": total.view(),
            **{f"by_{g}": {k: t.view() for k, t in sorted(d.items())} for g, d in groups.items()}}


class _NoShow:
    """Appointments that should have happened (attended + no-show) and the no-shows among them."""

    def __init__(self) -> None:
        self.eligible = self.no_show = 0

    def add(self, missed: bool) -> None:
        self.eligible += 1
        self.no_show += int(missed)

    def view(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "no_show": self.no_show,
                "rate": round(self.no_show / self.eligible, 3) if self.eligible else None}


def _iso(value: datetime | None) -> str | None:
    utc = as_utc(value)
    return utc.isoformat() if utc is not None else None


def reminder_view(r: ReminderRow, message_status: str | None) -> dict[str, Any]:
    """Staff view of one reminder (no content)."""
    return {"id": r.id, "appointment_id": r.appointment_id, "kind": r.kind, "status": r.status,
            "appointment_start": _iso(r.appointment_start), "due_at": _iso(r.due_at), "sent_at": _iso(r.sent_at),
            "channel": r.channel, "conversation_id": r.conversation_id, "message_id": r.message_id,
            "delivery": message_status, "delivered_at": _iso(r.delivered_at), "read_at": _iso(r.read_at),
            "reply": r.reply, "replied_at": _iso(r.replied_at), "last_error": r.last_error, "attempts": r.attempts}


def _active_for(row: ReminderRow, appt: AppointmentRow | None) -> bool:
    """The appointment still exists, is active and starts when the reminder was planned for."""
    return (appt is not None and appt.status in rs.ACTIVE_STATUSES
            and as_utc(appt.starts_at) == as_utc(row.appointment_start))


def _skip(row: ReminderRow, status: S, code: str) -> str:
    row.status, row.last_error = status.value, code
    return status.value


def _template_values(card: dict[str, Any], start: datetime) -> list[str]:
    day, clock = when_text(start)
    name = (card.get("patient_name") or "").split()
    return [name[0] if name else "paciente", f"{day} às {clock}", card.get("doctor") or "-",
            card.get("specialty") or "-", card.get("address") or "-"]


def _observe(r: ReminderRow, appt: AppointmentRow | None, msg: Any, now: datetime) -> int:
    """Copy delivery/read from the message row and derive the reply; 1 when a reply was set."""
    status = getattr(msg, "status", None)
    if status in ("delivered", "read") and r.delivered_at is None:
        r.delivered_at = now
    if status == "read" and r.read_at is None:
        r.read_at = now
    if r.reply is not None or appt is None:
        return 0
    sent, start, planned, updated = (as_utc(r.sent_at), as_utc(appt.starts_at), as_utc(r.appointment_start),
                                     as_utc(appt.updated_at))
    if sent is None or start is None or planned is None or updated is None:
        return 0
    reply = rules.derive_reply(sent_at=sent, planned_start=planned, status=appt.status, starts_at=start,
                               updated_at=updated)
    if reply is None:
        return 0
    r.reply, r.replied_at, r.updated_at = reply.value, updated, now
    return 1


class _Tally:
    """Counts of one group of sent reminders."""

    def __init__(self) -> None:
        self.sent = self.delivered = self.read = self.confirmed = self.cancelled = self.rescheduled = 0
        self._lead_hours: list[float] = []

    def add(self, r: ReminderRow, delivery: str | None, planned: datetime) -> None:
        self.sent += 1
        if delivery in ("delivered", "read") or r.delivered_at is not None:
            self.delivered += 1
        if delivery == "read" or r.read_at is not None:
            self.read += 1
        if r.reply == rules.Reply.CONFIRMED.value:
            self.confirmed += 1
        elif r.reply == rules.Reply.RESCHEDULE.value:
            self.rescheduled += 1
        elif r.reply == rules.Reply.CANCELLED.value:
            self.cancelled += 1
            replied = as_utc(r.replied_at)
            if replied is not None:
                self._lead_hours.append((planned - replied).total_seconds() / 3600)

    def view(self) -> dict[str, Any]:
        lead = round(sum(self._lead_hours) / len(self._lead_hours), 1) if self._lead_hours else None
        median = round(statistics.median(self._lead_hours), 1) if self._lead_hours else None
        return {"sent": self.sent, "delivered": self.delivered, "read": self.read, "confirmed": self.confirmed,
                "cancelled": self.cancelled, "rescheduled": self.rescheduled,
                "confirmation_rate": round(self.confirmed / self.sent, 3) if self.sent else None,
                "cancel_lead_hours_mean": lead, "cancel_lead_hours_median": median}


class ReminderWorker:
    """The periodic plan + send loop of one hub process (replicas coordinate via the database)."""

    def __init__(self, service: ReminderService, interval: float, clock: Clock = utcnow) -> None:
        self.service = service
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop (a reminder half-handled is claimed again after its lease)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> None:
        """One pass: plan, then send what is due."""
        await self.service.plan(self.clock())
        await self.service.send_due(self.clock())

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive a bad pass; the next tick retries
                log.exception("reminder pass failed")
            await asyncio.sleep(self.interval)
