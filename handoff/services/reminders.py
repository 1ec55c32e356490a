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
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from handoff.adapters.sql import reminder_store as rs
from handoff.adapters.sql import store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AppointmentRow
from handoff.adapters.sql.models_reminders import ReminderOptOutRow, ReminderRow, ReminderTextRow
from handoff.adapters.tasks import cancel_and_wait, run_every
from handoff.domain import reminders as rules
from handoff.domain.messages import Sender
from handoff.domain.messaging_window import META_MESSAGING_CHANNELS, WHATSAPP_CHANNELS, window_state
from handoff.domain.reminders import ReminderStatus as S
from handoff.services.reminder_settings import ReminderSettings
from handoff.services.reminder_stats import NO_SHOW_GRACE, ReminderStats, no_show_state
from handoff.services.reminder_texts import (
    CONFIRM_PATH,
    ReminderSettingsError,
    buttons,
    check_body,
    check_kind,
    check_rule,
    iso_time,
    reminder_text,
    when_text,
)
from handoff.services.unit_of_work import WORK_TOPIC, UnitOfWork
from handoff.settings import Settings

__all__ = [
    "CONFIRM_PATH",
    "NO_SHOW_GRACE",
    "REMINDER_EVENT",
    "ReminderService",
    "ReminderSettingsError",
    "ReminderWorker",
    "buttons",
    "check_body",
    "check_kind",
    "check_rule",
    "no_show_state",
    "reminder_text",
    "reminder_view",
    "token_digest",
    "when_text",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
REMINDER_EVENT = "reminder_sent"  # conversation event {reminder_id, appointment_id, message_id}


def token_digest(token: str) -> str:
    """SHA-256 of a confirm token (the only form stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ReminderService(ReminderSettings, ReminderStats):
    """Plans and sends reminders; every method takes `now` (the tests' clock). The settings
    (/lembretes) are `ReminderSettings`, the dashboard figures `ReminderStats`."""

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


def reminder_view(r: ReminderRow, message_status: str | None) -> dict[str, Any]:
    """Staff view of one reminder (no content)."""
    return {"id": r.id, "appointment_id": r.appointment_id, "kind": r.kind, "status": r.status,
            "appointment_start": iso_time(r.appointment_start), "due_at": iso_time(r.due_at),
            "sent_at": iso_time(r.sent_at),
            "channel": r.channel, "conversation_id": r.conversation_id, "message_id": r.message_id,
            "delivery": message_status, "delivered_at": iso_time(r.delivered_at), "read_at": iso_time(r.read_at),
            "reply": r.reply, "replied_at": iso_time(r.replied_at), "last_error": r.last_error, "attempts": r.attempts}


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
        await cancel_and_wait([self._task])
        self._task = None

    async def run_once(self) -> None:
        """One pass: plan, then send what is due."""
        await self.service.plan(self.clock())
        await self.service.send_due(self.clock())

    async def _loop(self) -> None:
        # The loop must survive a bad pass; the next tick retries.
        await run_every(self.interval, self.run_once, lambda _exc: log.exception("reminder pass failed"))
