"""The 24-hour (WhatsApp) and 7-day HUMAN_AGENT (Instagram/Messenger) reply windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.domain.messaging_window import WindowState, window_state

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("channel", ["whatsapp", "whatsapp_meta"])
def test_whatsapp_is_open_for_24_hours_then_needs_a_template(channel: str) -> None:
    last = NOW - timedelta(hours=23, minutes=59)
    assert window_state(channel, last, NOW) == WindowState(True, last + timedelta(hours=24), False)
    last = NOW - timedelta(hours=24)
    assert window_state(channel, last, NOW) == WindowState(False, NOW, True)
    last = NOW - timedelta(hours=25)
    assert window_state(channel, last, NOW) == WindowState(False, last + timedelta(hours=24), True)
    assert window_state(channel, None, NOW) == WindowState(False, None, True)


@pytest.mark.parametrize("channel", ["instagram", "messenger"])
def test_instagram_and_messenger_agents_may_reply_for_7_days(channel: str) -> None:
    last = NOW - timedelta(days=3)  # past the standard 24 h: the HUMAN_AGENT tag applies
    assert window_state(channel, last, NOW) == WindowState(True, last + timedelta(days=7), False)
    last = NOW - timedelta(days=7, seconds=1)
    state = window_state(channel, last, NOW)
    assert not state.open and not state.requires_template  # no templates on these channels
    assert window_state(channel, None, NOW).open is False


@pytest.mark.parametrize("channel", ["webchat", "sms", "email", "phone"])
def test_other_channels_are_always_open(channel: str) -> None:
    expected = WindowState(True, None, False)
    assert window_state(channel, NOW - timedelta(days=400), NOW) == expected
    assert window_state(channel, None, NOW) == expected
