"""Adapters for clinic agendas outside the hub (the `ExternalAgenda` port in domain/clinic/agenda.py).

`caldav.CalDavAgenda` (one CalDAV calendar per doctor) and `fhir.FhirAgenda` (FHIR R4
Schedule/Slot/Appointment). Each passes the shared contract in tests/agenda/contract.py.
"""
