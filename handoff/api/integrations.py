"""The delivery log of interaction records (issue 14), for managers and admins
(`handoff.domain.access` category "integrations"):

- `GET /api/integrations/deliveries[?status=pending|sending|delivered|dead&before=<id>]`: the
  newest deliveries (status, attempts, last HTTP status, next attempt, target, conversation and
  the record's labels; never message text), counts per status and the configured targets;
- `POST /api/integrations/deliveries/<id>/replay`: send that delivery again (audit-logged;
  409 while it is being sent; cookie requests need `X-Requested-With: atende`, like every staff POST).
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, require_access
from handoff.services import interactions

bp = Blueprint("integrations_api", url_prefix="/api/integrations")


@bp.get("/deliveries")
@require_access("view", "integrations")
async def get_deliveries(request: Request) -> HTTPResponse:
    """The delivery log, newest first."""
    status = request.args.get("status") or None
    before = request.args.get("before")
    if before is not None and not before.isdigit():
        return error(400, "invalid_before", "before deve ser um número")
    data = await interactions.list_deliveries(request.app.ctx.uow, request.app.ctx.settings, status=status,
                                              before_id=int(before) if before else None)
    return json(data)


@bp.post("/deliveries/<delivery_id:int>/replay")
@require_access("change", "integrations")
async def post_replay(request: Request, delivery_id: int) -> HTTPResponse:
    """Queue the delivery again at once (a fresh count of attempts)."""
    view = await interactions.replay(request.app.ctx.uow, request.ctx.staff, delivery_id)
    register = getattr(request.app.ctx.runtime, "interactions", None)
    if register is not None:
        register.wake()  # this process at once; the others through the bus event
    return json({"delivery": view})
