"""Interaction records as FHIR R4 `Communication`s on the local FHIR server (tests/support/fhir_server.py,
real HTTP, resources validated on write): the patient found by CPF (RNDS identifier system), the
FHIR appointment the conversation booked as `about`, its Encounter as `encounter`; a patient the
server does not know is referenced by identifier; an unavailable server is retried."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from handoff.adapters.interaction_sinks import ATENDE_PATIENT_SYSTEM, CPF_SYSTEM
from handoff.services.interactions import InteractionRegister
from tests.integrations.conftest import SECRET, Receiver, World, deliveries, seed_conversation, settings_for
from tests.support.fhir_server import FhirServer
from tests.support.wait import eventually

CPF = "52998224725"


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    server = FhirServer(token="token-fhir-teste").start()
    yield server
    server.close()


def register_for(w: World, fhir: FhirServer, **overrides: Any) -> InteractionRegister:
    settings = settings_for(w.backend, interactions_to_fhir=True, fhir_base_url=fhir.url,
                            fhir_token="token-fhir-teste", interaction_retry_base_seconds=0.05, **overrides)
    return InteractionRegister(w.rt.uow, settings, rand=lambda: 0.0)


async def test_a_resolved_conversation_lands_as_a_communication(world: World, fhir: FhirServer,
                                                                receiver: Receiver) -> None:
    patient = fhir.seed({"resourceType": "Patient", "identifier": [{"system": CPF_SYSTEM, "value": CPF}],
                         "name": [{"family": "Silva", "given": ["Maria"]}]})
    encounter = fhir.seed({"resourceType": "Encounter", "status": "planned",
                           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                           "subject": {"reference": f"Patient/{patient['id']}"},
                           "appointment": [{"reference": "Appointment/ap-77"}]})
    seeded = await seed_conversation(world, cpf=CPF, appointment={"agenda_system": "fhir", "agenda_ref": "ap-77",
                                                                  "agenda_version": "1"})
    assert world.rt.inbox is not None
    await world.rt.inbox.resolve(world.staff, seeded.conversation_id, "booked")
    # Both targets configured: one record, two deliveries.
    register = register_for(world, fhir, crm_webhook_url=receiver.url, crm_webhook_secret=SECRET)
    assert await register.collect() == 2
    assert await register.deliver_due() == 2
    rows = {r.target: r for r in await deliveries(world)}
    assert {t: r.status for t, r in rows.items()} == {"webhook": "delivered", "fhir": "delivered"}
    [comm] = fhir.all("Communication")
    assert rows["fhir"].remote_ref == f"Communication/{comm['id']}" and rows["fhir"].last_http_status == 201
    assert comm["status"] == "completed"
    assert comm["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert comm["about"] == [{"reference": "Appointment/ap-77"}]
    assert comm["encounter"] == {"reference": f"Encounter/{encounter['id']}"}
    assert comm["identifier"] == [{"system": "urn:atende:interaction", "value": rows["fhir"].interaction_key}]
    record = receiver.accepted[0]["body"]
    assert comm["payload"] == [{"contentString": record["summary"]}]
    assert "agendado por atendente" in record["summary"] and record["outcome"] == "agendado_por_atendente"
    assert comm["sent"].startswith(record["times"]["opened_at"][:19])
    assert comm["received"].startswith(record["times"]["resolved_at"][:19])
    blob = repr(comm)
    assert not [t for t in seeded.texts if t in blob]  # no message text in the record


async def test_an_unknown_patient_is_referenced_by_identifier_and_an_outage_is_retried(
        world: World, fhir: FhirServer) -> None:
    seeded = await seed_conversation(world)  # no CPF known, no such Patient on the server
    assert world.rt.inbox is not None
    await world.rt.inbox.resolve(world.staff, seeded.conversation_id, "resolved")
    register = register_for(world, fhir)
    assert await register.collect() == 1
    fhir.unavailable = True
    assert await register.deliver_one()
    [row] = await deliveries(world)
    assert (row.status, row.attempts, row.last_http_status) == ("pending", 1, 503)
    fhir.unavailable = False

    async def delivered() -> bool:
        await register.deliver_due()
        [row] = await deliveries(world)
        return row.status == "delivered"
    await eventually(delivered, timeout=20, what="the Communication delivered once the server is back")
    [row] = await deliveries(world)
    assert row.status == "delivered" and row.attempts == 2
    [comm] = fhir.all("Communication")
    assert comm["subject"] == {"identifier": {"system": ATENDE_PATIENT_SYSTEM, "value": str(seeded.patient_id)}}
    assert "about" not in comm and "encounter" not in comm


async def test_a_replayed_delivery_does_not_record_the_communication_twice(world: World, fhir: FhirServer) -> None:
    """The create is conditional on the interaction identifier: the server keeps one Communication
    however many times the same record is sent (a retry after a lost answer, or a replay)."""
    from handoff.services.interactions import replay

    seeded = await seed_conversation(world, cpf=CPF)
    assert world.rt.inbox is not None
    await world.rt.inbox.resolve(world.staff, seeded.conversation_id, "resolved")
    register = register_for(world, fhir)
    assert await register.collect() == 1 and await register.deliver_due() == 1
    [row] = await deliveries(world)
    first = row.remote_ref
    await replay(world.rt.uow, world.staff, row.id)
    assert await register.deliver_due() == 1
    [row] = await deliveries(world)
    assert row.status == "delivered" and row.replays == 1 and row.remote_ref == first
    assert len(fhir.all("Communication")) == 1
