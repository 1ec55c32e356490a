"""Reminder figures for the dashboard: sent, delivered, read, confirmed, cancelled (with the lead
time of the cancellations), by specialty, doctor and weekday; the waitlist's offers; no-shows.
Formulas: docs/metrics.md, "Reminders, no-show and waitlist".
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from handoff.adapters.sql import reminder_store as rs
from handoff.adapters.sql import waitlist_store as ws
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.domain import reminders as rules
from handoff.domain.clinic.calendar import to_clinic
from handoff.services.unit_of_work import UnitOfWork


class ReminderStats:
    """The reminders' figures (a part of `ReminderService`)."""

    uow: UnitOfWork

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
