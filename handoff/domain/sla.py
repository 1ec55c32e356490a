"""SLA clocks and the escalation ladder, computed from a conversation's lifecycle events.

Nothing is stored here: a clock is recomputed from the ordered events (the append-only
``conversation_events`` rows plus agent/patient message times) and `now`, so every hub
process gets the same answer and metrics/audit share one source.

Three clocks per handoff episode (targets come from an `SlaPolicy` chosen per queue and
priority):

- **first response**: from ``queued`` to the first agent reply. Never paused: before anyone
  has answered, the patient is waiting on us, not the other way round.
- **next response**: after the first reply, from the first unanswered patient message to the
  next agent reply (one cycle per exchange; a reopen also starts a cycle). Paused while the
  conversation waits on the patient.
- **resolution**: from ``queued`` to ``resolved``; paused while waiting on the patient;
  frozen on resolve and continued (not restarted) on reopen, because a reopen means the
  problem was not really solved.

Clocks run on business time (`BusinessCalendar`) unless the policy is 24x7 (urgent). A clock
is ``warning`` from `SlaPolicy.warning_ratio` (80%) of its target and ``breached`` from 100%.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from handoff.domain.business_time import BusinessCalendar, require_aware
from handoff.domain.lifecycle import Transition

# Ratios are compared on float seconds; this absorbs 0.8 * 600 = 480.00000000000006.
_EPSILON_SECONDS = 1e-6


class SlaMetric(StrEnum):
    """The three targets of a policy."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaState(StrEnum):
    """How much of the target a clock has used."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"


class ClockStatus(StrEnum):
    """Whether a clock is counting."""

    RUNNING = "running"
    PAUSED = "paused"  # waiting on the patient
    STOPPED = "stopped"  # answered, or frozen by resolve


class SlaEventKind(StrEnum):
    """Lifecycle/message facts the clocks react to."""

    QUEUED = "queued"  # handoff: the episode starts
    AGENT_REPLY = "agent_reply"  # a public agent message (internal notes do not count)
    PATIENT_MESSAGE = "patient_message"
    WAITING_PATIENT = "waiting_patient"  # pause
    RESUMED = "resumed"  # back from waiting on the patient
    RESOLVED = "resolved"  # freeze
    REOPENED = "reopened"


@dataclass(frozen=True)
class SlaEvent:
    """One fact with its (timezone-aware) time."""

    kind: SlaEventKind
    at: datetime


_TRANSITION_EVENTS: dict[Transition, SlaEventKind] = {
    Transition.HANDOFF: SlaEventKind.QUEUED,
    Transition.WAIT_PATIENT: SlaEventKind.WAITING_PATIENT,
    Transition.PATIENT_REPLIED: SlaEventKind.RESUMED,
    Transition.RESOLVE: SlaEventKind.RESOLVED,
    Transition.REOPEN: SlaEventKind.REOPENED,
}


def sla_event_for(transition: Transition) -> SlaEventKind | None:
    """The SLA fact of a lifecycle transition, or None when it does not affect the clocks.

    Assignments and transfers do not restart anything: the patient keeps waiting the same
    time whoever holds the conversation. Agent replies and patient messages come from the
    messages table, not from transitions.
    """
    return _TRANSITION_EVENTS.get(transition)


# -- policies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in seconds (None = no target) and which clock they run on."""

    first_response_seconds: float | None
    next_response_seconds: float | None
    resolution_seconds: float | None
    business_hours: bool = True  # False: 24x7 calendar time (urgent)
    warning_ratio: float = 0.8

    def __post_init__(self) -> None:
        for metric in SlaMetric:
            target = self.target(metric)
            if target is not None and target <= 0:
                raise ValueError(f"{metric.value} target must be > 0")
        if not 0 < self.warning_ratio < 1:
            raise ValueError("warning_ratio must be between 0 and 1")

    def target(self, metric: SlaMetric) -> float | None:
        """The target of one metric in seconds."""
        return {
            SlaMetric.FIRST_RESPONSE: self.first_response_seconds,
            SlaMetric.NEXT_RESPONSE: self.next_response_seconds,
            SlaMetric.RESOLUTION: self.resolution_seconds,
        }[metric]


_MIN = 60.0
_HOUR = 3600.0

# Defaults a clinic can override. Urgent runs 24x7 (the on-call team answers red flags at
# night); the rest runs on business hours. Resolution "8 business hours" is about one day.
DEFAULT_POLICIES: Mapping[str, SlaPolicy] = {
    "urgent": SlaPolicy(5 * _MIN, 10 * _MIN, 4 * _HOUR, business_hours=False),
    "high": SlaPolicy(15 * _MIN, 30 * _MIN, 8 * _HOUR),
    "normal": SlaPolicy(30 * _MIN, 1 * _HOUR, 16 * _HOUR),
    "low": SlaPolicy(2 * _HOUR, 4 * _HOUR, 32 * _HOUR),
}


@dataclass(frozen=True)
class SlaPolicyBook:
    """Policies per priority with optional per-queue overrides ``{(queue, priority): policy}``."""

    by_priority: Mapping[str, SlaPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    by_queue: Mapping[tuple[str, str], SlaPolicy] = field(default_factory=dict)

    def policy_for(self, queue: str | None, priority: str) -> SlaPolicy:
        """The queue's override when there is one, else the priority's policy (KeyError if none)."""
        if queue is not None and (queue, priority) in self.by_queue:
            return self.by_queue[(queue, priority)]
        return self.by_priority[priority]


# -- clocks -------------------------------------------------------------------------------

Segment = tuple[datetime, datetime | None]  # [start, end); end None = still running


@dataclass(frozen=True)
class SlaClock:
    """One clock evaluated at `now`.

    `elapsed_seconds` counts business (or 24x7) seconds inside `segments`, i.e. without
    pauses and without the time after a stop. `deadline` is when the clock reaches 100%:
    in the past for a breached clock, projected for a running one, None when it is paused
    or stopped before breaching (it cannot be known / will never happen).
    """

    metric: SlaMetric
    cycle: int  # 0 for first response and resolution; 1, 2, ... for next-response exchanges
    status: ClockStatus
    started_at: datetime
    stopped_at: datetime | None
    elapsed_seconds: float
    target_seconds: float | None
    warning_ratio: float
    now: datetime
    segments: tuple[Segment, ...]
    calendar: BusinessCalendar = field(repr=False, compare=False)

    @property
    def remaining_seconds(self) -> float | None:
        """Target minus elapsed; negative once breached. None without a target."""
        return None if self.target_seconds is None else self.target_seconds - self.elapsed_seconds

    @property
    def percent_used(self) -> float | None:
        """Elapsed as a percentage of the target (may exceed 100). None without a target."""
        return None if self.target_seconds is None else 100.0 * self.elapsed_seconds / self.target_seconds

    def has_reached(self, ratio: float) -> bool:
        """True when the clock has used at least `ratio` of its target (1.0 = breach)."""
        if self.target_seconds is None:
            return False
        return self.elapsed_seconds + _EPSILON_SECONDS >= ratio * self.target_seconds

    @property
    def state(self) -> SlaState:
        """ok below the warning ratio, warning from it, breached from 100%."""
        if self.has_reached(1.0):
            return SlaState.BREACHED
        if self.has_reached(self.warning_ratio):
            return SlaState.WARNING
        return SlaState.OK

    @property
    def deadline(self) -> datetime | None:
        """When the clock reaches 100% of its target (see the class docstring)."""
        if self.target_seconds is None:
            return None
        return self.reached_at(self.target_seconds)

    def reached_at(self, elapsed_seconds: float) -> datetime | None:
        """When the clock's elapsed time reached (past) or will reach (running) that amount.

        None when it has not reached it and is not running (paused or stopped).
        """
        used = 0.0
        for begin, end in self.segments:
            if end is None:  # the running segment: project forward (or find the past crossing)
                return self.calendar.add_business_seconds(begin, max(elapsed_seconds - used, 0.0))
            length = self.calendar.business_seconds_between(begin, end)
            if used + length + _EPSILON_SECONDS >= elapsed_seconds:
                return self.calendar.add_business_seconds(begin, min(max(elapsed_seconds - used, 0.0), length))
            used += length
        return None


class _Acc:
    """Mutable builder of one clock's segments while replaying events."""

    def __init__(self, metric: SlaMetric, cycle: int, at: datetime) -> None:
        self.metric = metric
        self.cycle = cycle
        self.started_at = at
        self.starts: list[datetime] = [at]
        self.ends: list[datetime | None] = [None]
        self.stopped_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.ends[-1] is None

    def pause(self, at: datetime) -> None:
        if self.running:
            self.ends[-1] = at

    def resume(self, at: datetime) -> None:
        if self.stopped_at is None and not self.running:
            self.starts.append(at)
            self.ends.append(None)

    def stop(self, at: datetime) -> None:
        if self.stopped_at is None:
            self.pause(at)
            self.stopped_at = at

    def unfreeze(self, at: datetime) -> None:
        if self.stopped_at is not None:
            self.stopped_at = None
            self.starts.append(at)
            self.ends.append(None)

    def build(self, target: float | None, warning_ratio: float, calendar: BusinessCalendar, now: datetime) -> SlaClock:
        segments = tuple(zip(self.starts, self.ends, strict=True))
        elapsed = sum(calendar.business_seconds_between(b, e if e is not None else now) for b, e in segments)
        if self.stopped_at is not None:
            status = ClockStatus.STOPPED
        elif self.ends[-1] is None:
            status = ClockStatus.RUNNING
        else:
            status = ClockStatus.PAUSED
        return SlaClock(
            metric=self.metric,
            cycle=self.cycle,
            status=status,
            started_at=self.started_at,
            stopped_at=self.stopped_at,
            elapsed_seconds=float(elapsed),
            target_seconds=target,
            warning_ratio=warning_ratio,
            now=now,
            segments=segments,
            calendar=calendar,
        )


@dataclass(frozen=True)
class SlaStatus:
    """All clocks of the current handoff episode at `now`."""

    episode_started_at: datetime | None
    first_response: SlaClock | None
    next_response: SlaClock | None  # the current (or last) exchange
    next_response_history: tuple[SlaClock, ...]  # every exchange, oldest first (incl. current)
    resolution: SlaClock | None
    waiting_patient: bool
    resolved: bool
    answered: bool  # an agent has replied in this episode

    def clocks(self) -> list[SlaClock]:
        """First response, current next response and resolution, those that exist."""
        return [c for c in (self.first_response, self.next_response, self.resolution) if c is not None]

    @property
    def worst_state(self) -> SlaState:
        """The most severe state among the clocks that still count (not stopped)."""
        order = [SlaState.OK, SlaState.WARNING, SlaState.BREACHED]
        live = [c.state for c in self.clocks() if c.status is not ClockStatus.STOPPED]
        return max(live, key=order.index, default=SlaState.OK)

    @property
    def next_deadline(self) -> datetime | None:
        """Earliest deadline among running clocks: what queue ordering calls time to breach."""
        deadlines = [c.deadline for c in self.clocks() if c.status is ClockStatus.RUNNING and c.deadline is not None]
        return min(deadlines, default=None)


_EMPTY_STATUS = SlaStatus(None, None, None, (), None, waiting_patient=False, resolved=False, answered=False)


def evaluate_sla(events: Iterable[SlaEvent], policy: SlaPolicy, calendar: BusinessCalendar, now: datetime) -> SlaStatus:
    """Replay `events` (sorted stably by time; those after `now` ignored) into clocks at `now`.

    Rules beyond the module docstring: events before the first ``queued`` are ignored; a
    ``queued`` while an episode is open is ignored (transfers do not restart clocks); a
    ``queued`` after ``resolved`` starts a new episode from zero; a patient message while
    waiting on the patient resumes the clocks even if the ``resumed`` event is missing.
    """
    now = require_aware(now, "now")
    if not policy.business_hours:
        calendar = BusinessCalendar.always_open(calendar.tz)
    ordered = sorted(
        (e for e in events if require_aware(e.at, "event time") <= now),
        key=lambda e: e.at.astimezone(UTC),
    )
    episode: datetime | None = None
    first: _Acc | None = None
    resolution: _Acc | None = None
    exchanges: list[_Acc] = []
    current: _Acc | None = None  # the running/paused next-response exchange
    waiting = resolved = answered = False

    for event in ordered:
        kind, at = event.kind, event.at
        if kind is SlaEventKind.QUEUED:
            if episode is None or resolved:
                episode = at
                first = _Acc(SlaMetric.FIRST_RESPONSE, 0, at)
                resolution = _Acc(SlaMetric.RESOLUTION, 0, at)
                exchanges, current = [], None
                waiting = resolved = answered = False
            continue
        if first is None or resolution is None:
            continue  # nothing is measured before the handoff
        if kind is SlaEventKind.AGENT_REPLY:
            if resolved:
                continue
            answered = True
            first.stop(at)
            if current is not None:
                current.stop(at)
                current = None
        elif kind is SlaEventKind.PATIENT_MESSAGE:
            if resolved:
                continue  # after resolve the bot owns new messages
            if waiting:
                waiting = False
                resolution.resume(at)
                if current is not None:
                    current.resume(at)
            if answered and current is None:
                current = _Acc(SlaMetric.NEXT_RESPONSE, len(exchanges) + 1, at)
                exchanges.append(current)
        elif kind is SlaEventKind.WAITING_PATIENT:
            if resolved or waiting:
                continue
            waiting = True
            resolution.pause(at)
            if current is not None:
                current.pause(at)
        elif kind is SlaEventKind.RESUMED:
            if resolved or not waiting:
                continue
            waiting = False
            resolution.resume(at)
            if current is not None:
                current.resume(at)
        elif kind is SlaEventKind.RESOLVED:
            if resolved:
                continue
            resolved, waiting = True, False
            resolution.stop(at)
            first.stop(at)  # resolved without a reply: frozen, its breach (if any) stays recorded
            if current is not None:
                current.stop(at)
                current = None
        elif kind is SlaEventKind.REOPENED:
            if not resolved:
                continue
            resolved = False
            resolution.unfreeze(at)
            if not answered:
                first.unfreeze(at)
            else:  # the patient is waiting on us again
                current = _Acc(SlaMetric.NEXT_RESPONSE, len(exchanges) + 1, at)
                exchanges.append(current)

    if episode is None or first is None or resolution is None:
        return _EMPTY_STATUS
    ratio = policy.warning_ratio
    history = tuple(acc.build(policy.next_response_seconds, ratio, calendar, now) for acc in exchanges)
    return SlaStatus(
        episode_started_at=episode,
        first_response=first.build(policy.first_response_seconds, ratio, calendar, now),
        next_response=history[-1] if history else None,
        next_response_history=history,
        resolution=resolution.build(policy.resolution_seconds, ratio, calendar, now),
        waiting_patient=waiting,
        resolved=resolved,
        answered=answered,
    )


# -- escalation ---------------------------------------------------------------------------


class EscalationAction(StrEnum):
    """What the services layer does when a level is due."""

    NOTIFY_AGENT = "notify_agent"  # live nudge to the assigned attendant
    ALERT_MANAGER = "alert_manager"  # live alert on the manager dashboard (+ breach event)
    REASSIGN = "reassign"  # requeue away from the current agent
    BUMP_PRIORITY = "bump_priority"  # one priority level up


@dataclass(frozen=True)
class EscalationLevel:
    """Fire `actions` once when a clock reaches `at_ratio` of its target."""

    level: int
    at_ratio: float
    actions: tuple[EscalationAction, ...]
    metrics: frozenset[SlaMetric] = frozenset(SlaMetric)

    def __post_init__(self) -> None:
        if self.at_ratio <= 0:
            raise ValueError("at_ratio must be > 0")


DEFAULT_LADDER: tuple[EscalationLevel, ...] = (
    EscalationLevel(1, 0.8, (EscalationAction.NOTIFY_AGENT,)),
    EscalationLevel(2, 1.0, (EscalationAction.ALERT_MANAGER,)),
    # Reassigning helps a patient nobody is answering; it does not speed up a long resolution
    # that an agent is actively working on, so level 3 watches the response clocks only.
    EscalationLevel(
        3,
        1.5,
        (EscalationAction.REASSIGN, EscalationAction.BUMP_PRIORITY),
        frozenset({SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE}),
    ),
)


@dataclass(frozen=True)
class DueEscalation:
    """A level whose threshold a clock has reached and that was not fired yet."""

    key: str  # persist it (unique) to make firing idempotent across processes
    metric: SlaMetric
    cycle: int
    level: int
    actions: tuple[EscalationAction, ...]
    reached_at: datetime | None  # when the clock crossed the threshold


def escalation_key(episode_started_at: datetime, metric: SlaMetric, cycle: int, level: int) -> str:
    """Stable id of one escalation of one clock of one episode, e.g. ``1767614400:first_response:0:2``."""
    return f"{int(episode_started_at.timestamp())}:{metric.value}:{cycle}:{level}"


def _check_ladder(ladder: Sequence[EscalationLevel]) -> list[EscalationLevel]:
    if len({lvl.level for lvl in ladder}) != len(ladder):
        raise ValueError("escalation levels must be unique")
    return sorted(ladder, key=lambda lvl: (lvl.at_ratio, lvl.level))


def due_escalations(
    status: SlaStatus, fired: Collection[str], ladder: Sequence[EscalationLevel] = DEFAULT_LADDER
) -> list[DueEscalation]:
    """Every level that is due now and whose key is not in `fired`, lowest threshold first.

    Only clocks that still count (running or paused) escalate: a reply or a resolve ends the
    reason to alert anyone, and a late one is already recorded as a breach by the clock.
    When a job was down, several levels may come due at once; all are returned so that the
    breach event is never skipped. Calling again with the returned keys added to `fired`
    returns nothing new (idempotent).
    """
    if status.episode_started_at is None:
        return []
    levels = _check_ladder(ladder)
    due: list[DueEscalation] = []
    for clock in status.clocks():
        if clock.status is ClockStatus.STOPPED or clock.target_seconds is None:
            continue
        for lvl in levels:
            if clock.metric not in lvl.metrics or not clock.has_reached(lvl.at_ratio):
                continue
            key = escalation_key(status.episode_started_at, clock.metric, clock.cycle, lvl.level)
            if key in fired:
                continue
            reached = clock.reached_at(lvl.at_ratio * clock.target_seconds)
            due.append(DueEscalation(key, clock.metric, clock.cycle, lvl.level, lvl.actions, reached))
    return due


def next_escalation_at(
    status: SlaStatus, fired: Collection[str], ladder: Sequence[EscalationLevel] = DEFAULT_LADDER
) -> datetime | None:
    """When the next not-yet-due level of a running clock will come due (for a timer), or None."""
    if status.episode_started_at is None:
        return None
    levels = _check_ladder(ladder)
    upcoming: list[datetime] = []
    for clock in status.clocks():
        if clock.status is not ClockStatus.RUNNING or clock.target_seconds is None:
            continue
        for lvl in levels:
            key = escalation_key(status.episode_started_at, clock.metric, clock.cycle, lvl.level)
            if clock.metric not in lvl.metrics or key in fired or clock.has_reached(lvl.at_ratio):
                continue
            moment = clock.reached_at(lvl.at_ratio * clock.target_seconds)
            if moment is not None:
                upcoming.append(moment)
            break  # later levels of this clock come after this one
    return min(upcoming, default=None)
