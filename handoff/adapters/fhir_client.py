"""A small FHIR R4 REST client (httpx): the one place the hub speaks HTTP to a clinic's FHIR server.

Shared by the FHIR agenda adapter (adapters/agenda/fhir.py) and the interaction register
(Communication / Encounter). Resources travel as plain JSON dicts; every resource that goes out
or comes back is validated with the `fhir.resources` models (a search may opt out with
`checked=False` when the caller checks every field it uses itself: the free-slot lookup, where a
full model check of each Slot cost more than the search; package `fhir.resources.R4B`:
fhir.resources 8 ships R5 at its root and R4B beside it; for the resources we use — Patient,
Practitioner, Schedule, Slot, Appointment, Communication, Encounter, Bundle — R4B is
structurally identical to R4 4.0.1).

Errors (the agenda port's, so callers need not know HTTP):
- no answer, timeout, 5xx, 429, 401/403 -> `AgendaUnavailableError` (the patient is told the
  agenda is down and handed off; a wrong token is as useless as a dead server);
- 409 / 412 (a version precondition failed, a conditional create matched several) ->
  `FhirConflictError`, an `AgendaConflictError`;
- 404 / 410 on a read -> `None`;
- other 4xx -> `FhirRequestError` (our request was refused; also an `AgendaUnavailableError`
  for the caller's purposes, with the status kept for the log).
Logs carry the interaction, type and status only, never a resource (they hold personal data).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
from fhir.resources.R4B import get_fhir_model_class

from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
Resource = dict[str, Any]
Params = Sequence[tuple[str, str]]
# A searchset is paged by the server; this many pages is far beyond any agenda query we make.
MAX_PAGES = 50


class FhirConflictError(AgendaConflictError):
    """409/412: the resource changed since it was read (If-Match refused) or a condition failed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FhirUnavailableError(AgendaUnavailableError):
    """The server answered, but not usefully now (5xx, 401/403, 408, 429): retry later."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FhirRequestError(AgendaUnavailableError):
    """The server refused our request (4xx other than 404/409/410/412)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Written:
    """Where a create/update/transaction entry landed."""

    type: str
    id: str
    version: str | None


def validate(resource: Mapping[str, Any]) -> Resource:
    """Check a resource against its fhir.resources model; returns it as plain JSON.

    Raises ValueError when it is not a valid R4 resource (a bug on our side or the server's).
    """
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise ValueError("not a FHIR resource")
    try:
        model = get_fhir_model_class(rtype).model_validate(dict(resource))
    except (ValueError, TypeError, LookupError) as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"invalid {rtype}: {exc}") from None
    result: Resource = json.loads(model.model_dump_json(exclude_none=True))
    return result


def version_of(resource: Mapping[str, Any]) -> str | None:
    """meta.versionId, if the server keeps versions."""
    meta = resource.get("meta") or {}
    value = meta.get("versionId")
    return str(value) if value is not None else None


def if_match(version: str) -> str:
    """The If-Match value for a versionId (a weak ETag, as FHIR servers send it)."""
    return f'W/"{version}"'


def parse_location(location: str) -> Written:
    """`[base/]Type/id[/_history/vid]` -> Written."""
    parts = [p for p in location.split("?")[0].split("/") if p]
    if "_history" in parts:
        at = parts.index("_history")
        version = parts[at + 1] if at + 1 < len(parts) else None
        parts = parts[:at]
    else:
        version = None
    if len(parts) < 2:
        raise ValueError("unexpected Location")
    return Written(type=parts[-2], id=parts[-1], version=version)


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


class FhirClient:
    """Async FHIR R4 client for one server (`base_url` like https://fhir.example/fhir)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- plumbing -------------------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, *, what: str, params: Params | None = None, body: Resource | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent_headers = dict(headers or {})
        content = None
        if body is not None:
            sent_headers["Content-Type"] = FHIR_JSON
            content = json.dumps(body).encode()
        try:
            # params=None, not []: an empty list would wipe the query of a `next` link.
            response = await self._http.request(
                method, url, params=list(params) if params else None, content=content, headers=sent_headers,
            )
        except httpx.HTTPError as exc:
            log.warning("fhir %s: no answer (%s)", what, type(exc).__name__)
            raise AgendaUnavailableError(f"FHIR server did not answer ({type(exc).__name__})") from exc
        status = response.status_code
        if status < 400:
            return response
        if status in (404, 410):
            return response  # the caller decides what "not there" means
        log.warning("fhir %s: HTTP %s", what, status)
        detail = _diagnostics(response)
        if status >= 500 or status in (401, 403, 408, 429):
            raise FhirUnavailableError(status, f"FHIR server answered {status}")
        if status in (409, 412):
            raise FhirConflictError(status, f"FHIR precondition failed ({status}): {detail}")
        raise FhirRequestError(status, f"FHIR server refused the request ({status}): {detail}")

    @staticmethod
    def _json(response: httpx.Response) -> Resource:
        try:
            data = response.json()
        except ValueError:
            raise AgendaUnavailableError("FHIR server answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise AgendaUnavailableError("FHIR server answered something that is not a resource")
        return data

    # -- interactions ---------------------------------------------------------------------------

    async def read(self, rtype: str, rid: str) -> Resource | None:
        """The current version of `rtype/rid`, or None when unknown or deleted."""
        response = await self._send("GET", f"{rtype}/{rid}", what=f"read {rtype}")
        if response.status_code in (404, 410):
            return None
        return self._checked(self._json(response), rtype)

    async def search(
        self, rtype: str, params: Params, *, limit: int | None = None, checked: bool = True,
    ) -> list[Resource]:
        """Every match of a type-level search (following `next` links), at most `limit`.

        `checked=False`: the matches are not validated against the model (only their type is
        checked); the caller must check every field it reads.
        """
        found: list[Resource] = []
        response = await self._send("GET", rtype, what=f"search {rtype}", params=params)
        for _ in range(MAX_PAGES):
            if response.status_code in (404, 410):
                break
            bundle = self._json(response)
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource")
                mode = (entry.get("search") or {}).get("mode", "match")
                if isinstance(resource, dict) and resource.get("resourceType") == rtype and mode == "match":
                    found.append(self._checked(resource, rtype) if checked else resource)
            if limit is not None and len(found) >= limit:
                return found[:limit]
            nxt = next((link.get("url") for link in bundle.get("link") or [] if link.get("relation") == "next"),
                       None)
            if not nxt:
                break
            # The next link is absolute (or relative to the base); follow it as given.
            response = await self._send("GET", urljoin(self.base_url, str(nxt)), what=f"search {rtype} (page)")
        return found

    async def create(self, resource: Resource, *, if_none_exist: Params | None = None) -> Resource:
        """POST a new resource (conditionally, when `if_none_exist` is given); returns it as stored."""
        body = validate(resource)
        rtype = body["resourceType"]
        headers = {"Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = str(httpx.QueryParams(list(if_none_exist)))
        response = await self._send("POST", rtype, what=f"create {rtype}", body=body, headers=headers)
        return await self._stored(response, rtype)

    async def update(self, resource: Resource, *, version: str | None) -> Resource:
        """PUT a new version, with If-Match on `version` when given; returns it as stored."""
        body = validate(resource)
        rtype, rid = body["resourceType"], body.get("id")
        if not rid:
            raise ValueError("update needs the resource id")
        headers = {"Prefer": "return=representation"}
        if version is not None:
            headers["If-Match"] = if_match(version)
        response = await self._send("PUT", f"{rtype}/{rid}", what=f"update {rtype}", body=body, headers=headers)
        if response.status_code in (404, 410):
            raise FhirConflictError(response.status_code, f"{rtype} is gone")
        return await self._stored(response, rtype)

    async def transaction(self, entries: Sequence[Resource]) -> list[Written | None]:
        """POST a `transaction` Bundle (all or nothing); returns where each entry landed."""
        bundle = validate({"resourceType": "Bundle", "type": "transaction", "entry": list(entries)})
        response = await self._send("POST", "", what="transaction", body=bundle)
        if response.status_code in (404, 410):
            raise FhirRequestError(response.status_code, "transaction endpoint not found")
        result = self._json(response)
        written: list[Written | None] = []
        for entry in result.get("entry") or []:
            answer = entry.get("response") or {}
            location = answer.get("location")
            if not location:
                written.append(None)
                continue
            place = parse_location(str(location))
            version = place.version or _etag_version(answer.get("etag"))
            written.append(Written(type=place.type, id=place.id, version=version))
        return written

    # -- answers --------------------------------------------------------------------------------

    def _checked(self, resource: Resource, rtype: str) -> Resource:
        if resource.get("resourceType") != rtype:
            raise AgendaUnavailableError(f"FHIR server answered a {resource.get('resourceType')} for a {rtype}")
        try:
            validate(resource)
        except ValueError:
            log.warning("fhir: invalid %s from the server", rtype)
            raise AgendaUnavailableError(f"FHIR server answered an invalid {rtype}") from None
        return resource

    async def _stored(self, response: httpx.Response, rtype: str) -> Resource:
        """The stored resource: the body when the server returned it, else a read of Location."""
        if response.content:
            data = self._json(response)
            if data.get("resourceType") == rtype:
                return self._checked(data, rtype)
        location = response.headers.get("location") or response.headers.get("content-location")
        if not location:
            raise AgendaUnavailableError("FHIR server did not say where the resource is")
        place = parse_location(location)
        found = await self.read(rtype, place.id)
        if found is None:
            raise AgendaUnavailableError(f"the {rtype} just written cannot be read")
        return found


def _diagnostics(response: httpx.Response) -> str:
    """The OperationOutcome's issue codes. Not its diagnostics: servers echo the offending
    values there, which may be personal data, and exception texts end up in logs."""
    try:
        data = response.json()
        issues = data.get("issue") or []
        text = ",".join(str(i.get("code") or "") for i in issues)
    except (ValueError, AttributeError):
        text = ""
    return text[:200]
