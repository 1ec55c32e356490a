"""Pure parts of the agenda sync: the backoff of pending agenda writes."""

from __future__ import annotations

from datetime import timedelta

from handoff.services.agenda_sync import MAX_BACKOFF, write_backoff


def test_backoff_doubles_from_five_seconds_and_is_capped() -> None:
    assert [write_backoff(n).total_seconds() for n in range(5)] == [5, 10, 20, 40, 80]
    assert write_backoff(9) == MAX_BACKOFF == timedelta(minutes=30)
    assert write_backoff(10_000) == MAX_BACKOFF  # no overflow on a write that failed for weeks
