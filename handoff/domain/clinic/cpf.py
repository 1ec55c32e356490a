"""CPF (Cadastro de Pessoas Físicas): normalisation and check-digit validation."""

from __future__ import annotations

import re

# Digits with the usual separators only ("123.456.789-09", "12345678909", "123 456 789 09").
_SHAPE = re.compile(r"^\s*\d{3}[.\s]?\d{3}[.\s]?\d{3}[-.\s]?\d{2}\s*$", re.ASCII)


def cpf_check_digits(base9: str) -> str:
    """The two check digits of a 9-digit CPF base (módulo 11, weights 10..2 then 11..2)."""
    if len(base9) != 9 or not base9.isascii() or not base9.isdigit():
        raise ValueError("a CPF base has 9 digits")
    digits = [int(c) for c in base9]
    for _ in range(2):
        weights = range(len(digits) + 1, 1, -1)
        rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if rest < 2 else 11 - rest)
    return f"{digits[9]}{digits[10]}"


def normalize_cpf(raw: str) -> str | None:
    """The 11 digits of a valid CPF, or None when it is malformed or its check digits fail.

    Sequences of one repeated digit (000.000.000-00, 111...) pass the arithmetic but are not
    issued, so they are rejected.
    """
    if not isinstance(raw, str) or not _SHAPE.match(raw):
        return None
    digits = "".join(c for c in raw if c.isascii() and c.isdigit())
    if len(digits) != 11 or len(set(digits)) == 1:
        return None
    return digits if cpf_check_digits(digits[:9]) == digits[9:] else None


def valid_cpf(raw: str) -> bool:
    """True when `raw` is a well-formed CPF with correct check digits."""
    return normalize_cpf(raw) is not None


def format_cpf(digits: str) -> str:
    """"12345678909" -> "123.456.789-09"."""
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
