"""What one inbound patient message means for its conversation.

The store persists a patient message and then has to know: does the bot get it, with which
inbound status is it stored, does it answer the satisfaction (CSAT) or NPS question asked on
resolve, does it start the human SLA clock, and which lifecycle move (if any) follows. Those
are rules, not storage, so they live here as one pure function; `adapters/sql/store.ingest`
only carries out the decision (insert the row, write the answer, the events, the transition).

The rules, in short:

- The answer to the survey asked on resolve is the hub's, not the bot's: it is recorded by the
  hub, stored as processed, and never reaches the bot.
- Mail written by a program (auto-reply, bounce: ``raw_metadata["no_reply"]``) is nobody's turn:
  it answers no question, reopens nothing and starts no SLA clock.
- Any other message after resolve sends the conversation back to the bot (the bot owns a
  resolved conversation's next message), and it ends the survey: only the very next message
  can answer the question.
- While humans own the conversation, a patient message counts for the SLA clocks and wakes a
  conversation that was waiting on the patient.
"""

from __future__ import annotations

from dataclasses import dataclass

from handoff.domain.csat import parse_csat, parse_nps
from handoff.domain.lifecycle import ConversationState, Transition, bot_owns
from handoff.domain.messages import InboundStatus


@dataclass(frozen=True)
class InboundDecision:
    """What to do with one new inbound message.

    `to_bot`: the bot pipeline gets it; `status`: its inbound status as stored; `intent`: the
    message's intent as stored (``csat``/``nps`` for a survey answer, else None); `csat_score` /
    `nps_score`: the survey answer to record; `clear_survey`: forget that a survey question is
    pending; `patient_event`: write the ``patient_message`` event (SLA clocks, waking an agent);
    `transition`: the lifecycle move to apply, after the events above.
    """

    to_bot: bool
    status: InboundStatus
    csat_score: int | None = None
    nps_score: int | None = None
    clear_survey: bool = False
    patient_event: bool = False
    transition: Transition | None = None

    @property
    def intent(self) -> str | None:
        """The stored intent of a survey answer (``csat`` or ``nps``), None for anything else."""
        if self.csat_score is not None:
            return "csat"
        if self.nps_score is not None:
            return "nps"
        return None


def decide_inbound(
    state: ConversationState,
    *,
    csat_asked: bool,
    nps_asked: bool,
    automatic: bool,
    text: str | None,
    payload: str | None,
) -> InboundDecision:
    """Decide what a new patient message does, from the conversation's state and survey flags.

    `csat_asked` / `nps_asked`: the CSAT or NPS question was asked and not answered yet;
    `automatic`: the message was written by a program, not by the patient.
    """
    to_bot = bot_owns(state)
    # A program's mail after resolve answers no question and reopens nothing.
    after_resolve = state == ConversationState.RESOLVED and not automatic
    if after_resolve:
        # The CSAT question takes precedence: NPS is only asked once CSAT was answered.
        csat_score = parse_csat(text, payload) if csat_asked else None
        nps_score = parse_nps(text, payload) if nps_asked and not csat_asked else None
        if csat_score is not None or nps_score is not None:
            # The survey answer is the hub's: recorded here, done, never shown to the bot.
            return InboundDecision(to_bot=False, status=InboundStatus.PROCESSED, csat_score=csat_score,
                                   nps_score=nps_score, clear_survey=True)
        # Not an answer: the conversation goes back to the bot, and the question lapses (only
        # the very next message may answer it).
        return InboundDecision(to_bot=to_bot, status=InboundStatus.PENDING, clear_survey=True,
                               transition=Transition.BACK_TO_BOT)
    status = InboundStatus.PENDING if to_bot else InboundStatus.ROUTED
    if to_bot or automatic:
        # The bot's turn (no human clock runs), or a program's mail (nobody's turn).
        return InboundDecision(to_bot=to_bot, status=status)
    # Humans own it: the message is part of the SLA clocks and wakes a conversation that waits on
    # the patient.
    replied = Transition.PATIENT_REPLIED if state == ConversationState.WAITING_PATIENT else None
    return InboundDecision(to_bot=False, status=status, patient_event=True, transition=replied)
