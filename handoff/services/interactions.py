"""The interaction register (issue 14): every ended conversation recorded in the clinic's CRM
(signed webhook) and/or FHIR server (`Communication`), through a durable outbox.

When a conversation ends:
- staff resolve it (`Transition.RESOLVE`, a `resolved` event), or
- the bot kept it and the patient wrote nothing for `INTERACTION_BOT_IDLE_MINUTES` (a contact
  with no handoff: the dashboard's containment, docs/metrics.md),
one record per configured target is queued in `interaction_deliveries`. Nothing is queued
without the patient's consent (latest decision granted and not the revocation) or without a
configured target. The record holds ids, labels and times only (never message text).

How the ending is found (the brief offered "in the resolve transaction" or "from the event
published after commit"): neither is durable enough alone, and the inbox need not know about
CRMs. A sweep reads the committed facts — `resolved` events and idle bot conversations past each
conversation's `interaction_marks` — and closes the span with a conditional write on the mark,
in the same transaction that queues the deliveries. A crash anywhere leaves the mark unmoved and
the next sweep does it; of several replicas exactly one wins the mark. The staff event published
after a resolve only wakes the sweep early.

Delivery: any number of workers (in any hub process) claim one due row at a time with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update everywhere), send it outside any
transaction, then record the answer if they still hold the lease. A failure is retried with
exponential backoff and jitter; after `INTERACTION_MAX_ATTEMPTS` the row is dead. A worker that
dies mid-send leaves a `sending` row whose lease expires and is sent again: the receiver gets
the same `X-Atende-Delivery` id and can drop the duplicate. Staff replay any row from
/integracoes (audit-logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.bus import Bus, follow
from handoff.adapters.interaction_sinks import FhirCommunicationSink, InteractionSink, SinkResult, WebhookSink
from handoff.adapters.sql import interaction_store as store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, ConversationEvent, InteractionDelivery, Patient
from handoff.adapters.tasks import cancel_and_wait
from handoff.domain.errors import Conflict, Invalid, NotFound
from handoff.domain.interactions import (
    DeliveryStatus,
    InteractionFacts,
    Target,
    build_summary,
    consent_allows,
    gives_up,
    retry_delay,
    targets,
)
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC, WORK_TOPIC, UnitOfWork
from handoff.settings import Settings

log = logging.getLogger(__name__)

WAKE_KIND = "interactions"  # WORK_TOPIC wake-up of the delivery loops (after a replay)
REPLAY_AUDIT_ACTION = "integrations.replay"
LIST_LIMIT = 200


def configured_targets(settings: Settings) -> tuple[Target, ...]:
    """The targets the clinic configured: webhook (URL + secret), FHIR (flag + base URL)."""
    return targets(bool(settings.crm_webhook_url and settings.crm_webhook_secret),
                   bool(settings.interactions_to_fhir and settings.fhir_base_url))


def build_sinks(settings: Settings) -> dict[str, InteractionSink]:
    """One sink per configured target."""
    sinks: dict[str, InteractionSink] = {}
    for target in configured_targets(settings):
        if target is Target.WEBHOOK:
            assert settings.crm_webhook_url and settings.crm_webhook_secret
            sinks[target.value] = WebhookSink(settings.crm_webhook_url, settings.crm_webhook_secret,
                                              settings.interaction_timeout_seconds)
        else:
            assert settings.fhir_base_url
            sinks[target.value] = FhirCommunicationSink(settings.fhir_base_url, settings.fhir_token,
                                                        settings.interaction_timeout_seconds)
    return sinks


class InteractionRegister:
    """Finds ended conversations, queues their records and delivers them. `collect()` and
    `deliver_due()` are one pass each (tests call them directly); `start()` runs them in a loop."""

    def __init__(self, uow: UnitOfWork, settings: Settings, sinks: dict[str, InteractionSink] | None = None, *,
                 bus: Bus | None = None, rand: Callable[[], float] = random.random,
                 owner: str | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.targets = configured_targets(settings)
        self.sinks = sinks if sinks is not None else build_sinks(settings)
        self.bus = bus
        self.rand = rand
        self.owner = owner or f"interactions-{uuid.uuid4().hex[:12]}"
        self.lease_seconds = max(settings.lease_seconds, settings.interaction_timeout_seconds * 3)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    # -- finding ended conversations -------------------------------------------------------------

    async def collect(self, now: datetime | None = None) -> int:
        """Close every ended span and queue its records; the number of deliveries queued."""
        if not self.targets:
            return 0
        now = now or utcnow()
        since = now - timedelta(hours=self.settings.interaction_lookback_hours)
        queued = 0
        async with self.uow() as (session, _):
            resolved = await store.resolved_candidates(session, since)
        for conv_id, event_id in resolved:
            queued += await self._close_resolved(conv_id, event_id, since, now)
        idle = timedelta(minutes=self.settings.interaction_bot_idle_minutes)
        async with self.uow() as (session, _):
            quiet = await store.idle_candidates(session, since, now - idle)
        for conv_id, last_at in quiet:
            queued += await self._close_bot(conv_id, last_at, since, now, idle)
        return queued

    async def _close_resolved(self, conv_id: str, event_id: int, since: datetime, now: datetime) -> int:
        async with self.uow() as (session, events):
            event = await session.get(ConversationEvent, event_id)
            conv = await session.get(Conversation, conv_id)
            if event is None or conv is None:
                return 0
            at = as_utc(event.created_at)
            assert at is not None
            previous = await store.mark_of(session, conv_id)
            if previous is not None and at <= previous:
                return 0
            if not await store.close_span(session, self.uow.dialect, conv_id, previous, at):
                return 0  # another replica closed it
            facts = await store.span_facts(session, conv, key=f"resolved:{conv_id}:{event_id}",
                                           start=max(previous or since, since), end=at, appointments_until=at,
                                           resolve_event=event)
            queued = await self._enqueue(session, conv, facts)
            if queued:
                events.add(WORK_TOPIC, {"kind": WAKE_KIND})
            return queued

    async def _close_bot(self, conv_id: str, last_at: datetime, since: datetime, now: datetime,
                         idle: timedelta) -> int:
        async with self.uow() as (session, events):
            conv = await session.get(Conversation, conv_id)
            if conv is None or conv.state not in store.BOT_STATES:
                return 0
            previous = await store.mark_of(session, conv_id)
            if previous is not None and last_at <= previous:
                return 0
            start = max(previous or since, since)
            resolved_at = await store.last_resolved_before(session, conv_id, last_at)
            if resolved_at is not None and resolved_at > start:
                return 0  # its resolve is not summarised yet: the resolve sweep goes first
            if not await store.close_span(session, self.uow.dialect, conv_id, previous, last_at):
                return 0
            if await store.handoff_between(session, conv_id, start, last_at):
                return 0  # humans took part and the resolve is out of reach: nothing the bot can claim
            key = f"bot:{conv_id}:{int(last_at.timestamp() * 1000)}"
            facts = await store.span_facts(session, conv, key=key, start=start, end=last_at,
                                           appointments_until=min(now, last_at + idle), resolve_event=None)
            queued = await self._enqueue(session, conv, facts)
            if queued:
                events.add(WORK_TOPIC, {"kind": WAKE_KIND})
            return queued

    async def _enqueue(self, session: AsyncSession, conv: Conversation, facts: InteractionFacts) -> int:
        """Queue the record for every target, due at once, if the patient consented (the span is
        closed either way)."""
        if not consent_allows(await store.latest_consent(session, conv.patient_id)):
            log.info("interaction of a conversation not recorded: no consent")
            return 0
        patient = await session.get(Patient, conv.patient_id)
        if patient is None or patient.erased_at is not None:
            # An erasure closes the patient's open conversations: that ending is not an interaction
            # to report, and nothing about an erased person leaves the hub.
            return 0
        record = build_summary(facts, self.settings.public_base_url)
        queued = 0
        for target in self.targets:
            if await store.add_delivery(session, self.uow.dialect, key=facts.key, target=target.value,
                                        conversation_id=conv.id, patient_id=conv.patient_id, summary=record,
                                        now=utcnow()):
                queued += 1
        return queued

    # -- delivering ----------------------------------------------------------------------------

    async def deliver_one(self, owner: str | None = None) -> bool:
        """Claim one due delivery and attempt it; False when nothing was due."""
        owner = owner or self.owner
        async with self.uow() as (session, _):
            row = await store.claim_delivery(session, self.uow.dialect, owner, self.lease_seconds)
            if row is None:
                return False
            delivery_id, target, key = row.id, row.target, row.interaction_key
            record, attempts = dict(row.summary or {}), row.attempts
        sink = self.sinks.get(target)
        if sink is None:
            result = SinkResult(False, None, "target not configured")
        else:
            try:
                result = await sink.send(delivery_id, key, record)
            except Exception as exc:  # noqa: BLE001 - a sink bug must not kill the loop; retried
                result = SinkResult(False, None, type(exc).__name__)
        await self._record(delivery_id, owner, attempts, result)
        return True

    async def _record(self, delivery_id: int, owner: str, attempts: int, result: SinkResult) -> None:
        now = utcnow()
        async with self.uow() as (session, _):
            row = await store.owned(session, delivery_id, owner)
            if row is None:
                return  # replayed or re-leased meanwhile: the other holder records its own attempt
            row.lease_owner = None
            row.lease_until = None
            row.updated_at = now
            row.last_http_status = result.status
            if result.ok:
                row.status = DeliveryStatus.DELIVERED.value
                row.delivered_at = now
                row.last_error = None
                row.remote_ref = result.remote_ref or row.remote_ref
                log.info("interaction delivery %d delivered (%s, attempt %d)", delivery_id, row.target, attempts)
                return
            row.last_error = (result.error or "falha")[:200]
            if gives_up(attempts, self.settings.interaction_max_attempts):
                row.status = DeliveryStatus.DEAD.value
                log.warning("interaction delivery %d dead after %d attempts (%s)", delivery_id, attempts,
                            row.last_error)
                return
            delay = retry_delay(attempts, self.settings.interaction_retry_base_seconds,
                                self.settings.interaction_retry_max_seconds, self.rand())
            row.status = DeliveryStatus.PENDING.value
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.info("interaction delivery %d failed (%s, attempt %d); retry in %.1fs", delivery_id,
                     row.last_error, attempts, delay)

    async def deliver_due(self, limit: int = 100) -> int:
        """Attempt every due delivery (up to `limit`); how many were attempted."""
        done = 0
        while done < limit and await self.deliver_one():
            done += 1
        return done

    # -- the loop ------------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a pass soon."""
        self._wake.set()

    async def start(self) -> None:
        """Sweep and deliver every `INTERACTION_POLL_SECONDS` (sooner when woken) until `stop`."""
        self._tasks = [asyncio.create_task(self._loop())]
        if self.bus is not None:
            self._tasks.append(asyncio.create_task(self._listen()))

    async def stop(self) -> None:
        """Stop the loop (a delivery in flight is cut; its lease expires and it is sent again)."""
        await cancel_and_wait(self._tasks)
        for sink in self.sinks.values():
            with contextlib.suppress(Exception):
                await sink.close()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.collect()
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next pass retries; never log record content
                log.warning("interaction register pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.interaction_poll_seconds)

    async def _listen(self) -> None:
        assert self.bus is not None
        bus = self.bus

        def wake_on(wanted: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], None]:
            return lambda event: self.wake() if wanted(event) else None

        def on_error(exc: Exception) -> None:  # polling keeps the work moving meanwhile
            log.warning("interaction wake listener failed (%s); retrying", type(exc).__name__)

        await asyncio.gather(
            follow(bus, WORK_TOPIC, wake_on(lambda e: e.get("kind") == WAKE_KIND), on_error),
            # The inbox's staff event after a resolve commits (it carries the outcome).
            follow(bus, STAFF_TOPIC, wake_on(lambda e: e.get("type") == "queue_changed" and bool(e.get("outcome"))),
                   on_error),
        )


# -- the delivery log (staff) ----------------------------------------------------------------------


def delivery_view(row: InteractionDelivery) -> dict[str, Any]:
    """A delivery as the log shows it: status and timings, the record's labels (no patient data
    beyond ids)."""
    summary = row.summary or {}

    def iso(value: datetime | None) -> str | None:
        moment = as_utc(value)
        return moment.isoformat() if moment is not None else None

    return {
        "id": row.id, "target": row.target, "status": row.status, "attempts": row.attempts,
        "last_http_status": row.last_http_status, "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at) if row.status == DeliveryStatus.PENDING.value else None,
        "created_at": iso(row.created_at), "delivered_at": iso(row.delivered_at), "replays": row.replays,
        "remote_ref": row.remote_ref, "conversation_id": row.conversation_id,
        "interaction_id": row.interaction_key, "channel": summary.get("channel"), "reason": summary.get("reason"),
        "outcome": summary.get("outcome"), "transcript_url": summary.get("transcript_url"),
    }


async def list_deliveries(uow: UnitOfWork, settings: Settings, *, status: str | None = None,
                          limit: int = LIST_LIMIT, before_id: int | None = None) -> dict[str, Any]:
    """The delivery log, newest first, with counts per status and the configured targets."""
    if status is not None and status not in {s.value for s in DeliveryStatus}:
        raise Invalid("invalid_status", "situação desconhecida")
    limit = max(1, min(limit, LIST_LIMIT))
    async with uow() as (session, _):
        rows = await store.list_deliveries(session, status=status, limit=limit, before_id=before_id)
        counts = await store.counts_by_status(session)
    return {"deliveries": [delivery_view(r) for r in rows], "counts": counts,
            "targets": [t.value for t in configured_targets(settings)]}


async def replay(uow: UnitOfWork, who: StaffIdentity, delivery_id: int) -> dict[str, Any]:
    """Send a delivery again (any status but one being sent right now): pending at once with a
    fresh count of attempts; audit-logged."""
    now = utcnow()
    async with uow() as (session, events):
        row = await session.get(InteractionDelivery, delivery_id, with_for_update=True)
        if row is None:
            raise NotFound("delivery_not_found", "envio não encontrado")
        lease = as_utc(row.lease_until)
        if row.status == DeliveryStatus.SENDING.value and lease is not None and lease > now:
            raise Conflict("sending", "este envio está em andamento; tente de novo em instantes")
        row.status = DeliveryStatus.PENDING.value
        row.attempts = 0
        row.next_attempt_at = now
        row.lease_owner = None
        row.lease_until = None
        row.replays += 1
        row.updated_at = now
        session.add(AuditLog(staff_id=who.id, action=REPLAY_AUDIT_ACTION, subject=f"interaction_delivery:{row.id}",
                             created_at=now, patient_id=row.patient_id,
                             data={"target": row.target, "replays": row.replays}))
        events.add(WORK_TOPIC, {"kind": WAKE_KIND})
        await session.flush()
        return delivery_view(row)
