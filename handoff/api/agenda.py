"""Staff API of the clinic's external agenda (issue 14): which calendar/Schedule each doctor uses,
the sync state, and a sync pass on demand.

GET  /api/agenda                      backend and doctors with their agenda_ref and last sync
PUT  /api/agenda/doctors/<id>         {"agenda_ref": "<calendar URL | Schedule id>" | null}
POST /api/agenda/sync                 one sync + retry pass now; answers its counts
"""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, parse_body, require_access
from handoff.services import staff
from handoff.services.clinic import ClinicService

bp = Blueprint("agenda", url_prefix="/api/agenda")


class AgendaRefBody(BaseModel):
    """PUT /api/agenda/doctors/<id>."""

    agenda_ref: str | None = Field(default=None, max_length=500)


def _clinic(request: Request) -> ClinicService:
    clinic: ClinicService = request.app.ctx.clinic
    return clinic


@bp.get("")
@require_access("view", "integrations")
async def get_agenda(request: Request) -> HTTPResponse:
    """The agenda backend and, per doctor, where their agenda lives."""
    clinic = _clinic(request)
    doctors = await clinic.directory.doctors(None)
    refs = await clinic.mirror.agenda_refs([d.id for d in doctors]) if clinic.mirror is not None else {}
    return json({
        "backend": clinic.agenda.system if clinic.agenda is not None else "builtin",
        "doctors": [{"id": d.id, "name": d.name, "specialty": d.specialty, "agenda_ref": refs.get(d.id)}
                    for d in doctors],
    }, headers={"Cache-Control": "no-store"})


@bp.put("/doctors/<doctor_id:int>")
@require_access("change", "integrations")
async def put_doctor_agenda(request: Request, doctor_id: int) -> HTTPResponse:
    """Point a doctor at a calendar/Schedule of the clinic's agenda (null: built-in agenda)."""
    clinic = _clinic(request)
    if clinic.mirror is None:
        return error(409, "agenda_builtin", "AGENDA_BACKEND=builtin: there is no external agenda to point at")
    body = parse_body(request, AgendaRefBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, AgendaRefBody)
    ref = (body.agenda_ref or "").strip() or None
    if not await clinic.mirror.set_agenda_ref(doctor_id, ref):
        return error(404, "doctor_not_found", "doctor not found")
    await staff.audit(request.app.ctx.uow, request.ctx.staff.id, "agenda_ref_changed", f"doctor:{doctor_id}")
    return json({"id": doctor_id, "agenda_ref": ref})


@bp.post("/sync")
@require_access("change", "integrations")
async def post_sync(request: Request) -> HTTPResponse:
    """Read the reception's changes now (the worker also does it every AGENDA_SYNC_INTERVAL_SECONDS)."""
    worker = getattr(request.app.ctx, "agenda_sync", None)
    if worker is None:
        return error(409, "agenda_builtin", "AGENDA_BACKEND=builtin: nothing to sync")
    report = await worker.run_once()
    return json(asdict(report))
