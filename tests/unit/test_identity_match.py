"""One patient across channels: phone (with and without the ninth digit), e-mail and CPF keys."""

from __future__ import annotations

import pytest

from handoff.domain.identity_match import (
    MatchKeys,
    keys_for_identity,
    normalize_cpf,
    normalize_email,
    normalize_phone,
    phone_variants,
)

MOBILE = "+5511987654321"


@pytest.mark.parametrize("raw", [
    "+5511987654321", "whatsapp:+5511987654321", "WhatsApp:+55 11 98765-4321", "tel:+55-11-98765-4321",
    "5511987654321", "+55 (11) 98765-4321", "(11) 98765-4321", "11987654321", "011987654321",
    "0 21 11 98765 4321", "005511987654321",
    # without the ninth digit: the same mobile
    "+551187654321", "551187654321", "(11) 8765-4321", "1187654321", "whatsapp:+551187654321",
])
def test_brazilian_mobile_with_and_without_the_ninth_digit(raw: str) -> None:
    assert normalize_phone(raw) == MOBILE


@pytest.mark.parametrize(("raw", "expected"), [
    ("+551134567800", "+551134567800"),  # São Paulo landline: no ninth digit added
    ("(11) 3456-7800", "+551134567800"),
    ("552140041234", "+552140041234"),
    ("+555599876543", "+5555999876543"),  # DDD 55 (RS), eight-digit mobile starting with 9
    ("55 96 8123-4567", "+5596981234567"),  # country code without +, DDD 96, mobile starting with 8
    ("+556261234567", "+5562961234567"),  # mobile starting with 6 gets the 9
    ("+556271234567", "+5562971234567"),
    ("+14155238886", "+14155238886"),  # other countries are kept
    ("+44 20 7946 0958", "+442079460958"),
])
def test_landlines_ddds_and_other_countries(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "   ", "abc", "+55", "+55 11 1234-5678",  # subscriber starting with 1
    "+55 01 98765-4321",  # DDD with a zero
    "+55 11 88765-4321",  # nine digits not starting with 9
    "+5511987654321000", "12345", "+0123456789", "0800 123 4567", "+55 11 98765-432a",
    "anonymous", "+1234567",
])
def test_not_a_usable_phone(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_phone_variants_cover_legacy_spellings() -> None:
    assert phone_variants(MOBILE) == ("+5511987654321", "+551187654321", "5511987654321", "551187654321")
    assert phone_variants("+551134567800") == ("+551134567800", "551134567800")
    assert phone_variants("+14155238886") == ("+14155238886", "14155238886")
    # every variant normalizes back to the same number
    assert {normalize_phone(v) for v in phone_variants(MOBILE)} == {MOBILE}


@pytest.mark.parametrize(("raw", "expected"), [
    ("Maria.Souza@Example.COM.br", "maria.souza@example.com.br"),
    ("  joao+clinica@gmail.com ", "joao+clinica@gmail.com"),
    ("mailto:Ana@Example.org", "ana@example.org"),
    ("Ana Souza <Ana@Example.org>", "ana@example.org"),
])
def test_email_is_trimmed_and_lowercased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "maria", "maria@", "@example.com", "maria@localhost", "a b@c.com",
                                 "a@@b.com", "x" * 320 + "@a.com"])
def test_not_an_email(raw: str) -> None:
    assert normalize_email(raw) is None


def test_cpf_key_is_the_validated_digits() -> None:
    assert normalize_cpf("529.982.247-25") == "52998224725"
    assert normalize_cpf("529.982.247-26") is None


def test_keys_per_channel() -> None:
    assert keys_for_identity("whatsapp", "+5511987654321") == MatchKeys(phone=MOBILE)
    assert keys_for_identity("sms", "+551187654321") == MatchKeys(phone=MOBILE)
    assert keys_for_identity("phone", "+5511987654321") == MatchKeys(phone=MOBILE)
    # Cloud API wa_id: digits with the country code, often without the ninth digit
    assert keys_for_identity("whatsapp_meta", "551187654321") == MatchKeys(phone=MOBILE)
    assert keys_for_identity("email", "Maria@Example.com") == MatchKeys(email="maria@example.com")
    # page-scoped and anonymous ids carry nothing about the person
    for channel, external in (("instagram", "17841400000000001"), ("messenger", "6789012345678901"),
                              ("webchat", "v" * 40)):
        keys = keys_for_identity(channel, external)
        assert keys == MatchKeys() and not keys
    assert not keys_for_identity("sms", "anonymous")
