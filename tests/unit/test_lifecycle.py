"""The conversation state machine: every allowed move, and the forbidden ones refused."""

from __future__ import annotations

import pytest

from handoff.domain.lifecycle import ConversationState as S
from handoff.domain.lifecycle import IllegalTransition, Transition, bot_owns, next_state

ALLOWED = [
    (S.BOT, Transition.HANDOFF, S.QUEUED),
    (S.QUEUED, Transition.ASSIGN, S.ASSIGNED),
    (S.ASSIGNED, Transition.WAIT_PATIENT, S.WAITING_PATIENT),
    (S.WAITING_PATIENT, Transition.PATIENT_REPLIED, S.ASSIGNED),
    (S.ASSIGNED, Transition.TRANSFER_QUEUE, S.QUEUED),
    (S.WAITING_PATIENT, Transition.TRANSFER_AGENT, S.ASSIGNED),
    (S.QUEUED, Transition.RESOLVE, S.RESOLVED),
    (S.ASSIGNED, Transition.RESOLVE, S.RESOLVED),
    (S.RESOLVED, Transition.BACK_TO_BOT, S.BOT),
    (S.RESOLVED, Transition.REOPEN, S.QUEUED),
]


@pytest.mark.parametrize(("source", "move", "target"), ALLOWED)
def test_allowed_transitions_reach_their_state(source: S, move: Transition, target: S) -> None:
    assert next_state(source, move) == target


def test_every_other_pair_is_refused() -> None:
    allowed = {(s, t) for s, t, _ in ALLOWED} | {(S.WAITING_PATIENT, Transition.RESOLVE),
                                                 (S.WAITING_PATIENT, Transition.TRANSFER_QUEUE),
                                                 (S.ASSIGNED, Transition.TRANSFER_AGENT)}
    refused = 0
    for state in S:
        for move in Transition:
            if (state, move) in allowed:
                next_state(state, move)
                continue
            with pytest.raises(IllegalTransition):
                next_state(state, move)
            refused += 1
    assert refused == len(S) * len(Transition) - len(allowed)


def test_bot_owns_only_bot_and_resolved_conversations() -> None:
    assert {s for s in S if bot_owns(s)} == {S.BOT, S.RESOLVED}
