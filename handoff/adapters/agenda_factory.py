"""Builds the clinic's external agenda from settings (AGENDA_BACKEND): None for the built-in one."""

from __future__ import annotations

from handoff.domain.clinic.agenda import ExternalAgenda
from handoff.settings import Settings


class AgendaConfigError(ValueError):
    """AGENDA_BACKEND names an agenda whose connection settings are missing."""


def build_external_agenda(settings: Settings) -> ExternalAgenda | None:
    """The CalDAV or FHIR adapter the clinic chose; None with AGENDA_BACKEND=builtin.

    Imports are local so a clinic on the built-in agenda never loads the CalDAV/FHIR libraries.
    """
    if settings.agenda_backend == "caldav":
        if not settings.caldav_url:
            raise AgendaConfigError("AGENDA_BACKEND=caldav needs CALDAV_URL")
        from handoff.adapters.agenda.caldav import CalDavAgenda

        return CalDavAgenda(settings.caldav_url, settings.caldav_username, settings.caldav_password,
                            settings.agenda_timeout_seconds)
    if settings.agenda_backend == "fhir":
        if not settings.fhir_base_url:
            raise AgendaConfigError("AGENDA_BACKEND=fhir needs FHIR_BASE_URL")
        from handoff.adapters.agenda.fhir import FhirAgenda

        return FhirAgenda(settings.fhir_base_url, settings.fhir_token, settings.agenda_timeout_seconds)
    return None
