"""The audit viewer's API (`handoff/services/audit.py`): admins and the privacy officer.

- `GET /api/audit?patient_id=&staff_id=&action=&from=&to=&before=&limit=` — one page, newest
  first, `{"items": [...], "next_before": id | null}` (audited: `audit.view`);
- `GET /api/audit.csv?…&reason=` — the filtered log as a streamed CSV download; the reason
  (3–300 characters) is required and the export is audited (`audit.export`).

Who: `access.can(staff, "view" | "export", "audit")` (role admin or grant privacy_officer).
"""

from __future__ import annotations

from datetime import datetime

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, reason_of, require_access
from handoff.domain import access
from handoff.services import audit

bp = Blueprint("audit", url_prefix="/api")


@bp.get("/audit")
@require_access("view", "audit")
async def audit_page(request: Request) -> HTTPResponse:
    """A page of the audit log (filters in the query string)."""
    query = audit.parse_query(request.args)
    result = await audit.page(request.app.ctx.uow, request.ctx.staff, query)
    return json(result, headers={"Cache-Control": "no-store"})


@bp.get("/audit.csv")
@require_access("export", "audit")
async def audit_csv(request: Request) -> HTTPResponse | None:
    """The filtered audit log as CSV (Brazilian Excel), streamed; needs `reason`."""
    query = audit.parse_query(request.args)
    reason = reason_of(request)
    if reason is None:
        return error(400, "reason_required", access.REASON_REQUIRED)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    response = await request.respond(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="auditoria-{stamp}.csv"',
                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    async for chunk in audit.export_csv(request.app.ctx.uow, request.ctx.staff, query, reason):
        await response.send(chunk)
    await response.eof()
    return None
