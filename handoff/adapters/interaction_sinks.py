"""Where interaction records go (issue 14): the clinic's CRM over a signed webhook, and its
FHIR R4 server as a `Communication`.

Both take the stored record (`handoff.domain.interactions.build_summary`: ids, labels, times,
never message text) and answer a `SinkResult`; they never raise for a failed delivery (network
error, timeout, non-2xx): the worker decides on retries. Nothing here logs the record.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from fhir.resources.R4B.communication import Communication

from handoff.adapters.fhir_client import FhirClient, FhirConflictError, FhirRequestError, FhirUnavailableError
from handoff.domain.errors import AgendaUnavailableError
from handoff.domain.interactions import delivered, signature

USER_AGENT = "atende-interactions/1"
# RNDS naming system of the CPF (Ministério da Saúde, "BRIndividuo" identifier system):
# https://simplifier.net/redenacionaldedadosemsaude — the same the FHIR agenda matches patients by.
CPF_SYSTEM = "https://saude.gov.br/fhir/sid/cpf"
ATENDE_PATIENT_SYSTEM = "urn:atende:patient"
INTERACTION_SYSTEM = "urn:atende:interaction"


@dataclass(frozen=True)
class SinkResult:
    """How one delivery attempt went."""

    ok: bool
    status: int | None = None  # the receiver's HTTP status (None: no answer)
    error: str | None = None  # short, no content: "HTTP 503", "ConnectError"
    remote_ref: str | None = None  # e.g. "Communication/17"


class InteractionSink(Protocol):
    """Delivers one interaction record."""

    async def send(self, delivery_id: int, key: str, record: dict[str, Any]) -> SinkResult: ...

    async def close(self) -> None: ...


def webhook_body(delivery_id: int, record: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the record plus its delivery id, compact JSON."""
    return json.dumps({"delivery_id": delivery_id, **record}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True).encode()


def webhook_headers(delivery_id: int, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """X-Atende-Delivery (the idempotency key: the same on every retry and replay of this
    delivery), X-Atende-Timestamp (Unix seconds) and X-Atende-Signature (docs/CONTRACTS.md)."""
    timestamp = str(int(now if now is not None else time.time()))
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            "X-Atende-Delivery": str(delivery_id), "X-Atende-Timestamp": timestamp,
            "X-Atende-Signature": signature(secret, timestamp, body)}


class WebhookSink:
    """POSTs the record as signed JSON to `CRM_WEBHOOK_URL`."""

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def send(self, delivery_id: int, key: str, record: dict[str, Any]) -> SinkResult:
        """One attempt; a 2xx delivers."""
        body = webhook_body(delivery_id, record)
        try:
            r = await self._client.post(self.url, content=body, headers=webhook_headers(delivery_id, self.secret, body))
        except httpx.HTTPError as exc:
            return SinkResult(False, None, type(exc).__name__)
        if delivered(r.status_code):
            return SinkResult(True, r.status_code)
        return SinkResult(False, r.status_code, f"HTTP {r.status_code}")

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class FhirCommunicationSink:
    """Records the interaction as a FHIR R4 `Communication` (status completed) about the patient.

    subject = the Patient found by CPF (RNDS system) or by `urn:atende:patient|<hub id>`, else a
    reference by identifier only (the server may resolve it later); `about` = the FHIR
    Appointments the conversation touched (their `agenda_system` is fhir); `encounter` = an
    Encounter of that patient pointing at one of those appointments, when the server has one.
    `identifier` = `urn:atende:interaction|<interaction key>`, and the create is conditional on it
    (If-None-Exist), so a retry after a lost answer or a replay never records it twice.
    Talks through the shared FHIR client (`handoff.adapters.fhir_client`), like the FHIR agenda.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self._fhir = FhirClient(base_url, token, timeout)

    async def _patient(self, record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The subject reference, and the Patient id when one was found."""
        patient = record.get("patient") or {}
        cpf, hub_id = patient.get("cpf"), patient.get("id")
        queries = []
        if cpf:
            queries.append((CPF_SYSTEM, str(cpf)))
        if hub_id is not None:
            queries.append((ATENDE_PATIENT_SYSTEM, str(hub_id)))
        for system, value in queries:
            found = await self._fhir.search("Patient", [("identifier", f"{system}|{value}")], limit=2)
            if len(found) == 1 and found[0].get("id"):
                return {"reference": f"Patient/{found[0]['id']}"}, str(found[0]["id"])
        system, value = queries[0] if queries else (ATENDE_PATIENT_SYSTEM, "desconhecido")
        return {"identifier": {"system": system, "value": value}}, None

    async def _encounter(self, patient_id: str | None, appointments: list[str]) -> dict[str, Any] | None:
        if patient_id is None or not appointments:
            return None
        for enc in await self._fhir.search("Encounter", [("patient", f"Patient/{patient_id}")]):
            refs = {str(a.get("reference")) for a in enc.get("appointment") or [] if isinstance(a, dict)}
            if refs & set(appointments) and enc.get("id"):
                return {"reference": f"Encounter/{enc['id']}"}
        return None

    async def communication(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        """The Communication resource for a record (validated with fhir.resources)."""
        subject, patient_id = await self._patient(record)
        appointments = [f"Appointment/{a['agenda_ref'].rsplit('/', 1)[-1]}"
                        for a in record.get("appointments") or []
                        if a.get("agenda_system") == "fhir" and a.get("agenda_ref")]
        times = record.get("times") or {}
        body: dict[str, Any] = {
            "resourceType": "Communication",
            "status": "completed",
            "identifier": [{"system": INTERACTION_SYSTEM, "value": key}],
            "category": [{"coding": [{"system": "urn:atende:interaction-outcome", "code": record.get("outcome")}],
                          "text": "Registro de atendimento"}],
            "subject": subject,
            "sent": times.get("opened_at"),
            "received": times.get("resolved_at"),
            "payload": [{"contentString": record.get("summary") or ""}],
            "note": [{"text": f"Conversa: {record.get('transcript_url')}"}],
        }
        if record.get("channel"):
            body["medium"] = [{"coding": [{"system": "urn:atende:channel", "code": record["channel"]}]}]
        if appointments:
            body["about"] = [{"reference": ref} for ref in appointments]
        encounter = await self._encounter(patient_id, appointments)
        if encounter is not None:
            body["encounter"] = encounter
        body = {k: v for k, v in body.items() if v is not None}
        return Communication.model_validate(body).model_dump(mode="json", exclude_none=True)

    async def send(self, delivery_id: int, key: str, record: dict[str, Any]) -> SinkResult:
        """One attempt: look the patient up, create the Communication unless it exists already."""
        try:
            resource = await self.communication(key, record)
            created = await self._fhir.create(resource, if_none_exist=[("identifier", f"{INTERACTION_SYSTEM}|{key}")])
        except (FhirConflictError, FhirRequestError, FhirUnavailableError) as exc:
            return SinkResult(False, exc.status, f"HTTP {exc.status}")
        except AgendaUnavailableError as exc:  # no answer or timeout: the message names only the error type
            return SinkResult(False, None, str(exc)[:200])
        except ValueError as exc:  # the resource did not validate: retrying will not help, but say why
            return SinkResult(False, None, type(exc).__name__)
        rid = created.get("id")
        return SinkResult(True, 201, None, f"Communication/{rid}" if rid else None)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._fhir.aclose()
