"""CPF normalization, check digits and extraction (bot/clinic_nlu/cpf.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from clinic_nlu.cpf import find_cpf, format_cpf, mask_cpf, normalize_cpf, valid_cpf

# Valid CPFs (check digits computed by the official mod-11 rule).
VALID = ["529.982.247-25", "123.456.789-09", "111.444.777-35", "390.533.447-05", "000.000.001-91"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("529.982.247-25", "52998224725"),
        ("52998224725", "52998224725"),
        ("529 982 247 25", "52998224725"),
        ("529982247-25", "52998224725"),
        (" 529.982.247-25 ", "52998224725"),
        (52998224725, "52998224725"),
        ("529.982.247-2", None),  # 10 digits
        ("529.982.247-250", None),  # 12 digits
        ("529/982/247-25", None),  # not a CPF separator
        ("cpf 52998224725", None),  # letters: use find_cpf for free text
        ("", None),
        (None, None),
    ],
)
def test_normalize(raw: object, expected: str | None) -> None:
    assert normalize_cpf(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("cpf", VALID)
def test_valid_check_digits(cpf: str) -> None:
    assert valid_cpf(cpf)
    assert valid_cpf(cpf.replace(".", "").replace("-", ""))


@pytest.mark.parametrize(
    "cpf",
    [
        "529.982.247-24",  # wrong second digit
        "529.982.247-15",  # wrong first digit
        "123.456.789-00",
        "52998224752",  # digits swapped
    ],
)
def test_wrong_check_digits(cpf: str) -> None:
    assert not valid_cpf(cpf)


@pytest.mark.parametrize("digit", "0123456789")
def test_eleven_equal_digits_are_rejected(digit: str) -> None:
    # several of these pass the mod-11 arithmetic but are not issued
    assert not valid_cpf(digit * 11)


def test_not_a_cpf_at_all() -> None:
    for value in ["", "abc", "1234", None, True, "12345678901234"]:
        assert not valid_cpf(value)


def test_first_check_digit_remainder_ten_or_eleven_becomes_zero() -> None:
    # 000.000.001-91 and 390.533.447-05 exercise the "rest >= 10 -> 0" rule
    assert valid_cpf("39053344705")
    assert not valid_cpf("39053344715")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("meu cpf é 529.982.247-25", "52998224725"),
        ("CPF: 52998224725, obrigado", "52998224725"),
        ("529 982 247 25", "52998224725"),
        ("é 529982247-25 pfv", "52998224725"),
        # a phone number first, then the CPF: the valid one wins
        ("tel 11987654321 cpf 529.982.247-25", "52998224725"),
        # only an invalid candidate: returned so the bot can say it is invalid
        ("meu cpf 529.982.247-24", "52998224724"),
        ("nao tenho cpf", None),
        ("nasci em 25/03/1980", None),
        ("11 98765-4321", None),
        ("protocolo 5299822472512", None),  # part of a longer number
        ("", None),
        (None, None),
    ],
)
def test_find_cpf(text: str | None, expected: str | None) -> None:
    assert find_cpf(text) == expected


def test_format_and_mask() -> None:
    assert format_cpf("52998224725") == "529.982.247-25"
    assert mask_cpf("529.982.247-25") == "***.982.247-**"
    assert format_cpf("123") is None
    assert mask_cpf(None) is None
