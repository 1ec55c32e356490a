"""Billing rules: boleto status, FEBRABAN barcode / linha digitável, Pix "copia e cola", money text.

The barcode layout (44 digits) is the FEBRABAN bank-slip standard:
bank(3) currency(1) DV(1) due-factor(4) amount(10) free-field(25). The linha digitável is the
same data in five fields with módulo-10 check digits, so a banking app accepts it.
"""

from __future__ import annotations

from datetime import date

# The due-date factor counts days from 1997-10-07 and wrapped from 9999 back to 1000 on
# 2025-02-22 (FEBRABAN); dates from then on use the new base.
_FACTOR_BASE_OLD = date(1997, 10, 7)
_FACTOR_RESET = date(2025, 2, 22)


def boleto_status(due_date: date, paid: bool, today: date) -> str:
    """`paid`, `overdue` (past the due date, unpaid) or `open`."""
    if paid:
        return "paid"
    return "overdue" if today > due_date else "open"


def format_brl(cents: int) -> str:
    """1234567 -> "R$ 12.345,67" (Brazilian grouping and decimal comma)."""
    sign = "-" if cents < 0 else ""
    reais, centavos = divmod(abs(cents), 100)
    grouped = f"{reais:,}".replace(",", ".")
    return f"{sign}R$ {grouped},{centavos:02d}"


def due_factor(due: date) -> str:
    """Four-digit due-date factor of a boleto."""
    if due >= _FACTOR_RESET:
        factor = 1000 + (due - _FACTOR_RESET).days
    else:
        factor = (due - _FACTOR_BASE_OLD).days
    if not 1000 <= factor <= 9999:
        raise ValueError("due date outside the boleto factor range")
    return f"{factor:04d}"


def mod10(digits: str) -> int:
    """Módulo 10 check digit (weights 2,1,2,1... from the right; products' digits summed)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def mod11_barcode(digits: str) -> int:
    """General check digit of the barcode (módulo 11, weights 2..9 from the right; 0/10/11 -> 1)."""
    total = sum(int(ch) * (2 + i % 8) for i, ch in enumerate(reversed(digits)))
    dv = 11 - total % 11
    return 1 if dv in (0, 10, 11) else dv


def boleto_barcode(bank: str, amount_cents: int, due: date, free_field: str) -> str:
    """The 44-digit barcode of a bank boleto (currency code 9 = real)."""
    if len(bank) != 3 or len(free_field) != 25 or not (bank + free_field).isdigit():
        raise ValueError("bank has 3 digits and the free field 25")
    if not 0 <= amount_cents <= 99_999_999_99:
        raise ValueError("amount out of range")
    body = f"{bank}9{due_factor(due)}{amount_cents:010d}{free_field}"
    dv = mod11_barcode(body)
    return f"{body[:4]}{dv}{body[4:]}"


def linha_digitavel(barcode: str) -> str:
    """The typeable line "AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE" of a barcode."""
    if len(barcode) != 44 or not barcode.isdigit():
        raise ValueError("a boleto barcode has 44 digits")
    free = barcode[19:44]
    f1 = barcode[0:4] + free[0:5]
    f2 = free[5:15]
    f3 = free[15:25]
    f1 += str(mod10(f1))
    f2 += str(mod10(f2))
    f3 += str(mod10(f3))
    return f"{f1[:5]}.{f1[5:]} {f2[:5]}.{f2[5:]} {f3[:5]}.{f3[5:]} {barcode[4]} {barcode[5:19]}"


def barcode_from_linha(linha: str) -> str:
    """Inverse of `linha_digitavel` (drops the field check digits)."""
    d = "".join(c for c in linha if c.isdigit())
    if len(d) != 47:
        raise ValueError("a linha digitável has 47 digits")
    return d[0:4] + d[32] + d[33:47] + d[4:9] + d[10:20] + d[21:31]


def crc16_ccitt(data: bytes) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as 4 upper-case hex digits (Pix BR Code)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def _emv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMV field {tag} too long")
    return f"{tag}{len(value):02d}{value}"


def pix_copia_e_cola(key: str, amount_cents: int, merchant_name: str, merchant_city: str, txid: str) -> str:
    """A static Pix BR Code payload (EMV QRCPS) with amount, ready to paste in a banking app.

    Name and city must be plain ASCII (the standard's character set); txid is up to 25
    alphanumeric characters.
    """
    if not (merchant_name.isascii() and merchant_city.isascii() and txid.isalnum() and txid.isascii()):
        raise ValueError("Pix name, city and txid must be plain ASCII (txid alphanumeric)")
    account = _emv("00", "br.gov.bcb.pix") + _emv("01", key)
    payload = (
        _emv("00", "01")
        + _emv("26", account)
        + _emv("52", "0000")
        + _emv("53", "986")
        + _emv("54", f"{amount_cents // 100}.{amount_cents % 100:02d}")
        + _emv("58", "BR")
        + _emv("59", merchant_name[:25])
        + _emv("60", merchant_city[:15])
        + _emv("62", _emv("05", txid[:25]))
        + "6304"
    )
    return payload + crc16_ccitt(payload.encode("ascii"))
