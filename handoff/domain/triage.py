"""Reason tags: stable names used by the inbox, metrics and routing."""

from __future__ import annotations

import re

REASONS = ("booking", "confirmation", "exams", "billing", "urgent", "human", "other")
PRIORITIES = ("urgent", "high", "normal", "low")
# A reason tag the clinic creates with a taught intent (e.g. "vacinas"): lower-case ASCII, digits
# and _, 2-24 characters (conversations.reason and the inbox's correction take 24). `urgent` is
# never a new tag: emergencies follow the clinical protocol, not a taught intent.
NEW_REASON_RE = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


def is_new_reason_tag(tag: str) -> bool:
    """Whether `tag` may be created by the clinic as a new reason (not one of the seven)."""
    return tag not in REASONS and bool(NEW_REASON_RE.match(tag))


def reason_for(intent: str | None, reason_map: dict[str, str]) -> str:
    """The reason tag of an intent; anything unmapped (or no intent) is `other`."""
    if not intent:
        return "other"
    return reason_map.get(intent, "other")
