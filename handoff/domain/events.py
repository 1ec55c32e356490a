"""Names of the append-only `conversation_events` rows and how they feed the SLA clocks.

The event log is the single source for metrics and audit (docs/CONTRACTS.md, Issue 4). A
lifecycle transition is written under the event type `transition_event_type(move)` (past
tense where the contract says so: ``assigned``, ``resolved``, ``reopened``); everything else
(replies, notes, escalations, CSAT) has its own type below.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from handoff.domain.lifecycle import Transition
from handoff.domain.sla import SlaEvent, SlaEventKind

CREATED = "created"
HANDOFF = "handoff"  # {reason, priority, queue, note, on_call, skills}
ASSIGNED = "assigned"  # {agent_id, by}
AGENT_REPLY = "agent_reply"  # {agent_id, message_id}
PATIENT_MESSAGE = "patient_message"  # {message_id} while humans own the conversation
WAIT_PATIENT = "wait_patient"
PATIENT_REPLIED = "patient_replied"
TRANSFER_QUEUE = "transfer_queue"  # {queue, from_queue, agent_id}
TRANSFER_AGENT = "transfer_agent"  # {agent_id, from_agent_id}
RESOLVED = "resolved"  # {outcome, agent_id}
REOPENED = "reopened"
BACK_TO_BOT = "back_to_bot"
REQUEUED = "requeued"  # {reason, agent_id} (lifecycle transfer_queue done by the system)
SLA_WARNING = "sla_warning"  # {metric, level, action, cycle, key}
SLA_BREACH = "sla_breach"
ESCALATION = "escalation"
NOTE = "note"  # {agent_id, text}: internal, never sent to the patient
TAGGED = "tagged"  # {tags, agent_id}
PRIORITY_CHANGED = "priority_changed"  # {from, to, by}
CSAT = "csat"  # {score}
CSAT_REQUESTED = "csat_requested"  # {message_id}
NPS = "nps"  # {score, message_id}: 0–10, asked right after the CSAT answer
NPS_REQUESTED = "nps_requested"  # {message_id}
APPOINTMENT_BOOKED = "appointment_booked"
REASON_CORRECTED = "reason_corrected"  # {from, to, agent_id}: staff fixed the bot's reason (feeds the bot review)

_TRANSITION_TYPES: dict[Transition, str] = {
    Transition.HANDOFF: HANDOFF,
    Transition.ASSIGN: ASSIGNED,
    Transition.TRANSFER_QUEUE: TRANSFER_QUEUE,
    Transition.TRANSFER_AGENT: TRANSFER_AGENT,
    Transition.WAIT_PATIENT: WAIT_PATIENT,
    Transition.PATIENT_REPLIED: PATIENT_REPLIED,
    Transition.RESOLVE: RESOLVED,
    Transition.BACK_TO_BOT: BACK_TO_BOT,
    Transition.REOPEN: REOPENED,
}

# Event type -> SLA fact. Transfers, requeues and assignments do not touch the clocks.
_SLA_KINDS: dict[str, SlaEventKind] = {
    HANDOFF: SlaEventKind.QUEUED,
    AGENT_REPLY: SlaEventKind.AGENT_REPLY,
    PATIENT_MESSAGE: SlaEventKind.PATIENT_MESSAGE,
    WAIT_PATIENT: SlaEventKind.WAITING_PATIENT,
    PATIENT_REPLIED: SlaEventKind.RESUMED,
    RESOLVED: SlaEventKind.RESOLVED,
    REOPENED: SlaEventKind.REOPENED,
}

SLA_EVENT_TYPES: frozenset[str] = frozenset(_SLA_KINDS)


def transition_event_type(move: Transition) -> str:
    """The `conversation_events.type` a lifecycle transition is recorded under."""
    return _TRANSITION_TYPES[move]


def sla_events(rows: Iterable[tuple[str, datetime]]) -> list[SlaEvent]:
    """The SLA facts among `(event type, aware time)` rows; other types are skipped."""
    out: list[SlaEvent] = []
    for type_, at in rows:
        kind = _SLA_KINDS.get(type_)
        if kind is not None:
            out.append(SlaEvent(kind, at))
    return out
