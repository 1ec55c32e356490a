"""One patient across channels: the keys that say two channel identities are the same person.

A patient may write on WhatsApp (Twilio gives `whatsapp:+55…`, the Cloud API gives the `wa_id`
digits without "+"), send an SMS (`+55…`), call (`+55…`) or e-mail; Instagram and Messenger
only give ids scoped to the page, which say nothing about the person. The keys are:

- phone: E.164. Brazilian numbers are brought to their current form, `+55 DD 9XXXXXXXX` for
  mobiles: since 2016 every mobile has nine digits, but the Cloud API, old address books and
  some carriers still use the eight-digit form. An eight-digit number after the DDD that starts
  with 6–9 is a mobile and gets the 9; one starting with 2–5 is a landline and is kept.
- e-mail: trimmed and lower-cased (the local part is case-sensitive in theory, never in practice
  for the providers patients use; dots and `+tags` are left alone).
- CPF: the 11 digits of a valid CPF (`domain.clinic.cpf`).

Pure functions: no I/O, no logging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from handoff.domain.clinic.cpf import normalize_cpf

__all__ = [
    "EMAIL_CHANNELS", "PHONE_CHANNELS", "MatchKeys", "keys_for_identity", "normalize_cpf", "normalize_email",
    "normalize_phone", "phone_variants",
]

BRAZIL = "55"
# Channels whose external id is a phone number, and how it is written there.
PHONE_CHANNELS = ("whatsapp", "sms", "phone", "whatsapp_meta")
EMAIL_CHANNELS = ("email",)

_PREFIXES = ("whatsapp:", "tel:", "sms:")
_SEPARATORS = re.compile(r"[\s().\-/]")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")
_MAX_EMAIL = 320


def _national_br(number: str) -> str | None:
    """DDD + subscriber in the current form (mobiles with the ninth digit), or None."""
    if len(number) not in (10, 11) or number[0] == "0" or number[1] == "0":
        return None  # DDDs are 11–99 without zeros
    ddd, subscriber = number[:2], number[2:]
    if len(subscriber) == 9:
        return number if subscriber[0] == "9" else None
    if subscriber[0] in "6789":  # an eight-digit mobile: add the ninth digit
        return f"{ddd}9{subscriber}"
    if subscriber[0] in "2345":  # a landline
        return number
    return None  # 0/1: service and non-geographic numbers are not patients


def normalize_phone(raw: str | None) -> str | None:
    """E.164 (`+5511987654321`) of a phone number as any channel or person writes it, or None.

    Accepts `whatsapp:`/`tel:` prefixes, separators, an international `+`/`00` prefix, Brazilian
    national numbers with or without the trunk `0` and carrier code (`0 21 11 …`), and the
    country code without `+` (`5511987654321`, the Cloud API's `wa_id`). Numbers of other
    countries are kept as they are (8 to 15 digits).
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    lowered = text.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix):].strip()
            break
    text = _SEPARATORS.sub("", text)
    international = text.startswith("+")
    digits = text[1:] if international else text
    if not digits.isascii() or not digits.isdigit():
        return None
    if not international and digits.startswith("00"):
        digits, international = digits[2:], True
    if not international:
        if digits.startswith(BRAZIL) and len(digits) in (12, 13):
            international = True  # 55 + DDD + number (a national number never has 12–13 digits)
        elif digits.startswith("0") and len(digits) in (11, 12):
            digits = digits[1:]  # trunk prefix: 0 DDD number
        elif digits.startswith("0") and len(digits) in (13, 14):
            digits = digits[3:]  # trunk prefix + carrier code: 0 XX DDD number
    if international:
        if digits.startswith(BRAZIL):
            national = _national_br(digits[2:])
            return f"+{BRAZIL}{national}" if national else None
        return f"+{digits}" if 8 <= len(digits) <= 15 and digits[0] != "0" else None
    national = _national_br(digits)
    return f"+{BRAZIL}{national}" if national else None


def phone_variants(e164: str) -> tuple[str, ...]:
    """Every spelling under which a normalized number may already be stored: with and without
    `+`, and for Brazilian mobiles also without the ninth digit (the Cloud API's `wa_id`)."""
    forms = [e164]
    if e164.startswith("+" + BRAZIL) and len(e164) == 14 and e164[5] == "9" and e164[6] in "6789":
        forms.append(e164[:5] + e164[6:])
    return tuple(forms + [f[1:] for f in forms])


def normalize_email(raw: str | None) -> str | None:
    """`nome@dominio.com.br` from `  Nome@Dominio.com.BR `, `mailto:` or `Nome <nome@…>`; else None."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    if "<" in text:
        text = parseaddr(text)[1]
    text = text.strip().lower()
    if len(text) > _MAX_EMAIL or not _EMAIL.match(text):
        return None
    return text


@dataclass(frozen=True)
class MatchKeys:
    """What a channel identity says about the person: normalized phone and/or e-mail."""

    phone: str | None = None
    email: str | None = None

    def __bool__(self) -> bool:
        return bool(self.phone or self.email)


def keys_for_identity(channel: str, external_id: str) -> MatchKeys:
    """The matching keys of a channel identity (empty for page-scoped and anonymous ids)."""
    if channel == "whatsapp_meta":
        digits = external_id.strip()
        return MatchKeys(phone=normalize_phone("+" + digits if digits.isdigit() else digits))
    if channel in PHONE_CHANNELS:
        return MatchKeys(phone=normalize_phone(external_id))
    if channel in EMAIL_CHANNELS:
        return MatchKeys(email=normalize_email(external_id))
    return MatchKeys()
