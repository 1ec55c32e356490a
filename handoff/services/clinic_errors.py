"""The clinic use cases' refusals: one `DomainError` kind each, with a stable code."""

from __future__ import annotations

from handoff.domain.errors import Conflict, DomainError, Invalid, NotFound, Unavailable


class ClinicError(DomainError):
    """A request the clinic cannot serve (stable `code`, message); raised as one of its kinds below."""


class ClinicInvalid(ClinicError, Invalid):
    """Bad input (an unknown slot id, a date out of range...)."""


class ClinicNotFound(ClinicError, NotFound):
    """No such specialty, doctor, patient, appointment..."""


class ClinicConflict(ClinicError, Conflict):
    """The slot or appointment does not allow it (taken, cancelled, past...)."""


class ClinicUnavailable(ClinicError, Unavailable):
    """The clinic's agenda did not answer."""


def agenda_unavailable() -> ClinicError:
    """`agenda_unavailable`: the clinic's own agenda did not answer (the bot hands off)."""
    return ClinicUnavailable("agenda_unavailable", "a agenda da clínica não respondeu")


def not_found(what: str) -> ClinicError:
    """ClinicNotFound with code `<what>_not_found`."""
    return ClinicNotFound(f"{what}_not_found", f"{what} not found")
