"""What a use case refuses, and why, without any HTTP in it.

A use case raises one of the kinds below with a stable snake_case `code` (what clients and tests
match on) and a pt-BR `message` for the person on the other side; `extra` carries optional fields
that belong in the answer (e.g. `fields=["cpf"]`, `problems=[...]`). The kinds say why it was
refused; only `handoff/api/errors.py` knows which HTTP status each kind becomes, and renders
every one the same way: `{"error": {"code", "message", **extra}}`.

A service may keep its own class (`class ClinicError(DomainError)`) where callers catch a whole
service's refusals by name; it then combines it with a kind (`class ClinicConflict(ClinicError,
Conflict)`).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused request: stable `code`, pt-BR `message`, optional `extra` answer fields."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class Invalid(DomainError):
    """The input is malformed or out of range."""


class Unprocessable(Invalid):
    """Well-formed, but the rules need something more of this input (e.g. proof of identity)."""


class Unauthenticated(DomainError):
    """The caller's account can no longer act (e.g. deactivated since it signed in)."""


class Forbidden(DomainError):
    """The rules refuse this actor (not their queue, not their role, no reason given)."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this actor)."""


class Conflict(DomainError):
    """The current state does not allow it, or it already exists."""


class Unavailable(DomainError):
    """A dependency did not answer or is not configured."""


class UpstreamFailed(Unavailable):
    """A dependency answered, but refused or failed what we asked."""


# -- the external agenda (CalDAV / FHIR), raised by the adapters, handled by the use cases -------


class AgendaUnavailableError(Exception):
    """The external agenda did not answer (connection refused, timeout, 5xx)."""


class AgendaConflictError(Exception):
    """The external copy changed since it was read (the If-Match / ETag precondition failed)."""
