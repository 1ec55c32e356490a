"""Retention policies and the daily disposal job (rules: `handoff.domain.retention`).

Policies: one `retention_policies` row per category the clinic changed; a category without a
row uses `retention.DEFAULT_DAYS`. Changes are audit-logged (`retention_policy_update`, the old
and new periods, never data).

The disposal job (`DisposalJob.run`):

- **One run per clinic-local date.** `disposal_runs.run_date` is unique: every hub replica may
  call `run` for today; the insert of today's row is the claim, and a replica that loses it
  does nothing. A run that is done stays done (the scheduler calls `run` every few minutes
  after `RETENTION_RUN_HOUR`, cheaply); staff may run it again (`manual=True`), which re-opens
  today's row and adds to its counts.
- **Lease and resume.** The row carries `owner` and `lease_until`, extended after every batch;
  a crashed replica's run is taken over by another one once its lease has expired and goes on
  from `cursor` (per category, the last row id handled; `files` = attachment files waiting to
  be deleted once their rows' commit is known).
- **Batched.** `batch_size` rows per transaction; each batch checks it still holds the lease in
  the same transaction, so two workers never both apply a batch.
- **Never touched:** patients under an active legal hold (`legal_holds`, also through patient
  links), conversations humans own (queued, assigned, waiting on the patient), and messages the
  bot or the outbox still has to read.
- **Counts, not content:** `disposal_runs.counts` holds rows per category; logs carry counts only.

Transcripts keep their metadata (created_at, direction, sender, status, intent, reason) and get
`redacted_at`: the dashboard's figures do not move (tests/handoff/test_retention.py proves it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.attachments import PREFIX as LOCAL_PREFIX
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import (
    AuditLog,
    Conversation,
    ConversationEvent,
    DisposalRun,
    InteractionDelivery,
    LegalHold,
    LoginThrottle,
    Message,
    PatientLink,
    PendingStatusReport,
    RetentionPolicy,
)
from handoff.adapters.tasks import cancel_and_wait, run_every
from handoff.adapters.tracker_store import TrackerStore
from handoff.domain import retention as rules
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.errors import Invalid
from handoff.domain.retention import Category
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_BATCH = 500
DEFAULT_LEASE_SECONDS = 300.0
POLICY_AUDIT_ACTION = "retention_policy_update"
RUN_AUDIT_ACTION = "disposal_run_now"
RUNNING, DONE, FAILED = "running", "done", "failed"


class RetentionError(Invalid):
    """A refused change of the periods (code, pt-BR message)."""


# -- policies ---------------------------------------------------------------------------------------

async def stored_policies(session: AsyncSession) -> dict[str, RetentionPolicy]:
    """The policy rows present, by category."""
    rows = (await session.execute(select(RetentionPolicy))).scalars().all()
    return {r.category: r for r in rows}


async def periods(session: AsyncSession) -> dict[Category, int | None]:
    """The period in force for every category (row, else default)."""
    rows = await stored_policies(session)
    return rules.effective_days({k: v.days for k, v in rows.items()})


async def read_policies(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every category with its period in force, its default and who changed it last."""
    async with uow() as (session, _):
        rows = await stored_policies(session)
    out = []
    for c in rules.RUN_ORDER:
        row = rows.get(c.value)
        out.append({
            "category": c.value,
            "label": rules.LABELS[c],
            "description": rules.DESCRIPTIONS[c],
            "days": row.days if row is not None else rules.DEFAULT_DAYS[c],
            "default_days": rules.DEFAULT_DAYS[c],
            "min_days": max(rules.ABSOLUTE_MIN_DAYS, rules.MIN_DAYS.get(c, rules.ABSOLUTE_MIN_DAYS)),
            "is_default": row is None,
            "period_text": rules.describe_days(row.days if row is not None else rules.DEFAULT_DAYS[c]),
            "updated_by": row.updated_by if row is not None else None,
            "updated_at": _iso(row.updated_at) if row is not None else None,
        })
    return out


async def update_policies(uow: UnitOfWork, who: StaffIdentity, changes: dict[str, int | None]) -> list[dict[str, Any]]:
    """Set the periods of some categories (None = keep); audit-logged. RetentionError (Invalid) on a
    refused value (nothing is changed then)."""
    if not changes:
        raise RetentionError("empty", "nenhum prazo informado")
    try:
        parsed = {rules.parse_category(k): rules.validate_days(rules.parse_category(k), v) for k, v in changes.items()}
    except rules.PolicyError as exc:
        raise RetentionError("invalid_policy", exc.message) from None
    now = utcnow()
    async with uow() as (session, _):
        rows = await stored_policies(session)
        for category, days in parsed.items():
            row = rows.get(category.value)
            before = row.days if row is not None else rules.DEFAULT_DAYS[category]
            if row is None:
                session.add(RetentionPolicy(category=category.value, days=days, updated_by=who.id, updated_at=now))
            else:
                row.days, row.updated_by, row.updated_at = days, who.id, now
            if before != days:
                session.add(AuditLog(staff_id=who.id, action=POLICY_AUDIT_ACTION, subject=f"retention:{category.value}",
                                     created_at=now, data={"from": before, "to": days}))
    return await read_policies(uow)


# -- runs -------------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def run_view(run: DisposalRun) -> dict[str, Any]:
    """A run as the API shows it (counts only)."""
    return {
        "id": run.id,
        "run_date": run.run_date.isoformat(),
        "status": run.status,
        "counts": dict(run.counts or {}),
        "cutoffs": dict(run.cutoffs or {}),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


async def list_runs(uow: UnitOfWork, limit: int = 60) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    async with uow() as (session, _):
        rows = (await session.execute(select(DisposalRun).order_by(DisposalRun.run_date.desc()).limit(limit)))
        return [run_view(r) for r in rows.scalars().all()]


@dataclass
class RunOutcome:
    """What one call of `DisposalJob.run` did."""

    run_id: int | None
    status: str  # done | skipped | lost_lease | failed
    disposed: dict[str, int]
    reason: str | None = None


def _held_patient_ids(today: date) -> Any:
    """Patients under an active hold, as a subquery (links both ways: a merged record counts)."""
    active = (LegalHold.released_at.is_(None)) & (or_(LegalHold.until.is_(None), LegalHold.until >= today))
    direct = select(LegalHold.patient_id).where(active)
    linked_from = select(PatientLink.patient_id).where(PatientLink.linked_to_id.in_(direct))
    linked_to = select(PatientLink.linked_to_id).where(PatientLink.patient_id.in_(direct))
    return direct.union(linked_from, linked_to)


def _disposable_conversations(today: date) -> Any:
    """Conversations whose content disposal may touch (no human owns them, no held patient)."""
    return select(Conversation.id).where(
        Conversation.state.not_in(sorted(rules.OPEN_STATES)),
        Conversation.patient_id.not_in(_held_patient_ids(today)),
    )


def _local_refs(payload: dict[str, Any] | None) -> list[str]:
    """Attachment files of ours a message payload points at."""
    out = []
    for entry in (payload or {}).get("attachments") or []:
        url = entry.get("url") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.startswith(LOCAL_PREFIX):
            out.append(url)
    return out


class DisposalJob:
    """The daily disposal (see the module docstring). One instance per hub process."""

    def __init__(self, uow: UnitOfWork, attachments: AttachmentStore, *, batch_size: int = DEFAULT_BATCH,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, tz: ZoneInfo = CLINIC_TZ,
                 owner: str | None = None, tracker: TrackerStore | None = None) -> None:
        self.uow = uow
        self.attachments = attachments
        self.tracker = tracker
        self._one_at_a_time = asyncio.Lock()  # the scheduler and "run now" of this process take turns
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.tz = tz
        self.owner = owner or f"disposal-{uuid.uuid4().hex[:12]}"

    def local_date(self, now: datetime) -> date:
        """The clinic-local date of `now` (the run's key)."""
        return now.astimezone(self.tz).date()

    async def run(self, now: datetime | None = None, *, manual: bool = False, max_batches: int | None = None,
                  run_date: date | None = None) -> RunOutcome:
        """Claim today's run (or resume it) and work through every category.

        `max_batches` stops after that many batches without finishing (tests use it to leave a
        run cut in the middle, as a crash would). Returns what this call disposed."""
        async with self._one_at_a_time:
            return await self._run(now, manual, max_batches, run_date)

    async def _run(self, now: datetime | None, manual: bool, max_batches: int | None,
                   run_date: date | None) -> RunOutcome:
        now = (now or utcnow()).astimezone(UTC)  # stored times are UTC (SQLite compares them as text)
        day = run_date or self.local_date(now)
        run_id = await self._claim(day, now, manual)
        if run_id is None:
            return RunOutcome(None, "skipped", {}, "already done or running elsewhere")
        disposed: dict[str, int] = {}
        try:
            status = await self._work(run_id, day, disposed, max_batches)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - never log data; the run is resumable
            log.warning("disposal run %d failed: %s", run_id, type(exc).__name__)
            await self._release(run_id, FAILED)
            return RunOutcome(run_id, "failed", disposed, type(exc).__name__)
        if disposed:
            log.info("disposal run %d: %s", run_id, ", ".join(f"{k}={v}" for k, v in sorted(disposed.items())))
        return RunOutcome(run_id, status, disposed)

    # -- claiming --------------------------------------------------------------------------------

    async def _claim(self, day: date, now: datetime, manual: bool) -> int | None:
        """Today's run id when this worker now holds its lease, else None."""
        lease = utcnow() + timedelta(seconds=self.lease_seconds)
        try:
            async with self.uow() as (session, _):
                existing = (await session.execute(select(DisposalRun).where(DisposalRun.run_date == day))
                            ).scalar_one_or_none()
                if existing is None:
                    cuts = rules.cutoffs(now, await periods(session))
                    run = DisposalRun(status=RUNNING, owner=self.owner, lease_until=lease,
                                      cutoffs={c.value: _iso(v) for c, v in cuts.items()}, counts={}, cursor={},
                                      started_at=utcnow(), run_date=day)
                    session.add(run)
                    await session.flush()
                    return int(run.id)
        except IntegrityError:
            return None  # another replica inserted today's run first: it does the work
        return await self._take_over(existing.id, now, manual)

    async def _take_over(self, run_id: int, now: datetime, manual: bool) -> int | None:
        """Take an existing run: a failed one or one whose lease expired (resume from its cursor),
        or a done one when staff run it again (fresh cutoffs, counts added)."""
        real_now = utcnow()
        lease = real_now + timedelta(seconds=self.lease_seconds)
        async with self.uow() as (session, _):
            resumable = (DisposalRun.status == FAILED) | (
                (DisposalRun.status == RUNNING) & (or_(DisposalRun.lease_until.is_(None),
                                                       DisposalRun.lease_until < real_now,
                                                       DisposalRun.owner == self.owner)))
            taken = await session.execute(
                update(DisposalRun).where(DisposalRun.id == run_id, resumable)
                .values(status=RUNNING, owner=self.owner, lease_until=lease))
            if int(taken.rowcount or 0) == 1:  # type: ignore[attr-defined]
                return run_id
            if not manual:
                return None
            cuts = rules.cutoffs(now, await periods(session))
            reopened = await session.execute(
                update(DisposalRun).where(DisposalRun.id == run_id, DisposalRun.status == DONE)
                .values(status=RUNNING, owner=self.owner, lease_until=lease, cursor={}, finished_at=None,
                        cutoffs={c.value: _iso(v) for c, v in cuts.items()}))
            return run_id if int(reopened.rowcount or 0) == 1 else None  # type: ignore[attr-defined]

    async def _release(self, run_id: int, status: str) -> None:
        with contextlib.suppress(Exception):
            async with self.uow() as (session, _):
                await session.execute(
                    update(DisposalRun).where(DisposalRun.id == run_id, DisposalRun.owner == self.owner)
                    .values(status=status, lease_until=utcnow()))

    # -- the work --------------------------------------------------------------------------------

    async def _work(self, run_id: int, day: date, disposed: dict[str, int], max_batches: int | None) -> str:
        batches = 0
        async with self.uow() as (session, _):
            run = await session.get(DisposalRun, run_id)
            assert run is not None
            cut_raw = dict(run.cutoffs or {})
        cuts = {c: as_utc(datetime.fromisoformat(cut_raw[c.value])) if cut_raw.get(c.value) else None
                for c in Category}
        await self._delete_pending_files(run_id)
        for category in rules.RUN_ORDER:
            cutoff = cuts[category]
            if cutoff is None:
                continue
            while True:
                if max_batches is not None and batches >= max_batches:
                    return "cut"
                result = await self._batch(run_id, category, cutoff, day)
                if result is None:
                    return "lost_lease"
                handled, changed = result
                batches += 1 if handled else 0
                if changed:
                    disposed[category.value] = disposed.get(category.value, 0) + changed
                await self._delete_pending_files(run_id)
                if handled < self.batch_size:
                    break
        async with self.uow() as (session, _):
            done = await session.execute(
                update(DisposalRun).where(DisposalRun.id == run_id, DisposalRun.owner == self.owner)
                .values(status=DONE, finished_at=utcnow(), lease_until=None))
            if int(done.rowcount or 0) != 1:  # type: ignore[attr-defined]
                return "lost_lease"
        return DONE

    async def _batch(self, run_id: int, category: Category, cutoff: datetime, day: date) -> tuple[int, int] | None:
        """One transaction: check the lease, dispose one batch, move the cursor and the counts.
        Returns (rows looked at, rows changed), or None when the lease is gone."""
        async with self.uow() as (session, _):
            run = (await session.execute(select(DisposalRun).where(DisposalRun.id == run_id).with_for_update())
                   ).scalar_one()
            if run.owner != self.owner or run.status != RUNNING:
                return None
            cursor = dict(run.cursor or {})
            after = cursor.get(category.value)
            handler = {
                Category.ATTACHMENTS: self._attachments,
                Category.TRANSCRIPTS: self._transcripts,
                Category.EVENT_NOTES: self._event_notes,
                Category.BOT_DIALOGUE: self._bot_dialogue,
                Category.AUDIT: self._audit,
                Category.DELIVERY_REPORTS: self._delivery_reports,
                Category.LOGIN_THROTTLE: self._login_throttle,
            }[category]
            handled, changed, last, files = await handler(session, cutoff, day, after)
            if last is not None:
                cursor[category.value] = last
            if files:
                cursor["files"] = sorted(set(cursor.get("files") or []) | set(files))
            counts = dict(run.counts or {})
            if changed:
                counts[category.value] = int(counts.get(category.value, 0)) + changed
            run.cursor, run.counts = cursor, counts
            run.lease_until = utcnow() + timedelta(seconds=self.lease_seconds)
        return handled, changed

    async def _attachments(self, session: AsyncSession, cutoff: datetime, day: date,
                           after: Any) -> tuple[int, int, Any, list[str]]:
        rows = await self._message_batch(session, cutoff, day, after,
                                         cast(Message.payload, String).like('%"attachments"%'))
        changed, files = 0, []
        for m in rows:
            payload = dict(m.payload or {})
            entries = payload.get("attachments")
            if not entries:
                continue
            files.extend(_local_refs(payload))
            # The key goes (not just emptied): a later run's `"attachments"` filter skips the row.
            del payload["attachments"]
            payload["attachments_disposed"] = len(entries) if isinstance(entries, list) else 1
            m.payload = payload
            changed += 1
        return len(rows), changed, rows[-1].id if rows else None, files

    async def _transcripts(self, session: AsyncSession, cutoff: datetime, day: date,
                           after: Any) -> tuple[int, int, Any, list[str]]:
        rows = await self._message_batch(session, cutoff, day, after, Message.redacted_at.is_(None))
        now = utcnow()
        files: list[str] = []
        touched: set[str] = set()
        for m in rows:
            files.extend(_local_refs(m.payload))
            m.text = ""
            m.payload = {"redacted": "retention"}
            m.redacted_at = now
            touched.add(m.conversation_id)
        if touched:
            # A conversation with no content left is marked, and its handoff note goes too.
            remaining = set((await session.execute(
                select(Message.conversation_id).where(Message.conversation_id.in_(touched),
                                                      Message.redacted_at.is_(None)).distinct())).scalars().all())
            done = touched - remaining
            if done:
                await session.execute(update(Conversation).where(Conversation.id.in_(done))
                                      .values(redacted_at=now, handoff_note=None))
        return len(rows), len(rows), rows[-1].id if rows else None, files

    async def _message_batch(self, session: AsyncSession, cutoff: datetime, day: date, after: Any,
                             extra: Any) -> list[Message]:
        query = (select(Message).where(
            Message.created_at < cutoff,
            Message.redacted_at.is_(None),
            Message.status.not_in(sorted(rules.IN_FLIGHT_STATUSES)),
            Message.conversation_id.in_(_disposable_conversations(day)),
            extra,
        ).order_by(Message.id).limit(self.batch_size).with_for_update())
        if after is not None:
            query = query.where(Message.id > int(after))
        return list((await session.execute(query)).scalars().all())

    async def _event_notes(self, session: AsyncSession, cutoff: datetime, day: date,
                           after: Any) -> tuple[int, int, Any, list[str]]:
        text = cast(ConversationEvent.data, String)
        query = (select(ConversationEvent).where(
            ConversationEvent.created_at < cutoff,
            ConversationEvent.conversation_id.in_(_disposable_conversations(day)),
            or_(*(text.like(f'%"{k}"%') for k in rules.FREE_TEXT_EVENT_KEYS)),
        ).order_by(ConversationEvent.id).limit(self.batch_size).with_for_update())
        if after is not None:
            query = query.where(ConversationEvent.id > int(after))
        rows = list((await session.execute(query)).scalars().all())
        changed = 0
        for e in rows:
            stripped = rules.strip_free_text(dict(e.data or {}))
            if stripped is not None:
                e.data = stripped
                changed += 1
        return len(rows), changed, rows[-1].id if rows else None, []

    async def _bot_dialogue(self, session: AsyncSession, cutoff: datetime, day: date,
                            after: Any) -> tuple[int, int, Any, list[str]]:
        """Rasa's events of disposable conversations older than the cutoff (another database: the
        delete commits first; if this batch's hub transaction then fails, repeating it is harmless)."""
        if self.tracker is None:
            return 0, 0, None, []
        query = _disposable_conversations(day).order_by(Conversation.id).limit(self.batch_size)
        if after is not None:
            query = query.where(Conversation.id > str(after))
        ids = [str(i) for i in (await session.execute(query)).scalars().all()]
        deleted = 0
        if ids:
            try:
                deleted = await self.tracker.delete_senders(ids, before=cutoff.timestamp())
            except Exception as exc:  # noqa: BLE001 - an unreachable tracker store must not stop the run
                log.warning("bot dialogue disposal skipped for a batch: %s", type(exc).__name__)
        return len(ids), deleted, ids[-1] if ids else None, []

    async def _audit(self, session: AsyncSession, cutoff: datetime, day: date,
                     after: Any) -> tuple[int, int, Any, list[str]]:
        ids = list((await session.execute(
            select(AuditLog.id).where(
                AuditLog.created_at < cutoff,
                or_(AuditLog.patient_id.is_(None), AuditLog.patient_id.not_in(_held_patient_ids(day))),
                *([AuditLog.id > int(after)] if after is not None else []),
            ).order_by(AuditLog.id).limit(self.batch_size))).scalars().all())
        if ids:
            await session.execute(delete(AuditLog).where(AuditLog.id.in_(ids)))
        return len(ids), len(ids), ids[-1] if ids else None, []

    async def _delivery_reports(self, session: AsyncSession, cutoff: datetime, day: date,
                                after: Any) -> tuple[int, int, Any, list[str]]:
        ids = list((await session.execute(
            select(PendingStatusReport.id).where(PendingStatusReport.received_at < cutoff)
            .order_by(PendingStatusReport.id).limit(self.batch_size))).scalars().all())
        if ids:
            await session.execute(delete(PendingStatusReport).where(PendingStatusReport.id.in_(ids)))
        # The delivery log of interaction records (issue 14): a finished row (delivered to the
        # clinic's CRM/FHIR server, or given up) is a technical receipt; one still on its way is kept.
        records = list((await session.execute(
            select(InteractionDelivery.id).where(InteractionDelivery.status.in_(("delivered", "dead")),
                                                 InteractionDelivery.updated_at < cutoff)
            .order_by(InteractionDelivery.id).limit(self.batch_size))).scalars().all())
        if records:
            await session.execute(delete(InteractionDelivery).where(InteractionDelivery.id.in_(records)))
        return len(ids) + len(records), len(ids) + len(records), None, []

    async def _login_throttle(self, session: AsyncSession, cutoff: datetime, day: date,
                              after: Any) -> tuple[int, int, Any, list[str]]:
        now = utcnow()
        keys = list((await session.execute(
            select(LoginThrottle.key).where(
                LoginThrottle.window_start < cutoff,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
            ).order_by(LoginThrottle.key).limit(self.batch_size))).scalars().all())
        if keys:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        return len(keys), len(keys), None, []

    # -- files -----------------------------------------------------------------------------------

    async def _delete_pending_files(self, run_id: int) -> None:
        """Delete the files whose messages' disposal committed, unless a kept message still
        points at them (files are shared by content); then clear them from the cursor."""
        async with self.uow() as (session, _):
            run = await session.get(DisposalRun, run_id)
            pending = list((run.cursor or {}).get("files") or []) if run is not None else []
        if not pending:
            return
        for reference in pending:
            async with self.uow() as (session, _):
                still = (await session.execute(
                    select(func.count()).select_from(Message).where(
                        Message.redacted_at.is_(None),
                        cast(Message.payload, String).like(f"%{reference}%")))).scalar_one()
            if not still:
                await asyncio.to_thread(self.attachments.delete, reference)
        async with self.uow() as (session, _):
            run = (await session.execute(select(DisposalRun).where(DisposalRun.id == run_id).with_for_update())
                   ).scalar_one()
            cursor = dict(run.cursor or {})
            cursor["files"] = sorted(set(cursor.get("files") or []) - set(pending))
            run.cursor = cursor


async def run_now(uow: UnitOfWork, job: DisposalJob, who: StaffIdentity | None,
                  now: datetime | None = None) -> RunOutcome:
    """Staff (or the CLI) run today's disposal now; audit-logged with the counts."""
    outcome = await job.run(now, manual=True)
    async with uow() as (session, _):
        session.add(AuditLog(staff_id=who.id if who else None, action=RUN_AUDIT_ACTION,
                             subject=f"disposal_run:{outcome.run_id}" if outcome.run_id else None,
                             created_at=utcnow(), data={"status": outcome.status, "disposed": outcome.disposed}))
    return outcome


class RetentionScheduler:
    """Calls `job.run` every `interval` seconds once the clinic-local hour reaches `run_hour`
    (the run itself is idempotent per date, so every replica may run this loop)."""

    def __init__(self, job: DisposalJob, run_hour: int, interval: float = 600.0) -> None:
        self.job = job
        self.run_hour = run_hour
        self.interval = interval
        self._task: asyncio.Task[Any] | None = None

    def due(self, now: datetime) -> bool:
        """True from `run_hour` on, in the clinic's zone."""
        return now.astimezone(self.job.tz).hour >= self.run_hour

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop (a run cut here resumes elsewhere or on the next start)."""
        await cancel_and_wait([self._task])

    async def _pass(self) -> None:
        now = utcnow()
        if self.due(now):
            await self.job.run(now)

    async def _loop(self) -> None:
        # The next tick retries.
        await run_every(self.interval, self._pass,
                        lambda exc: log.warning("disposal scheduler pass failed: %s", type(exc).__name__))


def categories_text(items: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, period) pairs for the privacy notice."""
    return [(str(i["label"]), str(i["period_text"])) for i in items]
