"""What every module of the bot suite shares: bot/ on sys.path (Rasa runs with PYTHONPATH=bot, so
`actions` and `clinic_nlu` import as top-level packages) and the `hub` fixture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from live_hub import Hub, running_hub

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
if str(BOT_DIR) not in sys.path:
    sys.path.insert(0, str(BOT_DIR))


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch) -> Hub:
    """A real hub with the seeded demo clinic (live_hub.py, one per session); the actions'
    ClinicApi is pointed at it through the environment."""
    running = running_hub()
    monkeypatch.setenv("HUB_URL", running.url)
    monkeypatch.setenv("CLINIC_API_TOKEN", running.token)
    return running
