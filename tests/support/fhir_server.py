"""A small but honest FHIR R4 server for tests (Sanic, in-memory, in a background thread).

It is the clinic's FHIR agenda / record in the tests: the FHIR agenda adapter and the
interaction register talk to it over real HTTP, exactly as to a production server.

What it implements (FHIR R4 RESTful API, https://hl7.org/fhir/R4/http.html):
- types: Patient, Practitioner, Schedule, Slot, Appointment, Communication, Encounter;
- create (`POST /fhir/<type>`, 201 + Location + ETag W/"1"; conditional create with
  `If-None-Exist`), read (`GET /fhir/<type>/<id>`, 404 unknown / 410 deleted), update
  (`PUT`, `If-Match` -> 412 on a version mismatch; bumps meta.versionId and meta.lastUpdated),
  delete (`DELETE`), search (`GET /fhir/<type>?...`, a `searchset` Bundle, paged with a `next`
  link when `_count` cuts it), `transaction` Bundles (`POST /fhir`, all-or-nothing, `If-Match`
  and `ifNoneExist` honoured per entry, `urn:uuid:` references resolved), `GET /fhir/metadata`;
- every written resource is validated with `fhir.resources` (R4B models: for the resources
  above R4B is structurally R4 4.0.1) plus the required code bindings of Slot/Appointment
  status; an invalid one gets 400 with an OperationOutcome;
- search parameters (unknown ones are refused with 400, like `Prefer: handling=strict`, so a
  typo in a client never silently returns everything):
  common `_id`, `_lastUpdated`, `_count`, `_sort` (start, _lastUpdated, - for descending);
  Slot `schedule`, `status`, `start`; Schedule `actor`; Appointment `actor`, `patient`,
  `practitioner`, `date`, `status`, `slot`; Patient / Practitioner `identifier`
  (`system|value`, `value`, `system|`); Communication `subject`, `encounter`, `patient`;
  Encounter `subject`, `patient`. Date parameters take the prefixes eq/ne/gt/ge/lt/le and any
  precision (year ... instant); several values of one parameter AND, commas OR.

Knobs: `before_transaction` (a callable run once, on the server, before the next transaction:
another client's write between an adapter's read and its write); `unavailable = True` answers
503 to everything (agenda down); `stop()` closes the listening socket (connection refused) and
`start()` opens it again on the same port with the same data; `token` requires
`Authorization: Bearer <token>`. Every request is recorded in `requests` (method, path) for
tests that count round trips. `seed` / `update` / `resource` / `all` read and write the store
directly (validated, atomically with requests).

Usage:

    with FhirServer(token="t") as fhir:          # or fhir = FhirServer().start(); ...; fhir.close()
        client_base_url = fhir.url               # http://127.0.0.1:<port>/fhir
        patient = fhir.seed({"resourceType": "Patient", "identifier": [...]})
        ...
        sent = fhir.all("Communication")
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fhir.resources.R4B import get_fhir_model_class
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from tests.support.fhir_search import (
    DATE_FIELDS,
    DATE_PREFIXES,
    FHIR_JSON,
    REQUIRED_CODES,
    SEARCH_PARAMS,
    SORT_KEYS,
    TYPES,
    FhirError,
    date_matches,
    instant,
    operation_outcome,
    parse_date_range,
)
from tests.support.net import free_port

_app_names = itertools.count(1)

# ---------------------------------------------------------------------------------------------
# the store

def _etag(version: str) -> str:
    return f'W/"{version}"'


def _if_match_version(value: str) -> str:
    """The version in an If-Match header value (W/"3", "3" or 3)."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


class FhirStore:
    """The in-memory resources. Every method runs on the server loop (or under the lock), so
    each interaction — a whole transaction included — is atomic."""

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: set[tuple[str, str]] = set()
        self._ids = itertools.count(1)
        self._last = datetime(2000, 1, 1, tzinfo=UTC)
        self.lock = threading.RLock()

    def next_id(self) -> str:
        """A new logical id (never reused)."""
        return str(next(self._ids))

    def stamp(self) -> str:
        """A strictly increasing lastUpdated instant, so `_lastUpdated=gt<mark>` never misses one."""
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now.isoformat(timespec="microseconds").replace("+00:00", "Z")

    @staticmethod
    def validate(resource: Any, rtype: str | None = None) -> dict[str, Any]:
        """Validate with fhir.resources; return the resource as plain JSON."""
        if not isinstance(resource, dict):
            raise FhirError(400, "structure", "the body is not a JSON object")
        declared = resource.get("resourceType")
        if rtype is not None and declared != rtype:
            raise FhirError(400, "invalid", f"resourceType {declared!r} does not match the URL ({rtype})")
        if declared not in TYPES:
            raise FhirError(400, "not-supported", f"resource type {declared!r} is not supported")
        try:
            model = get_fhir_model_class(declared).model_validate(resource)
        except (ValueError, TypeError, LookupError) as exc:  # pydantic's ValidationError is a ValueError
            raise FhirError(400, "invalid", f"{declared} is invalid: {exc}") from None
        status = resource.get("status")
        allowed = REQUIRED_CODES.get(declared)
        if allowed is not None and status not in allowed:
            raise FhirError(400, "code-invalid", f"{declared}.status {status!r} is not in the required value set")
        result: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
        return result

    def put(self, rtype: str, rid: str, body: dict[str, Any], if_match: str | None) -> tuple[dict[str, Any], bool]:
        """Store a new version (create when absent). Returns (resource, created)."""
        key = (rtype, rid)
        current = self.resources.get(key)
        if if_match is not None:
            if current is None:
                raise FhirError(412, "conflict", f"{rtype}/{rid} does not exist (If-Match given)")
            if _if_match_version(if_match) != current["meta"]["versionId"]:
                raise FhirError(412, "conflict", f"{rtype}/{rid} is at version {current['meta']['versionId']}")
        version = str(int(current["meta"]["versionId"]) + 1) if current else "1"
        stored = dict(body)
        stored["id"] = rid
        meta = dict(stored.get("meta") or {})
        meta["versionId"] = version
        meta["lastUpdated"] = self.stamp()
        stored["meta"] = meta
        self.resources[key] = stored
        self.deleted.discard(key)
        return stored, current is None

    def get(self, rtype: str, rid: str) -> dict[str, Any]:
        """The current version, or 404/410."""
        key = (rtype, rid)
        if key in self.resources:
            return self.resources[key]
        if key in self.deleted:
            raise FhirError(410, "deleted", f"{rtype}/{rid} was deleted")
        raise FhirError(404, "not-found", f"{rtype}/{rid} is not known")

    def delete(self, rtype: str, rid: str, if_match: str | None = None) -> None:
        """Delete (idempotent)."""
        key = (rtype, rid)
        current = self.resources.get(key)
        if current is not None and if_match is not None and _if_match_version(if_match) != current["meta"]["versionId"]:
            raise FhirError(412, "conflict", f"{rtype}/{rid} is at version {current['meta']['versionId']}")
        if current is not None:
            del self.resources[key]
            self.deleted.add(key)

    def search(self, rtype: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Resources of `rtype` matching every parameter, sorted by `_sort` (else by id)."""
        for name, _ in params:  # strict: refuse unknown parameters even when nothing is stored
            bare = name.split(":")[0]
            if not (bare in ("_id", "_lastUpdated", "_count", "_offset", "_format", "_total", "_sort")
                    or bare in DATE_FIELDS.get(rtype, {}) or bare in SEARCH_PARAMS.get(rtype, {})):
                raise FhirError(400, "not-supported", f"unknown search parameter {name!r} for {rtype}")
        found = [r for (t, _), r in self.resources.items() if t == rtype]
        sort: list[str] = []
        for name, value in params:
            if name in ("_count", "_offset", "_format", "_total"):
                continue
            if name == "_sort":
                sort = [s for s in value.split(",") if s]
                continue
            found = [r for r in found if self._matches(rtype, r, name, value)]
        for field in reversed(sort or ["_id"]):
            desc = field.startswith("-")
            key = SORT_KEYS.get(field.lstrip("-"))
            if key is None:
                raise FhirError(400, "not-supported", f"unknown _sort {field!r} for {rtype}")
            if field.lstrip("-") == "_id":
                found.sort(key=lambda r: (len(r["id"]), r["id"]), reverse=desc)
            else:
                found.sort(key=key, reverse=desc)
        return found

    def _matches(self, rtype: str, res: dict[str, Any], name: str, value: str) -> bool:
        if name == "_id":
            return res["id"] in value.split(",")
        if name == "_lastUpdated" or name in DATE_FIELDS.get(rtype, {}):
            getter = (lambda r: r["meta"]["lastUpdated"]) if name == "_lastUpdated" else DATE_FIELDS[rtype][name]
            return any(self._date_ok(getter(res), v) for v in value.split(","))
        matcher = SEARCH_PARAMS.get(rtype, {}).get(name.split(":")[0])
        if matcher is None:
            raise FhirError(400, "not-supported", f"unknown search parameter {name!r} for {rtype}")
        return any(matcher(res, v) for v in value.split(","))

    @staticmethod
    def _date_ok(resource_value: str | None, value: str) -> bool:
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        low, high = parse_date_range(value[2:] if value[:2] in DATE_PREFIXES else value)
        return date_matches(resource_value, prefix, low, high)


# ---------------------------------------------------------------------------------------------
# the server

class FhirServer:
    """Start with `.start()`; `url` is the FHIR base URL (`http://127.0.0.1:<port>/fhir`)."""

    def __init__(self, *, token: str | None = None) -> None:
        self.port = free_port()
        self.token = token
        self.unavailable = False
        self.store = FhirStore()
        self.requests: list[tuple[str, str]] = []
        # Runs once, on the server, just before the next transaction is applied: lets a test put
        # another client's write exactly between an adapter's read and its write.
        self.before_transaction: Callable[[], None] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fhir-server")
        self._server: Any = None

    @property
    def url(self) -> str:
        """The FHIR base URL."""
        return f"http://127.0.0.1:{self.port}/fhir"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FhirServer:
        """Listen (again) on `port`; the data survives a stop/start."""
        if not self._thread.is_alive():
            self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(30)
        return self

    def stop(self) -> None:
        """Close the listening socket and open connections (clients get connection refused)."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(30)

    def close(self) -> None:
        """Stop for good."""
        self.stop()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FhirServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        # A fresh Sanic app per start: an app's router is finalized once it has served.
        app = Sanic(f"fhir_test_server_{next(_app_names)}", configure_logging=False)
        app.config.MOTD = False
        app.config.ACCESS_LOG = False
        # TouchUp rewrites sanic's own module functions once per process; a second app (or the
        # hub's app in the same test process) breaks when it runs again. It is an optimization.
        app.config.TOUCHUP = False
        app.add_route(self._handle, "/fhir", methods=["GET", "POST"], name="base")
        app.add_route(self._handle, "/fhir/<rest:path>", methods=["GET", "POST", "PUT", "DELETE"], name="rest")
        server = await app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                         access_log=False)
        assert server is not None
        await server.startup()  # type: ignore[no-untyped-call]
        await server.before_start()  # type: ignore[no-untyped-call]
        await server.after_start()  # type: ignore[no-untyped-call]
        self._server = server

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        await server.before_stop()
        server.close()
        for conn in list(server.connections):
            conn.close()  # cut keep-alive connections too: a stopped server answers nothing
        await server.wait_closed()
        await server.after_stop()

    # -- seeding from tests ---------------------------------------------------------------------

    def seed(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Create a resource directly (validated), as if a client had POSTed it; returns it."""
        body = FhirStore.validate(resource)
        rid = str(resource.get("id") or self.store.next_id())
        with self.store.lock:
            done = self._call(lambda: self.store.put(body["resourceType"], rid, body, None)[0])
        return copy.deepcopy(done)

    def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of a resource directly (validated, no If-Match), as another client would."""
        body = FhirStore.validate(resource)
        done = self._call(lambda: self.store.put(body["resourceType"], str(body["id"]), body, None)[0])
        return copy.deepcopy(done)

    def resource(self, rtype: str, rid: str) -> dict[str, Any] | None:
        """The current version of a resource (a copy), or None."""
        found = self._call(lambda: self.store.resources.get((rtype, rid)))
        return copy.deepcopy(found) if found is not None else None

    def all(self, rtype: str) -> list[dict[str, Any]]:
        """Every current resource of a type (copies), by id."""
        found = self._call(lambda: self.store.search(rtype, []))
        return copy.deepcopy(found)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server loop when it runs, so it never interleaves with a request."""
        if not self._thread.is_alive() or threading.current_thread() is self._thread:
            return fn()  # not started, or already on the loop (a `before_transaction` hook)

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    # -- HTTP -----------------------------------------------------------------------------------

    def _json(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> HTTPResponse:
        payload = json.dumps(body).encode() if body is not None else b""
        return HTTPResponse(payload, status=status, headers=headers or {},
                            content_type=FHIR_JSON if body is not None else None)

    def _resource_headers(self, res: dict[str, Any], location: bool = False) -> dict[str, str]:
        meta = res["meta"]
        headers = {"ETag": _etag(meta["versionId"]),
                   "Last-Modified": instant(meta["lastUpdated"]).strftime("%a, %d %b %Y %H:%M:%S GMT")}
        if location:
            headers["Location"] = f"{self.url}/{res['resourceType']}/{res['id']}/_history/{meta['versionId']}"
        return headers

    async def _handle(self, request: Request, rest: str = "") -> HTTPResponse:
        self.requests.append((request.method, request.path))
        if self.unavailable:
            return self._json(503, operation_outcome("transient", "server unavailable"))
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return self._json(401, operation_outcome("login", "missing or wrong bearer token"))
        try:
            return self._dispatch(request, [p for p in rest.split("/") if p])
        except FhirError as err:
            return self._json(err.status, operation_outcome(err.code, err.diagnostics))

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.body or b"null")
        except ValueError:
            raise FhirError(400, "structure", "the body is not JSON") from None

    def _dispatch(self, request: Request, parts: list[str]) -> HTTPResponse:
        method = request.method
        params = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)]
        if not parts:
            if method == "POST":
                hook, self.before_transaction = self.before_transaction, None
                if hook is not None:
                    hook()
                return self._json(200, self._transaction(self._body(request)))
            raise FhirError(400, "not-supported", "system-level search is not supported")
        if parts == ["metadata"]:
            return self._json(200, self._capabilities())
        rtype = parts[0]
        if rtype not in TYPES:
            raise FhirError(404, "not-supported", f"resource type {rtype!r} is not supported")
        if len(parts) == 1 and method == "GET":
            return self._json(200, self._search_bundle(rtype, params))
        if len(parts) == 2 and parts[1] == "_search" and method == "POST":
            form = parse_qsl(request.body.decode() if request.body else "", keep_blank_values=True)
            return self._json(200, self._search_bundle(rtype, params + form))
        if len(parts) == 1 and method == "POST":
            res, created = self._create(rtype, self._body(request), request.headers.get("if-none-exist"))
            return self._json(201 if created else 200, res, self._resource_headers(res, location=True))
        if len(parts) == 2:
            rid = parts[1]
            if method == "GET":
                res = self.store.get(rtype, rid)
                return self._json(200, res, self._resource_headers(res))
            if method == "PUT":
                res, created = self._update(rtype, rid, self._body(request), request.headers.get("if-match"))
                return self._json(201 if created else 200, res, self._resource_headers(res, location=True))
            if method == "DELETE":
                self.store.delete(rtype, rid, request.headers.get("if-match"))
                return self._json(204, None)
        if len(parts) == 4 and parts[2] == "_history" and method == "GET":
            res = self.store.get(rtype, parts[1])
            if res["meta"]["versionId"] != parts[3]:
                raise FhirError(404, "not-found", "only the current version is kept")
            return self._json(200, res, self._resource_headers(res))
        raise FhirError(405, "not-supported", f"{method} {'/'.join(parts)} is not supported")

    def _create(self, rtype: str, body: Any, if_none_exist: str | None) -> tuple[dict[str, Any], bool]:
        if if_none_exist:
            matches = self.store.search(rtype, parse_qsl(if_none_exist.lstrip("?"), keep_blank_values=True))
            if len(matches) == 1:
                return matches[0], False
            if len(matches) > 1:
                raise FhirError(412, "duplicate", "If-None-Exist matches more than one resource")
        valid = FhirStore.validate(body, rtype)
        return self.store.put(rtype, self.store.next_id(), valid, None)

    def _update(self, rtype: str, rid: str, body: Any, if_match: str | None) -> tuple[dict[str, Any], bool]:
        valid = FhirStore.validate(body, rtype)
        if valid.get("id") != rid:
            raise FhirError(400, "invalid", "the resource id must match the URL")
        return self.store.put(rtype, rid, valid, if_match)

    def _search_bundle(self, rtype: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        found = self.store.search(rtype, params)
        values = dict(params)
        try:
            count = int(values["_count"]) if "_count" in values else None
            offset = int(values.get("_offset", "0"))
        except ValueError:
            raise FhirError(400, "invalid", "_count/_offset must be integers") from None
        page = found[offset:offset + count] if count is not None else found[offset:]
        query = [(k, v) for k, v in params if k != "_offset"]
        links = [{"relation": "self", "url": f"{self.url}/{rtype}?{urlencode(params)}"}]
        if count is not None and offset + count < len(found):
            links.append({"relation": "next",
                          "url": f"{self.url}/{rtype}?{urlencode([*query, ('_offset', str(offset + count))])}"})
        return {
            "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": len(found),
            "link": links,
            "entry": [{"fullUrl": f"{self.url}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in page],
        }

    def _transaction(self, bundle: Any) -> dict[str, Any]:
        """All-or-nothing: every entry is checked and applied on a copy, committed only at the end."""
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirError(400, "invalid", "POST to the base URL takes a Bundle")
        if bundle.get("type") != "transaction":
            raise FhirError(400, "not-supported", "only transaction Bundles are supported")
        try:
            get_fhir_model_class("Bundle").model_validate(bundle)
        except (ValueError, TypeError, LookupError) as exc:  # e.g. KeyError for an unknown entry type
            raise FhirError(400, "invalid", f"Bundle is invalid: {exc}") from None
        entries = bundle.get("entry") or []
        saved_resources, saved_deleted = dict(self.store.resources), set(self.store.deleted)
        try:
            return self._apply_transaction(entries)
        except FhirError:
            # Roll back: nothing of a failed transaction is visible.
            self.store.resources, self.store.deleted = saved_resources, saved_deleted
            raise

    def _apply_transaction(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        # Ids for POSTed entries first, so urn:uuid references between entries resolve.
        aliases: dict[str, str] = {}
        planned: list[tuple[int, dict[str, Any], str, str, str | None]] = []
        for index, entry in enumerate(entries):
            req = entry.get("request") or {}
            method = str(req.get("method") or "").upper()
            url = str(req.get("url") or "")
            path = urlsplit(url).path.strip("/")
            parts = path.split("/") if path else []
            if not parts or parts[0] not in TYPES:
                raise FhirError(400, "invalid", f"entry {index}: unsupported url {url!r}")
            rid = None
            if method == "POST":
                if len(parts) != 1:
                    raise FhirError(400, "invalid", f"entry {index}: POST url must be a type")
                if req.get("ifNoneExist"):
                    matches = self.store.search(parts[0], parse_qsl(str(req["ifNoneExist"]), keep_blank_values=True))
                    if len(matches) > 1:
                        raise FhirError(412, "duplicate", f"entry {index}: ifNoneExist matches several")
                    if matches:
                        rid = "=" + matches[0]["id"]  # exists: no write, the alias points at it
                if rid is None:
                    rid = self.store.next_id()
                if entry.get("fullUrl"):
                    aliases[str(entry["fullUrl"])] = f"{parts[0]}/{rid.lstrip('=')}"
            elif method in ("PUT", "DELETE"):
                if len(parts) != 2:
                    raise FhirError(400, "invalid", f"entry {index}: {method} url must be Type/id")
                rid = parts[1]
            else:
                raise FhirError(400, "not-supported", f"entry {index}: method {method!r} not supported")
            planned.append((index, entry, method, parts[0], rid))

        def resolve(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: (aliases.get(v, v) if k == "reference" and isinstance(v, str) else resolve(v))
                        for k, v in node.items()}
            if isinstance(node, list):
                return [resolve(item) for item in node]
            return node

        results: dict[int, dict[str, Any]] = {}
        # Processing order of the spec: DELETE, POST, PUT (then GET, not supported here).
        order = {"DELETE": 0, "POST": 1, "PUT": 2}
        for index, entry, method, rtype, rid in sorted(planned, key=lambda p: (order[p[2]], p[0])):
            req = entry.get("request") or {}
            if_match = req.get("ifMatch")
            try:
                if method == "DELETE":
                    assert rid is not None
                    self.store.delete(rtype, rid, if_match)
                    results[index] = {"status": "204 No Content"}
                    continue
                body = FhirStore.validate(resolve(entry.get("resource")), rtype)
                if method == "POST" and rid is not None and rid.startswith("="):
                    res = self.store.get(rtype, rid[1:])
                    results[index] = {"status": "200 OK", **self._entry_meta(res)}
                    continue
                if method == "PUT":
                    if body.get("id") != rid:
                        raise FhirError(400, "invalid", "the resource id must match the entry url")
                assert rid is not None
                res, created = self.store.put(rtype, rid, body, if_match)
                results[index] = {"status": "201 Created" if created else "200 OK", **self._entry_meta(res)}
            except FhirError as err:
                raise FhirError(err.status, err.code, f"entry {index}: {err.diagnostics}") from None
        return {
            "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "transaction-response",
            "entry": [{"response": results[i]} for i in range(len(entries))],
        }

    def _entry_meta(self, res: dict[str, Any]) -> dict[str, str]:
        meta = res["meta"]
        return {"location": f"{res['resourceType']}/{res['id']}/_history/{meta['versionId']}",
                "etag": _etag(meta["versionId"]), "lastModified": meta["lastUpdated"]}

    def _capabilities(self) -> dict[str, Any]:
        return {
            "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-07", "kind": "instance",
            "fhirVersion": "4.0.1", "format": ["json"],
            "rest": [{"mode": "server", "interaction": [{"code": "transaction"}],
                      "resource": [{"type": t, "versioning": "versioned", "readHistory": False,
                                    "updateCreate": True, "conditionalCreate": True,
                                    "interaction": [{"code": c} for c in ("read", "create", "update", "delete",
                                                                           "search-type")],
                                    "searchParam": [{"name": n, "type": "token"} for n in SEARCH_PARAMS.get(t, {})]}
                                   for t in TYPES]}],
        }
