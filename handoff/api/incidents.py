"""The incident register (LGPD Art. 48), for admins and the privacy officer grant
(`handoff.domain.access`, category "incidents"):

- `GET /api/privacy/incidents`: every incident with its ANPD deadline and `overdue`;
- `POST /api/privacy/incidents {"title", "description", "severity", "data_categories",
  "detected_at"?, "occurred_at"?, "subjects_estimate"?, "measures"?}`: record one (201);
- `PATCH /api/privacy/incidents/<id> {"status"?, "anpd_notified_at"?, "subjects_notified_at"?,
  "measures"?, "subjects_estimate"?}`: open -> notified -> closed, notice times (ISO 8601 with a
  zone). Creation and changes are audit-logged.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import parse_body, require_access
from handoff.services import incidents

bp = Blueprint("privacy_incidents", url_prefix="/api/privacy")


class CreateBody(BaseModel):
    """A new incident."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    severity: str = Field(pattern="^(low|medium|high)$")
    data_categories: list[str] = Field(default_factory=list, max_length=20)
    detected_at: datetime | None = None
    occurred_at: datetime | None = None
    subjects_estimate: int | None = Field(default=None, ge=0)
    measures: str | None = Field(default=None, max_length=20_000)


class PatchBody(BaseModel):
    """A change of an incident."""

    status: str | None = Field(default=None, pattern="^(open|notified|closed)$")
    anpd_notified_at: datetime | None = None
    subjects_notified_at: datetime | None = None
    measures: str | None = Field(default=None, max_length=20_000)
    subjects_estimate: int | None = Field(default=None, ge=0)


@bp.get("/incidents")
@require_access("view", "incidents")
async def list_incidents(request: Request) -> HTTPResponse:
    """The register, newest first."""
    return json({"incidents": await incidents.list_incidents(request.app.ctx.uow)})


@bp.post("/incidents")
@require_access("change", "incidents")
async def create_incident(request: Request) -> HTTPResponse:
    """Record an incident."""
    body = parse_body(request, CreateBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, CreateBody)
    new = incidents.NewIncident(
        title=body.title, description=body.description, severity=body.severity,
        data_categories=[c[:80] for c in body.data_categories], detected_at=body.detected_at,
        occurred_at=body.occurred_at, subjects_estimate=body.subjects_estimate, measures=body.measures)
    created = await incidents.create(request.app.ctx.uow, request.ctx.staff, new)
    return json(created, status=201)


@bp.patch("/incidents/<incident_id:int>")
@require_access("change", "incidents")
async def patch_incident(request: Request, incident_id: int) -> HTTPResponse:
    """Change the status or record notice times."""
    body = parse_body(request, PatchBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, PatchBody)
    changes = incidents.IncidentChanges(status=body.status, anpd_notified_at=body.anpd_notified_at,
                                        subjects_notified_at=body.subjects_notified_at, measures=body.measures,
                                        subjects_estimate=body.subjects_estimate)
    updated = await incidents.update(request.app.ctx.uow, request.ctx.staff, incident_id, changes)
    return json(updated)
