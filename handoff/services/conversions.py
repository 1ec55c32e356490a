"""Bot conversions in the conversation timeline.

When the bot books an appointment in a conversation (the action server passes its conversation
id to `POST /api/clinic/appointments`), the hub writes an `appointment_booked` event there: the
inbox shows it in the timeline and the dashboard counts the conversation as converted by the
bot (docs/metrics.md). The appointment itself lives in the clinic's agenda (`ClinicDirectory`);
only its id goes into the event.
"""

from __future__ import annotations

import logging

from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation
from handoff.domain import events as ev
from handoff.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def record_bot_booking(uow: UnitOfWork, conversation_id: str, patient_id: int, appointment_id: int) -> bool:
    """Write `appointment_booked` in the conversation when it is this patient's (False, and
    nothing written, for an unknown conversation or another patient's)."""
    async with uow() as (session, _events):
        conv = await session.get(Conversation, conversation_id)
        if conv is None or conv.patient_id != patient_id:
            log.info("booking %d: conversation not the patient's; no timeline event", appointment_id)
            return False
        await store.add_event(session, conv.id, ev.APPOINTMENT_BOOKED, "bot", {"appointment_id": appointment_id})
        return True
