"""Agenda adapters (CalDAV, FHIR R4) against real local servers, through one shared contract."""
