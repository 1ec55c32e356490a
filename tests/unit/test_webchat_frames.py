"""The website chat connector refuses bad frames with a clear pt-BR error and a code."""

from __future__ import annotations

import json

import pytest

from connectors import webchat

VISITOR = "a" * 40
LIMITS = {"visitor_id": VISITOR, "max_text": 2000, "max_frame_bytes": 8192}


def frame(**data: object) -> str:
    return json.dumps({"type": "message", "client_id": "client-123", **data})


def test_valid_message_becomes_a_normalized_inbound_message() -> None:
    kind, msg = webchat.parse_client_frame(frame(text="  oi, bom dia  "), **LIMITS)
    assert kind == "message"
    assert isinstance(msg, webchat.InboundMessage)
    assert (msg.channel, msg.external_user_id, msg.provider_message_id, msg.text) == (
        "webchat", VISITOR, "client-123", "oi, bom dia")


def test_button_payload_travels_with_its_title() -> None:
    _, msg = webchat.parse_client_frame(frame(text="Falar com atendente", payload="/request_human"), **LIMITS)
    assert isinstance(msg, webchat.InboundMessage)
    assert msg.payload == "/request_human"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x00\x01binary", "binary"),
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": "nope"}), "bad_frame"),
        (json.dumps({"type": "message", "client_id": "x", "text": "oi"}), "bad_frame"),  # client id too short
        (frame(text=42), "bad_frame"),
        (frame(text="   "), "empty"),
        (frame(text="a" * 2001), "too_long"),
        (frame(text="b" * 9000), "too_long"),  # over the frame limit: refused before parsing
    ],
)
def test_bad_frames_get_a_coded_error(raw: str | bytes, code: str) -> None:
    with pytest.raises(webchat.FrameError) as info:
        webchat.parse_client_frame(raw, **LIMITS)
    assert info.value.code == code
    assert info.value.message  # pt-BR text shown by the widget


def test_oversized_frame_error_names_the_message_so_the_widget_can_mark_it() -> None:
    with pytest.raises(webchat.FrameError) as info:
        webchat.parse_client_frame(frame(text="c" * 9000), **LIMITS)
    assert info.value.client_id == "client-123"


def test_visitor_ids_must_be_long_random_tokens() -> None:
    assert webchat.valid_visitor_id("A1_-" * 10)
    assert not webchat.valid_visitor_id("short")
    assert not webchat.valid_visitor_id("a" * 40 + "/")
    assert not webchat.valid_visitor_id(None)
