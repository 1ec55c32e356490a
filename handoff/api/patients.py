"""Staff API on patient records: `POST /api/patients/merge {"keep_id", "merge_id"}`."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, parse_body, require_access
from handoff.services import patients

bp = Blueprint("patients", url_prefix="/api/patients")
log = logging.getLogger(__name__)


class MergeBody(BaseModel):
    """Two records of the same person: `merge_id` is folded into `keep_id`."""

    keep_id: int = Field(gt=0)
    merge_id: int = Field(gt=0)


@bp.post("/merge")
@require_access("change", "patient_record")
async def merge(request: Request) -> HTTPResponse:
    """Move identities, conversations, appointments, exams and bills of `merge_id` to `keep_id`
    (its consents count through the link left on the merged record). The merge is recorded
    (`patient_merges`, a `patient_merged` event on every moved conversation) and audit-logged."""
    body = parse_body(request, MergeBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, MergeBody)
    # Attendants merge only records they see (a conversation of each in their scope); supervisors any.
    runtime = request.app.ctx.runtime
    await runtime.load_handoff()
    for patient_id in (body.keep_id, body.merge_id):
        if not await runtime.inbox.can_view_patient(request.ctx.staff, patient_id):
            return error(404, "patient_not_found", "paciente não encontrado")
    result = await patients.merge(request.app.ctx.uow, request.ctx.staff, body.keep_id, body.merge_id)
    log.info("patients merged: %d into %d by staff %d", body.merge_id, body.keep_id, request.ctx.staff.id)
    return json(result)
