"""Outbound status ordering (provider callbacks arrive out of order) and retry backoff."""

from __future__ import annotations

from handoff.domain.messages import OutboundStatus as O
from handoff.domain.messages import advance_status, retry_delay
from handoff.domain.triage import reason_for


def test_status_only_moves_forward() -> None:
    assert advance_status(O.SENT, O.DELIVERED) == O.DELIVERED
    assert advance_status(O.READ, O.DELIVERED) == O.READ  # late "delivered" after "read"
    assert advance_status(O.DELIVERED, O.SENT) == O.DELIVERED
    assert advance_status(O.QUEUED, O.SENDING) == O.SENDING


def test_late_delivery_receipt_overrides_a_failure() -> None:
    assert advance_status(O.FAILED, O.DELIVERED) == O.DELIVERED
    assert advance_status(O.FAILED, O.SENT) == O.FAILED


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n, 1.0, 60.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(0, 0.5, 10) == 0.5


def test_unknown_or_missing_intent_is_other() -> None:
    reasons = {"request_human": "human"}
    assert reason_for("request_human", reasons) == "human"
    assert reason_for("something_new", reasons) == "other"
    assert reason_for(None, reasons) == "other"
