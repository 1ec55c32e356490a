"""Conversation lifecycle as an explicit state machine.

Every transition is recorded as an append-only event with actor and time by the services
layer; this module only decides what is allowed.
"""

from __future__ import annotations

from enum import StrEnum

from handoff.domain.errors import Conflict


class ConversationState(StrEnum):
    """Who owns the conversation right now."""

    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    WAITING_PATIENT = "waiting_patient"
    RESOLVED = "resolved"


class Transition(StrEnum):
    """Named lifecycle moves."""

    HANDOFF = "handoff"  # bot -> queued
    ASSIGN = "assign"  # queued -> assigned
    TRANSFER_QUEUE = "transfer_queue"  # assigned/waiting -> queued
    TRANSFER_AGENT = "transfer_agent"  # assigned/waiting -> assigned (another agent)
    WAIT_PATIENT = "wait_patient"  # assigned -> waiting on patient
    PATIENT_REPLIED = "patient_replied"  # waiting on patient -> assigned
    RESOLVE = "resolve"  # queued/assigned/waiting -> resolved
    BACK_TO_BOT = "back_to_bot"  # resolved -> bot (next patient message starts with the bot)
    REOPEN = "reopen"  # resolved -> queued (staff reopen)


S = ConversationState
_ALLOWED: dict[Transition, tuple[frozenset[ConversationState], ConversationState]] = {
    Transition.HANDOFF: (frozenset({S.BOT}), S.QUEUED),
    Transition.ASSIGN: (frozenset({S.QUEUED}), S.ASSIGNED),
    Transition.TRANSFER_QUEUE: (frozenset({S.ASSIGNED, S.WAITING_PATIENT}), S.QUEUED),
    Transition.TRANSFER_AGENT: (frozenset({S.ASSIGNED, S.WAITING_PATIENT}), S.ASSIGNED),
    Transition.WAIT_PATIENT: (frozenset({S.ASSIGNED}), S.WAITING_PATIENT),
    Transition.PATIENT_REPLIED: (frozenset({S.WAITING_PATIENT}), S.ASSIGNED),
    Transition.RESOLVE: (frozenset({S.QUEUED, S.ASSIGNED, S.WAITING_PATIENT}), S.RESOLVED),
    Transition.BACK_TO_BOT: (frozenset({S.RESOLVED}), S.BOT),
    Transition.REOPEN: (frozenset({S.RESOLVED}), S.QUEUED),
}


class IllegalTransition(Conflict, ValueError):
    """Raised when a transition is not allowed from the current state (a refusal: 409
    `illegal_transition` through the API's one error handler)."""

    def __init__(self, message: str) -> None:
        super().__init__("illegal_transition", message)


def next_state(current: ConversationState, transition: Transition) -> ConversationState:
    """Return the state reached by `transition` from `current`, or raise IllegalTransition."""
    sources, target = _ALLOWED[transition]
    if current not in sources:
        raise IllegalTransition(f"{transition.value} not allowed from {current.value}")
    return target


def bot_owns(state: ConversationState) -> bool:
    """True when new patient messages go to the bot rather than to the human queue."""
    return state in (S.BOT, S.RESOLVED)
