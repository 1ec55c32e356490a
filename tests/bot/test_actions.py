"""Unit tests for the bot's pure rules (run in the bot environment: `make test-bot`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from actions.fallback import consecutive_misunderstandings
from actions.handoff import handoff_signal


def test_counts_only_the_latest_run_of_misunderstandings() -> None:
    assert consecutive_misunderstandings([]) == 0
    assert consecutive_misunderstandings(["greet"]) == 0
    assert consecutive_misunderstandings(["nlu_fallback"]) == 1
    assert consecutive_misunderstandings(["nlu_fallback", "greet", "nlu_fallback"]) == 1
    assert consecutive_misunderstandings(["greet", "nlu_fallback", "nlu_fallback"]) == 2


def test_handoff_signal_has_the_shape_the_hub_reads() -> None:
    signal = handoff_signal("human", "urgent", "nota")
    assert signal == {"atende": {"handoff": {"reason": "human", "priority": "urgent", "note": "nota"}}}
