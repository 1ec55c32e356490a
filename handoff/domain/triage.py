"""Reason tags: stable names used by the inbox, metrics and routing."""

from __future__ import annotations

REASONS = ("booking", "confirmation", "exams", "billing", "urgent", "human", "other")
PRIORITIES = ("urgent", "high", "normal", "low")


def reason_for(intent: str | None, reason_map: dict[str, str]) -> str:
    """The reason tag of an intent; anything unmapped (or no intent) is `other`."""
    if not intent:
        return "other"
    return reason_map.get(intent, "other")
