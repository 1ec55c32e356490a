"""CPF (Cadastro de Pessoas Físicas): normalization, check-digit validation and extraction from
free text ("meu cpf é 123.456.789-09"). Pure functions, no Rasa imports."""

from __future__ import annotations

import re

# 11 digits, optionally grouped 3.3.3-2 with dots, spaces or a dash; not part of a longer number.
_CPF_RE = re.compile(r"(?<![\d.\-/])(\d{3})[.\s]?(\d{3})[.\s]?(\d{3})\s?[-.\s]?\s?(\d{2})(?![\d\-/]|\.\d)")


def normalize_cpf(value: str | int | None) -> str | None:
    """The 11 digits of a CPF written with or without punctuation; None when it is not 11 digits.

    Only separators people use in CPFs are accepted ('.', '-', spaces); anything else (letters,
    slashes) makes it not a CPF.
    """
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or re.search(r"[^\d.\-\s]", text):
        return None
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) == 11 else None


def _check_digit(digits: str) -> int:
    weight = len(digits) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(digits))
    rest = (total * 10) % 11
    return 0 if rest == 10 else rest


def valid_cpf(value: str | int | None) -> bool:
    """True when `value` is a CPF with correct check digits (11 equal digits are rejected)."""
    digits = normalize_cpf(value)
    if digits is None or len(set(digits)) == 1:
        return False
    return _check_digit(digits[:9]) == int(digits[9]) and _check_digit(digits[:10]) == int(digits[10])


def find_cpf(text: str | None) -> str | None:
    """The first CPF-shaped number in free text, normalized to 11 digits.

    A candidate with valid check digits wins over an earlier invalid one (e.g. a phone number
    before the CPF); when none is valid the first candidate is returned so the caller can say
    "esse CPF não parece válido". None when the text has no CPF-shaped number.
    """
    if not text:
        return None
    candidates = ["".join(m.groups()) for m in _CPF_RE.finditer(text)]
    for candidate in candidates:
        if valid_cpf(candidate):
            return candidate
    return candidates[0] if candidates else None


def format_cpf(value: str | int | None) -> str | None:
    """'12345678909' -> '123.456.789-09' (None when not 11 digits)."""
    digits = normalize_cpf(value)
    if digits is None:
        return None
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def mask_cpf(value: str | int | None) -> str | None:
    """'12345678909' -> '***.456.789-**': safe to echo back or log."""
    digits = normalize_cpf(value)
    if digits is None:
        return None
    return f"***.{digits[3:6]}.{digits[6:9]}-**"
