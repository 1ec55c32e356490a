"""The provider messaging windows: when a free-form reply may still reach the patient.

- WhatsApp (`whatsapp` via Twilio, `whatsapp_meta` via the Cloud API): free-form messages only
  within 24 hours of the patient's last inbound message; after that only approved templates.
- Instagram Direct and Messenger: a 24-hour standard window, but an attendant's reply with the
  `HUMAN_AGENT` tag is allowed up to 7 days after the patient's last message (there are no
  templates there: past 7 days nothing can be sent until the patient writes again).
- Every other channel (web chat, SMS, e-mail, phone) has no window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WHATSAPP_CHANNELS = frozenset({"whatsapp", "whatsapp_meta"})
META_MESSAGING_CHANNELS = frozenset({"instagram", "messenger"})
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class WindowState:
    """`open`: a free-form reply may go out now; `closes_at`: when that stops (None = never or
    already unknown); `requires_template`: only an approved template may go out."""

    open: bool
    closes_at: datetime | None
    requires_template: bool


ALWAYS_OPEN = WindowState(open=True, closes_at=None, requires_template=False)


def window_state(channel: str, last_inbound_at: datetime | None, now: datetime) -> WindowState:
    """The window for an attendant's reply on `channel` (no inbound yet counts as closed)."""
    if channel in WHATSAPP_CHANNELS:
        length, template = STANDARD_WINDOW, True
    elif channel in META_MESSAGING_CHANNELS:
        length, template = HUMAN_AGENT_WINDOW, False
    else:
        return ALWAYS_OPEN
    if last_inbound_at is None:
        return WindowState(open=False, closes_at=None, requires_template=template)
    closes_at = last_inbound_at + length
    is_open = now < closes_at
    return WindowState(open=is_open, closes_at=closes_at, requires_template=template and not is_open)
