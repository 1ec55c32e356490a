"""The only HTTP client from the action server to the hub's clinic API (docs/CONTRACTS.md, "Clinic API").

Base URL from env `HUB_URL` (default http://127.0.0.1:8000), service token from env
`CLINIC_API_TOKEN` sent as `Authorization: Bearer <token>`. Every method returns the decoded
JSON body, an object or a list as the contract says (an empty one when a 2xx answer carries
anything else); any non-2xx answer or network failure raises `ClinicApiError`.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp

DEFAULT_HUB_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 10.0


class ClinicApiError(Exception):
    """A failed clinic API call.

    `status` is the HTTP status (0 when the hub could not be reached) and `code` the
    machine-readable error code from `{"error": {"code", "message"}}` (e.g. `slot_taken`,
    `invalid_cpf`, `not_found`, `unavailable`).
    """

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}" if message else f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message


def patient_id(tracker: Any) -> int | None:
    """The hub's patient id for this conversation, from the message metadata the hub sends.

    Reads `tracker.latest_message["metadata"]["patient_id"]`; when the latest message has no
    metadata (e.g. a button payload injected by Rasa, or a followup action), falls back to the
    most recent user event that carried one.
    """
    latest = getattr(tracker, "latest_message", None) or {}
    found = pid_from_metadata(latest.get("metadata"))
    if found is not None:
        return found
    for event in reversed(list(getattr(tracker, "events", None) or [])):
        if isinstance(event, dict) and event.get("event") == "user":
            found = pid_from_metadata(event.get("metadata"))
            if found is not None:
                return found
    return None


def pid_from_metadata(metadata: Any) -> int | None:
    """The `patient_id` the hub puts in a message's (or session's) metadata; None when absent or not a number."""
    if not isinstance(metadata, dict):
        return None
    raw = metadata.get("patient_id")
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _owner(pid: int | None) -> dict[str, Any] | None:
    return {"patient_id": int(pid)} if pid is not None else None


def _iso(value: Any) -> str | None:
    """Datetimes/dates become ISO 8601 strings; strings pass through; None stays None."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


class ClinicApi:
    """Async client for the hub's `/api/clinic` endpoints: one method per endpoint.

    A session is opened per call unless one is injected, so instances are cheap and safe to
    create inside any action (the action server may run actions on different loops in tests).
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("HUB_URL") or DEFAULT_HUB_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("CLINIC_API_TOKEN")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        # HTTP status of the latest successful call (201 created vs 200 already there)
        self.last_status = 0

    # -- transport -------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> Any:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}/api/clinic{path}"
        try:
            if self._session is not None:
                return await self._send(self._session, method, url, headers, query, body)
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                return await self._send(session, method, url, headers, query, body)
        except ClinicApiError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ClinicApiError(0, "unavailable", type(exc).__name__) from exc

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: dict[str, str],
        query: dict[str, str],
        body: dict[str, Any] | None,
    ) -> Any:
        async with session.request(method, url, headers=headers, params=query, json=body, timeout=self.timeout) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = None
            if resp.status >= 400:
                err = (data or {}).get("error") if isinstance(data, dict) else None
                code = str((err or {}).get("code") or f"http_{resp.status}")
                raise ClinicApiError(resp.status, code, str((err or {}).get("message") or ""))
            self.last_status = resp.status
            return data

    async def _object(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = await self._request(method, path, params=params, body=body)
        return data if isinstance(data, dict) else {}

    async def _list(self, path: str, *, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        data = await self._request("GET", path, params=params)
        return data if isinstance(data, list) else []

    # -- clinic ----------------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        """Name, address, phone, hours, parking, accessibility, is_open_now, next_opening."""
        return await self._object("GET", "/info")

    async def specialties(self) -> list[dict[str, Any]]:
        """All specialties: [{slug, name}]."""
        return await self._list("/specialties")

    async def doctors(self, specialty: str | None = None) -> list[dict[str, Any]]:
        """Doctors, optionally of one specialty slug."""
        return await self._list("/doctors", params={"specialty": specialty})

    async def slots(
        self,
        specialty: str | None = None,
        doctor_id: int | None = None,
        start: Any = None,
        end: Any = None,
        limit: int = 5,
    ) -> list[dict[str, Any]]:
        """Free slots, soonest first. `start`/`end` may be datetimes or ISO strings."""
        params = {
            "specialty": specialty,
            "doctor_id": doctor_id,
            "start": _iso(start),
            "end": _iso(end),
            "limit": limit,
        }
        return await self._list("/slots", params=params)

    # -- patients --------------------------------------------------------------------------

    async def patient(self, pid: int) -> dict[str, Any]:
        """{id, name, cpf_known, birth_date_known, consent}."""
        return await self._object("GET", f"/patients/{int(pid)}")

    async def identify(
        self, pid: int, cpf: str | None = None, birth_date: Any = None, name: str | None = None
    ) -> dict[str, Any]:
        """Attach CPF / birth date / name to the patient (links to an existing record by CPF)."""
        body = {k: v for k, v in {"cpf": cpf, "birth_date": _iso(birth_date), "name": name}.items() if v is not None}
        return await self._object("POST", f"/patients/{int(pid)}/identify", body=body)

    async def record_consent(self, pid: int, granted: bool, version: str) -> dict[str, Any]:
        """Store the patient's consent decision with the notice's text version."""
        body = {"granted": bool(granted), "version": version}
        return await self._object("POST", f"/patients/{int(pid)}/consent", body=body)

    async def appointments(self, pid: int, scope: str = "upcoming") -> list[dict[str, Any]]:
        """The patient's appointments (`upcoming` or `all`)."""
        path = f"/patients/{int(pid)}/appointments"
        return await self._list(path, params={"scope": scope})

    # -- appointments ----------------------------------------------------------------------

    async def book(self, pid: int, slot_id: str, conversation_id: str | None = None) -> dict[str, Any]:
        """Book a free slot; raises ClinicApiError(409, "slot_taken") when someone got it first.
        `conversation_id` (the hub's conversation = the Rasa sender) lets the hub record the
        booking in that conversation's timeline (a bot conversion for the dashboard)."""
        body: dict[str, Any] = {"patient_id": int(pid), "slot_id": slot_id}
        if conversation_id:
            body["conversation_id"] = conversation_id
        return await self._object("POST", "/appointments", body=body)

    async def confirm(self, appt_id: int, pid: int | None = None) -> dict[str, Any]:
        """Confirm a scheduled appointment (idempotent).

        With `pid`, the hub checks the appointment is this patient's (404 otherwise): pass it
        whenever the id came from the conversation, so a stale slot never touches someone else's.
        """
        return await self._object("POST", f"/appointments/{int(appt_id)}/confirm", body=_owner(pid))

    async def cancel(self, appt_id: int, pid: int | None = None) -> dict[str, Any]:
        """Cancel an appointment that has not started yet (idempotent); `pid` as in `confirm`."""
        return await self._object("POST", f"/appointments/{int(appt_id)}/cancel", body=_owner(pid))

    async def reschedule(self, appt_id: int, slot_id: str, pid: int | None = None) -> dict[str, Any]:
        """Move an appointment to another free slot of the same specialty; `pid` as in `confirm`."""
        path = f"/appointments/{int(appt_id)}/reschedule"
        return await self._object("POST", path, body={"slot_id": slot_id, **(_owner(pid) or {})})

    # -- exams -----------------------------------------------------------------------------

    async def exams(self) -> list[dict[str, Any]]:
        """The exam catalog with preparation texts."""
        return await self._list("/exams")

    async def exam(self, slug: str) -> dict[str, Any]:
        """One exam by slug."""
        return await self._object("GET", f"/exams/{slug}")

    async def exam_results(self, pid: int) -> list[dict[str, Any]]:
        """Status of the patient's exam results."""
        return await self._list(f"/patients/{int(pid)}/exam-results")

    # -- billing ---------------------------------------------------------------------------

    async def boletos(self, pid: int) -> list[dict[str, Any]]:
        """The patient's boletos with barcode, pix code and PDF link."""
        return await self._list(f"/patients/{int(pid)}/boletos")

    async def prices(self, specialty: str | None = None, exam: str | None = None) -> list[dict[str, Any]]:
        """Prices of consultations/exams, optionally filtered by specialty or exam slug."""
        return await self._list("/prices", params={"specialty": specialty, "exam": exam})

    async def insurers(self) -> list[dict[str, Any]]:
        """Accepted insurers with plans and coverage."""
        return await self._list("/insurers")

    # -- privacy (LGPD data-subject requests) ----------------------------------------------

    async def privacy_request(
        self,
        conversation_id: str,
        kind: str,
        *,
        cpf: str | None = None,
        birth_date: Any = None,
        details: str | None = None,
    ) -> dict[str, Any]:
        """Open a data-subject request (`kind`: access | export | correction | erasure |
        revoke_consent) for the patient of the hub's conversation `conversation_id` (the Rasa
        sender). 201 {id, kind, status, due_at, summary, legal_holds?}; raises ClinicApiError
        422 `needs_identity` (send CPF + birth date) or 403 `identity_mismatch`."""
        body = {
            "conversation_id": conversation_id,
            "kind": kind,
            "cpf": cpf,
            "birth_date": _iso(birth_date),
            "details": details,
        }
        return await self._object("POST", "/privacy-requests", body=body)

    # -- waitlist (issue 15) ----------------------------------------------------------------

    async def waitlist_join(
        self,
        pid: int,
        specialty: str,
        doctor_id: int | None = None,
        before: Any = None,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """Put the patient on the waitlist of `specialty` (optionally one doctor, a slot before the
        date `before`): {id, position, created}; `created` is False when they already waited for
        it (the hub answers 200 then, 201 for a new entry). 404 `specialty_not_found` |
        `doctor_not_found` | `patient_not_found`; 409 `specialty_mismatch`."""
        body: dict[str, Any] = {"patient_id": int(pid), "specialty": specialty}
        if doctor_id is not None:
            body["doctor_id"] = int(doctor_id)
        if before is not None:
            body["before"] = _iso(before)
        if conversation_id:
            body["conversation_id"] = conversation_id
        data = await self._object("POST", "/waitlist", body=body)
        return {**data, "created": self.last_status == 201}

    async def waitlist_leave(self, entry_id: int, pid: int | None = None) -> None:
        """Take an entry off the waitlist (404 `waitlist_entry_not_found`, 409 `not_waiting`)."""
        await self._request("DELETE", f"/waitlist/{int(entry_id)}", params={"patient_id": pid})

    async def waitlist_accept(self, offer_id: int, pid: int | None = None) -> dict[str, Any]:
        """Book the slot an offer holds: the appointment (like `book`). 404 `offer_not_found`;
        409 `offer_closed` (the hold ended or the offer was answered) or `slot_taken`."""
        return await self._object("POST", f"/waitlist/offers/{int(offer_id)}/accept", body=_owner(pid))

    async def waitlist_decline(self, offer_id: int, pid: int | None = None) -> dict[str, Any]:
        """Say no to an offer ({id, status: "declined"}): the slot goes to the next patient.
        404 `offer_not_found`; 409 `offer_closed`."""
        return await self._object("POST", f"/waitlist/offers/{int(offer_id)}/decline", body=_owner(pid))
