"""Temporary alias of `handoff.domain.clinic.agenda` (the agenda port moved to the domain)."""

from handoff.domain.clinic.agenda import *  # noqa: F403
