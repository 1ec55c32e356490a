"""The phone menu's pure parts: the caller's choice, numbers read aloud, TwiML as heard."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from connectors import twilio_voice as voice
from handoff.sandbox.providers import external_id, read_twiml


def _form(**values: str) -> dict[str, list[str]]:
    return {k: [v] for k, v in values.items()}


@pytest.mark.parametrize(("values", "expected"), [
    ({"Digits": "1"}, "1"), ({"Digits": "2"}, "2"), ({"Digits": "9"}, "9"), ({"Digits": "5"}, None),
    ({"Digits": "2#"}, "2"),
    ({"SpeechResult": "Quero marcar uma consulta"}, "1"),
    ({"SpeechResult": "dois"}, "2"),
    ({"SpeechResult": "Me liguem de volta, por favor."}, "2"),
    ({"SpeechResult": "quero um retorno"}, "2"),  # "um" is not option 1 when "retorno" is said
    ({"SpeechResult": "É uma EMERGÊNCIA"}, "9"),
    ({"SpeechResult": "preciso de consulta, é urgência"}, "9"),  # an emergency word wins
    ({"SpeechResult": "bom dia"}, None), ({}, None),
])
def test_menu_choice_from_keys_or_speech(values: dict[str, str], expected: str | None) -> None:
    assert voice.menu_choice(_form(**values)) == expected


def test_parse_call_hides_anonymous_callers() -> None:
    call = voice.parse_call(_form(CallSid="CA1", From="+5511987654321", To="+551140000002"))
    assert (call.call_sid, call.caller, call.called) == ("CA1", "+5511987654321", "+551140000002")
    assert voice.parse_call(_form(CallSid="CA2", From="anonymous")).caller is None
    assert voice.parse_call(_form(CallSid="CA3", From="+266696687")).caller is None
    with pytest.raises(voice.PayloadError):
        voice.parse_call(_form(From="+5511987654321"))


def test_numbers_are_read_digit_by_digit() -> None:
    assert voice.spoken_digits("(11) 98765-4321") == "1 1, 9 8 7 6 5, 4 3 2 1"
    assert voice.spoken_digits("+55 11 3456-7800") == "1 1, 3 4 5 6, 7 8 0 0"


def test_menu_twiml_is_a_pt_br_gather_and_reads_back_as_heard() -> None:
    xml = voice.menu_twiml(clinic_name="Clínica Exemplo", action_url="https://h/menu", retry_url="https://h/v?t=2")
    gather = ET.fromstring(xml).find("Gather")
    assert gather is not None and gather.get("input") == "dtmf speech" and gather.get("language") == "pt-BR"
    heard = read_twiml(xml)
    assert heard["gather"] and "digite 9" in heard["says"][0]
    assert heard["after"] == ["Não recebemos nenhuma opção."] and heard["redirect"] == "https://h/v?t=2"
    last = read_twiml(voice.menu_twiml(clinic_name="X", action_url="https://h/menu", retry_url=None))
    assert last["hangup"] and last["redirect"] is None
    dial = read_twiml(voice.connect_twiml(clinic_name="X", agent_phone="+5511912345678", caller_id="+551140000002"))
    assert dial["dial"] == "+5511912345678"
    assert read_twiml("not xml")["says"] == []


def test_sandbox_identities_as_each_provider_names_them() -> None:
    assert external_id("whatsapp", "(11) 98765-4321") == "+5511987654321"
    assert external_id("whatsapp_meta", "(11) 98765-4321") == "551187654321"  # wa_id without the ninth digit
    assert external_id("whatsapp_meta", "(11) 3456-7800") == "551134567800"
    assert external_id("instagram", "17841400000000001") == "17841400000000001"
    assert external_id("messenger", "not-an-id") is None
    assert external_id("sms", "abc") is None
