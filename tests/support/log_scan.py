"""Scan log lines and log files for personal data and secrets (issue 13: no patient text, phone or
token in any log line)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def phone_forms(phone: str) -> list[str]:
    """The ways a phone number can show up: as given, bare digits, without the country code."""
    digits = "".join(c for c in phone if c.isdigit())
    return [phone, digits, digits[2:], digits[-8:]]


def leaks_in_records(records: Iterable[logging.LogRecord], markers: Iterable[str]) -> list[str]:
    """Formatted records (message, arguments, traceback) containing any marker."""
    wanted = [m for m in markers if m]
    found: list[str] = []
    for record in records:
        line = _FORMATTER.format(record)
        extra = repr(getattr(record, "args", None))
        for marker in wanted:
            if marker in line or marker in extra:
                found.append(f"{marker!r} in {record.name}: {line[:300]}")
    return found


def leaks_in_files(paths: Iterable[Path], markers: Iterable[str]) -> list[str]:
    """Lines of the given log files containing any marker."""
    wanted = [m for m in markers if m]
    found: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for marker in wanted:
                if marker in line:
                    found.append(f"{marker!r} in {path.name}:{n}: {line[:300]}")
    return found


# What never belongs in a log line, whatever the test: Brazilian phone numbers (E.164, with or
# without "+"), bearer tokens, staff tokens in a query string, the session cookie, the passwords
# the end-to-end fixtures use, and the patients' e-mail domain of the tests.
PERSONAL_DATA = re.compile(
    r"(?<![\w.:/-])\+?55\d{10,11}(?!\d)"
    r"|Bearer\s+[A-Za-z0-9._~+/-]{16,}"
    r"|[?&]token=[A-Za-z0-9_-]{16,}"
    r"|atende_session="
    r"|e2e-admin-password|equipe-senha-"
    r"|@paciente\.example"
)


def personal_data_in_files(paths: Iterable[Path]) -> list[str]:
    """Lines of the given log files matching PERSONAL_DATA."""
    found: list[str] = []
    for path in paths:
        if not path.is_file():
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = PERSONAL_DATA.search(line)
            if match:
                found.append(f"{path}:{n}: {match.group(0)!r} in {line[:200]}")
    return found
