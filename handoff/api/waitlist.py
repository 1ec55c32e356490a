"""The waitlist over HTTP (issue 15, item 3; docs/CONTRACTS.md, "Waitlist").

- `/api/clinic/waitlist…` is the bot's side (service token, or staff within their patient scope,
  like the rest of `/api/clinic`): join, leave, accept or decline an offer.
- `/api/waitlist…` is the staff side: the list (patient records: supervisors, or attendants with
  the `all_queues` grant) and the dashboard's counts (metrics).
Nothing here logs personal data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, StrictInt
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, parse_body, require_access
from handoff.api.clinic import (
    _appointment_response,
    _audit,
    _parse_when,
    _patient_scope,
    require_service_or_staff,
)
from handoff.domain import access
from handoff.domain.waitlist import EntryStatus
from handoff.services.waitlist import WaitlistService

bot_bp = Blueprint("waitlist_bot", url_prefix="/api/clinic/waitlist")
staff_bp = Blueprint("waitlist_staff", url_prefix="/api/waitlist")


def _waitlist(request: Request) -> WaitlistService:
    service: WaitlistService = request.app.ctx.waitlist
    return service


class JoinBody(BaseModel):
    """`POST /api/clinic/waitlist`."""

    patient_id: StrictInt = Field(gt=0)
    specialty: str = Field(min_length=1, max_length=64)
    doctor_id: StrictInt | None = Field(default=None, gt=0)
    before: date | None = None
    conversation_id: str | None = Field(default=None, max_length=36)


class OfferBody(BaseModel):
    """Optional body of accept/decline and leave: when `patient_id` is given, it must be theirs."""

    patient_id: StrictInt | None = Field(default=None, gt=0)


def _optional(request: Request) -> OfferBody | HTTPResponse:
    if not request.body:
        return OfferBody()
    body = parse_body(request, OfferBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, OfferBody)
    return body


async def _entry_scope(request: Request, entry_id: int) -> HTTPResponse | None:
    """Staff reach an entry only within their patient scope (unknown entries pass: 404 follows)."""
    if getattr(request.ctx, "staff", None) is None:
        return None
    patient_id = await _waitlist(request).entry_patient(entry_id)
    return await _patient_scope(request, patient_id, "waitlist_entry") if patient_id is not None else None


async def _offer_scope(request: Request, offer_id: int) -> HTTPResponse | None:
    """Staff answer an offer only within the patient's scope (unknown offers pass: 404 follows)."""
    if getattr(request.ctx, "staff", None) is None:
        return None
    patient_id = await _waitlist(request).offer_patient(offer_id)
    return await _patient_scope(request, patient_id, "offer") if patient_id is not None else None


@bot_bp.post("")
@require_service_or_staff()
async def post_join(request: Request) -> HTTPResponse:
    """Put the patient on the waitlist: 201 {id, position} (200 when they already were on it)."""
    body = parse_body(request, JoinBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, JoinBody)
    if (refused := await _patient_scope(request, body.patient_id)) is not None:
        return refused
    joined = await _waitlist(request).join(body.patient_id, body.specialty, body.doctor_id, body.before,
                                           body.conversation_id)
    await _audit(request, "clinic.waitlist.join", f"waitlist_entry:{joined['id']}", body.patient_id)
    return json({"id": joined["id"], "position": joined["position"]}, status=201 if joined["created"] else 200)


@bot_bp.delete("/<entry_id:int>")
@require_service_or_staff()
async def delete_entry(request: Request, entry_id: int) -> HTTPResponse:
    """Leave the waitlist (`?patient_id=` names the patient who must own the entry)."""
    if (refused := await _entry_scope(request, entry_id)) is not None:
        return refused
    raw = request.args.get("patient_id")
    if raw is not None and not raw.isdigit():
        return error(400, "invalid_patient_id", "patient_id must be a number")
    await _waitlist(request).leave(entry_id, int(raw) if raw else None)
    await _audit(request, "clinic.waitlist.leave", f"waitlist_entry:{entry_id}")
    return HTTPResponse(status=204)


@bot_bp.post("/offers/<offer_id:int>/accept")
@require_service_or_staff()
async def post_accept(request: Request, offer_id: int) -> HTTPResponse:
    """Book the held slot for the patient: 201 with the appointment (409 `offer_closed` after the
    hold or an earlier answer; 409 `slot_taken` when it could not be booked)."""
    body = _optional(request)
    if isinstance(body, HTTPResponse):
        return body
    if (refused := await _offer_scope(request, offer_id)) is not None:
        return refused
    appt = await _waitlist(request).accept(offer_id, body.patient_id)
    await _audit(request, "clinic.waitlist.accept", f"appointment:{appt.id}", appt.patient_id)
    return await _appointment_response(request, appt, status=201)


@bot_bp.post("/offers/<offer_id:int>/decline")
@require_service_or_staff()
async def post_decline(request: Request, offer_id: int) -> HTTPResponse:
    """The patient does not want the slot: it goes to the next patient on the list."""
    body = _optional(request)
    if isinstance(body, HTTPResponse):
        return body
    if (refused := await _offer_scope(request, offer_id)) is not None:
        return refused
    await _waitlist(request).decline(offer_id, body.patient_id)
    await _audit(request, "clinic.waitlist.decline", f"waitlist_offer:{offer_id}")
    return json({"id": offer_id, "status": "declined"})


@staff_bp.get("")
@require_access("view", "patient_record")
async def get_entries(request: Request) -> HTTPResponse:
    """The waitlist (`?status=waiting|booked|left`), oldest first: every patient's entries, so only
    for staff who see every queue."""
    who = request.ctx.staff
    if not access.sees_all_queues(who):
        return error(403, "forbidden", "your role cannot do this")
    status = request.args.get("status")
    if status is not None and status not in {s.value for s in EntryStatus}:
        return error(400, "invalid_status", "status must be waiting, booked or left")
    items = await _waitlist(request).entries(status)
    await _audit(request, "waitlist.list", "waitlist")
    return json({"entries": items})


@staff_bp.get("/stats")
@require_access("view", "metrics")
async def get_stats(request: Request) -> HTTPResponse:
    """{offered, accepted, expired, declined} of the offers made in [from, to) (default: 30 days)."""
    end = _parse_when(request.args.get("to"), "to")
    start = _parse_when(request.args.get("from"), "from")
    service = _waitlist(request)
    end = end or service.now()
    start = start or end - timedelta(days=30)
    if end <= start:
        return error(400, "invalid_window", "to must be after from")
    counts: dict[str, Any] = await service.stats(start, end)
    return json({**counts, "from": _iso(start), "to": _iso(end)})


def _iso(moment: datetime) -> str:
    return moment.isoformat()
