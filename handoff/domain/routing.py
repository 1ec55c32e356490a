"""Routing: which queue a handoff enters, in what order it waits, and which attendant gets it.

Pure decisions; the services layer loads the waiting conversations and the agents' live state,
calls `assign`, and applies the returned assignments in one transaction (with row locks so
two hub processes never hand out the same conversation).

Rules:

- **Queue choice** (`choose_queue`): the first `QueueRule` matching the reason tag and the
  conversation's attributes (``"specialty:cardiologia"``, ``"insurer:unimed"``,
  ``"unit:centro"``) names the queue; the attributes whose kind the queue cares about
  (`QueueConfig.skill_kinds`) become required agent skills. An urgent conversation whose team
  is outside its hours goes to the on-call queue instead (red flags cannot wait for Monday).
- **Order** (`order_queue`): urgent first (clinical safety beats every SLA); then time to
  breach (the SLA deadline minus now: a low item close to breaching goes before a fresh high
  one); then effective priority, which rises with waiting time (aging) so an item without a
  deadline cannot starve; then arrival; then the conversation id (deterministic).
- **Eligibility** (`ineligibility`): online (not away/offline), member of the queue, has every
  required skill, below max concurrent conversations and below the channel's capacity, and not
  excluded (an agent who let this conversation time out is not offered it again).
- **Strategies**: least-busy ("menor fila": fewest open conversations, tie → longest idle,
  tie → lowest id); round-robin (next eligible agent after the persisted cursor in id order);
  manual (never auto-assigned; `ineligibility(..., manual=True)` validates a pick).
- **Stickiness**: the patient's last agent gets the conversation when eligible.
- **Requeue** (`requeue_decisions`): agent offline past a grace period, or no reply within
  N seconds of the assignment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from handoff.domain.business_time import BusinessCalendar, require_aware


class Priority(IntEnum):
    """Higher value = more urgent. Names match `handoff.domain.triage.PRIORITIES`."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @classmethod
    def parse(cls, value: str) -> Priority:
        """``"urgent"`` → Priority.URGENT (ValueError on an unknown name)."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown priority {value!r}") from None

    @property
    def label(self) -> str:
        """The lowercase name stored in the database and used by SLA policies."""
        return self.name.lower()

    def bumped(self) -> Priority:
        """One level up (escalation); urgent stays urgent."""
        return Priority(min(self + 1, Priority.URGENT))


class Presence(StrEnum):
    """Agent presence from the live connection."""

    ONLINE = "online"
    AWAY = "away"  # connected but not taking new conversations
    OFFLINE = "offline"


class Strategy(StrEnum):
    """How a queue picks an agent."""

    LEAST_BUSY = "least_busy"
    ROUND_ROBIN = "round_robin"
    MANUAL = "manual"


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueConfig:
    """One team's queue."""

    name: str
    team: str
    strategy: Strategy = Strategy.LEAST_BUSY
    skill_kinds: frozenset[str] = frozenset()  # attribute kinds agents must match, e.g. {"specialty"}
    calendar: BusinessCalendar | None = None  # the team's hours; None = always staffed


@dataclass(frozen=True)
class QueueRule:
    """Send conversations with one of `reasons` (empty = any) and all `attributes` to `queue`.

    An attribute ``"kind:*"`` matches any value of that kind (e.g. ``"insurer:*"``).
    """

    queue: str
    reasons: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()

    def matches(self, reason: str, attributes: frozenset[str]) -> bool:
        """True when the reason and every required attribute match."""
        if self.reasons and reason not in self.reasons:
            return False
        kinds = {_kind(a) for a in attributes}
        for wanted in self.attributes:
            kind, _, value = wanted.partition(":")
            if value == "*":
                if kind not in kinds:
                    return False
            elif wanted not in attributes:
                return False
        return True


@dataclass(frozen=True)
class AgingPolicy:
    """Every `step_seconds` of waiting raises an item one priority level, up to `max_priority`.

    The cap is HIGH by default: aging must never turn a routine request into "urgent", which
    means a clinical red flag and always goes first.
    """

    step_seconds: float | None = 15 * 60.0
    max_priority: Priority = Priority.HIGH


@dataclass(frozen=True)
class RoutingConfig:
    """Queues, the rules choosing among them, and the on-call queue for urgent after hours."""

    queues: tuple[QueueConfig, ...]
    rules: tuple[QueueRule, ...]
    default_queue: str
    on_call_queue: str | None = None
    aging: AgingPolicy = AgingPolicy()

    def __post_init__(self) -> None:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        referenced = [r.queue for r in self.rules] + [self.default_queue]
        if self.on_call_queue is not None:
            referenced.append(self.on_call_queue)
        unknown = sorted(set(referenced) - set(names))
        if unknown:
            raise ValueError(f"unknown queues: {', '.join(unknown)}")

    def queue(self, name: str) -> QueueConfig:
        """The queue named `name` (KeyError when unknown)."""
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(name)


def default_routing(calendar: BusinessCalendar | None = None) -> RoutingConfig:
    """Reception, clinical (nursing), billing and exams on the clinic's hours, plus 24x7 on-call."""
    return RoutingConfig(
        queues=(
            QueueConfig("reception", "reception", skill_kinds=frozenset({"unit"}), calendar=calendar),
            QueueConfig("clinical", "clinical", skill_kinds=frozenset({"specialty", "unit"}), calendar=calendar),
            QueueConfig("billing", "billing", skill_kinds=frozenset({"insurer"}), calendar=calendar),
            QueueConfig("exams", "exams", skill_kinds=frozenset({"unit"}), calendar=calendar),
            QueueConfig("on_call", "clinical"),
        ),
        rules=(
            QueueRule("clinical", reasons=frozenset({"urgent"})),
            QueueRule("exams", reasons=frozenset({"exams"})),
            QueueRule("billing", reasons=frozenset({"billing"})),
        ),
        default_queue="reception",  # booking, confirmation, human, other
        on_call_queue="on_call",
    )


def _kind(attribute: str) -> str:
    return attribute.partition(":")[0]


# -- queue choice -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDecision:
    """Where a handoff goes and which skills its agent needs."""

    queue: str
    required_skills: frozenset[str]
    on_call: bool  # True when urgent bypassed the team's closed hours


def required_skills(queue: QueueConfig, attributes: Iterable[str]) -> frozenset[str]:
    """The attributes whose kind the queue routes on, e.g. ``specialty:pediatria`` for clinical."""
    return frozenset(a for a in attributes if _kind(a) in queue.skill_kinds)


def choose_queue(
    reason: str, attributes: Iterable[str], priority: Priority, now: datetime, config: RoutingConfig,
    preferred: str | None = None,
) -> QueueDecision:
    """Pick the queue by rule (first match, else the default) and bypass closed hours if urgent.

    `preferred` is a queue the hand-off itself names (a staff-taught intent that hands off to a
    queue); it wins over the rules when the clinic has that queue, except for urgent hand-offs,
    which always follow the clinical rule."""
    now = require_aware(now, "now")
    attrs = frozenset(attributes)
    name = next((r.queue for r in config.rules if r.matches(reason, attrs)), config.default_queue)
    if preferred and priority is not Priority.URGENT and any(q.name == preferred for q in config.queues):
        name = preferred
    queue = config.queue(name)
    if (
        priority is Priority.URGENT
        and config.on_call_queue is not None
        and queue.calendar is not None
        and not queue.calendar.is_open(now)
    ):
        on_call = config.queue(config.on_call_queue)
        return QueueDecision(on_call.name, required_skills(on_call, attrs), on_call=True)
    return QueueDecision(queue.name, required_skills(queue, attrs), on_call=False)


# -- waiting items and order --------------------------------------------------------------


@dataclass(frozen=True)
class WaitingItem:
    """A queued conversation as routing sees it."""

    conversation_id: str
    queue: str
    priority: Priority
    channel: str
    waiting_since: datetime  # when the patient started waiting (kept across requeues)
    required_skills: frozenset[str] = frozenset()
    sla_deadline: datetime | None = None  # `SlaStatus.next_deadline`
    last_agent_id: int | None = None  # for stickiness; None when too old or unknown
    excluded_agents: frozenset[int] = frozenset()  # agents who let it time out
    reason: str = "other"


def effective_priority(item: WaitingItem, now: datetime, aging: AgingPolicy) -> Priority:
    """The item's priority raised one level per `aging.step_seconds` waited, capped."""
    if not aging.step_seconds or item.priority >= aging.max_priority:
        return item.priority
    waited = (require_aware(now, "now") - item.waiting_since).total_seconds()
    steps = max(int(waited // aging.step_seconds), 0)
    return Priority(min(item.priority + steps, aging.max_priority))


def queue_sort_key(item: WaitingItem, now: datetime, aging: AgingPolicy) -> tuple[int, float, int, float, str]:
    """Sort key: urgent band, time to breach (none = last), effective priority, arrival, id."""
    ttb = float("inf") if item.sla_deadline is None else (item.sla_deadline - now).total_seconds()
    return (
        0 if item.priority is Priority.URGENT else 1,
        ttb,
        -int(effective_priority(item, now, aging)),
        item.waiting_since.timestamp(),
        item.conversation_id,
    )


def order_queue(items: Iterable[WaitingItem], now: datetime, aging: AgingPolicy = AgingPolicy()) -> list[WaitingItem]:
    """Most urgent first: what `GET /api/queue` lists and the order `assign` serves."""
    now = require_aware(now, "now")
    return sorted(items, key=lambda item: queue_sort_key(item, now, aging))


# -- agents and eligibility ---------------------------------------------------------------


@dataclass(frozen=True)
class AgentState:
    """An attendant's live state."""

    agent_id: int
    presence: Presence
    queues: frozenset[str]
    skills: frozenset[str] = frozenset()
    max_concurrent: int = 3
    channel_capacity: Mapping[str, int] = field(default_factory=dict, hash=False)  # absent = total only
    open_by_channel: Mapping[str, int] = field(default_factory=dict, hash=False)
    idle_since: datetime | None = None  # last assignment/close; None = never busy (longest idle)
    presence_since: datetime | None = None

    @property
    def open_total(self) -> int:
        """Open conversations over every channel."""
        return sum(self.open_by_channel.values())


class Ineligible(StrEnum):
    """Why an agent cannot take an item."""

    NOT_ONLINE = "not_online"
    NOT_IN_QUEUE = "not_in_queue"
    MISSING_SKILLS = "missing_skills"
    AT_CAPACITY = "at_capacity"
    CHANNEL_FULL = "channel_full"
    EXCLUDED = "excluded"


def ineligibility(agent: AgentState, item: WaitingItem, *, manual: bool = False) -> Ineligible | None:
    """None when `agent` may take `item`, else the first reason why not.

    `manual=True` validates an attendant's own pick: the timeout exclusion does not apply
    (they chose it knowingly), every capacity and skill rule still does.
    """
    if agent.presence is not Presence.ONLINE:
        return Ineligible.NOT_ONLINE
    if item.queue not in agent.queues:
        return Ineligible.NOT_IN_QUEUE
    if not item.required_skills <= agent.skills:
        return Ineligible.MISSING_SKILLS
    if agent.open_total >= agent.max_concurrent:
        return Ineligible.AT_CAPACITY
    cap = agent.channel_capacity.get(item.channel)
    if cap is not None and agent.open_by_channel.get(item.channel, 0) >= cap:
        return Ineligible.CHANNEL_FULL
    if not manual and agent.agent_id in item.excluded_agents:
        return Ineligible.EXCLUDED
    return None


# -- assignment ---------------------------------------------------------------------------


class AssignedBy(StrEnum):
    """Which rule picked the agent."""

    STICKY = "sticky"
    LEAST_BUSY = "least_busy"
    ROUND_ROBIN = "round_robin"


@dataclass(frozen=True)
class Assignment:
    """Give `conversation_id` to `agent_id`."""

    conversation_id: str
    agent_id: int
    queue: str
    by: AssignedBy


@dataclass(frozen=True)
class AssignmentPlan:
    """The result of one assignment run.

    `cursors` are the round-robin cursors (queue → last agent id) to persist for the next run;
    `unassigned` says why each served-but-unassigned item is still waiting.
    """

    assignments: tuple[Assignment, ...]
    cursors: dict[str, int]
    unassigned: dict[str, str]


def _idle_key(agent: AgentState) -> tuple[int, float]:
    return (0, 0.0) if agent.idle_since is None else (1, agent.idle_since.timestamp())


def _least_busy(candidates: Sequence[AgentState]) -> AgentState:
    return min(candidates, key=lambda a: (a.open_total, _idle_key(a), a.agent_id))


def _round_robin(candidates: Sequence[AgentState], cursor: int | None) -> AgentState:
    ring = sorted(candidates, key=lambda a: a.agent_id)
    if cursor is None:
        return ring[0]
    return next((a for a in ring if a.agent_id > cursor), ring[0])


def assign(
    items: Iterable[WaitingItem],
    agents: Iterable[AgentState],
    now: datetime,
    config: RoutingConfig,
    cursors: Mapping[str, int] | None = None,
) -> AssignmentPlan:
    """Assign waiting items to eligible agents, most urgent item first.

    Guarantees: an agent never goes over `max_concurrent` or a channel capacity (loads are
    updated after every pick within the run); a conversation is assigned at most once even if
    listed twice; manual queues are never auto-assigned. Round-robin walks agents in id order
    after the queue's cursor, skipping ineligible ones, so membership changes do not reset
    fairness.
    """
    now = require_aware(now, "now")
    pool: dict[int, AgentState] = {a.agent_id: a for a in agents}
    rr: dict[str, int] = dict(cursors or {})
    seen: set[str] = set()
    done: list[Assignment] = []
    unassigned: dict[str, str] = {}
    for item in order_queue(items, now, config.aging):
        if item.conversation_id in seen:
            continue
        seen.add(item.conversation_id)
        try:
            queue = config.queue(item.queue)
        except KeyError:
            unassigned[item.conversation_id] = "unknown_queue"
            continue
        if queue.strategy is Strategy.MANUAL:
            unassigned[item.conversation_id] = "manual"
            continue
        candidates = [a for a in pool.values() if ineligibility(a, item) is None]
        if not candidates:
            unassigned[item.conversation_id] = "no_eligible_agent"
            continue
        sticky = next((a for a in candidates if a.agent_id == item.last_agent_id), None)
        if sticky is not None:
            chosen, by = sticky, AssignedBy.STICKY
        elif queue.strategy is Strategy.ROUND_ROBIN:
            chosen, by = _round_robin(candidates, rr.get(queue.name)), AssignedBy.ROUND_ROBIN
            rr[queue.name] = chosen.agent_id
        else:
            chosen, by = _least_busy(candidates), AssignedBy.LEAST_BUSY
        loads = dict(chosen.open_by_channel)
        loads[item.channel] = loads.get(item.channel, 0) + 1
        pool[chosen.agent_id] = dataclasses.replace(chosen, open_by_channel=loads, idle_since=now)
        done.append(Assignment(item.conversation_id, chosen.agent_id, queue.name, by))
    return AssignmentPlan(tuple(done), rr, unassigned)


def on_call_reroutes(items: Iterable[WaitingItem], now: datetime, config: RoutingConfig) -> dict[str, str]:
    """Urgent items waiting in a queue whose team has just closed: ``{conversation_id: on-call queue}``."""
    now = require_aware(now, "now")
    if config.on_call_queue is None:
        return {}
    moves: dict[str, str] = {}
    for item in items:
        if item.priority is not Priority.URGENT or item.queue == config.on_call_queue:
            continue
        try:
            calendar = config.queue(item.queue).calendar
        except KeyError:
            continue
        if calendar is not None and not calendar.is_open(now):
            moves[item.conversation_id] = config.on_call_queue
    return moves


# -- requeue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveAssignment:
    """A conversation currently held by an agent."""

    conversation_id: str
    agent_id: int
    assigned_at: datetime
    first_reply_at: datetime | None  # the agent's first public reply since this assignment
    waiting_patient: bool = False


class RequeueReason(StrEnum):
    """Why a conversation goes back to its queue."""

    AGENT_OFFLINE = "agent_offline"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class RequeuePolicy:
    """`no_answer_seconds`: reply deadline after an assignment; `offline_grace_seconds` absorbs
    a WebSocket reconnect so a flaky network does not bounce conversations."""

    no_answer_seconds: float = 5 * 60.0
    offline_grace_seconds: float = 60.0


@dataclass(frozen=True)
class RequeueDecision:
    """Put the conversation back in its queue (keeping its original `waiting_since`)."""

    conversation_id: str
    agent_id: int
    reason: RequeueReason
    exclude_agent: bool  # add to the item's `excluded_agents` so it is not offered back


def requeue_decisions(
    active: Iterable[ActiveAssignment],
    agents: Iterable[AgentState],
    now: datetime,
    policy: RequeuePolicy = RequeuePolicy(),
) -> list[RequeueDecision]:
    """Conversations to take back from their agent now.

    - Agent offline (or unknown) for at least the grace period → requeue, unless the
      conversation is waiting on the patient (nothing to do until the patient writes; call
      again then with ``waiting_patient=False``).
    - No reply within `no_answer_seconds` of the assignment → requeue and exclude that agent.
    Away agents keep their conversations: the no-answer rule covers an agent who walked off.
    """
    now = require_aware(now, "now")
    by_id = {a.agent_id: a for a in agents}
    out: list[RequeueDecision] = []
    for held in active:
        agent = by_id.get(held.agent_id)
        offline = agent is None or (
            agent.presence is Presence.OFFLINE
            and (
                agent.presence_since is None
                or (now - agent.presence_since).total_seconds() >= policy.offline_grace_seconds
            )
        )
        if offline and not held.waiting_patient:
            out.append(RequeueDecision(held.conversation_id, held.agent_id, RequeueReason.AGENT_OFFLINE, False))
            continue
        if (
            held.first_reply_at is None
            and not held.waiting_patient
            and (now - held.assigned_at).total_seconds() >= policy.no_answer_seconds
        ):
            out.append(RequeueDecision(held.conversation_id, held.agent_id, RequeueReason.NO_ANSWER, True))
    return out
