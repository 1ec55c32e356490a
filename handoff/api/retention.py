"""Retention periods and disposal runs (LGPD), for admins and the privacy officer grant
(`handoff.domain.access`, category "retention"):

- `GET /api/privacy/retention`: every category with its period in force (days, None = keep);
- `PUT /api/privacy/retention {"policies": {"transcripts": 365, "audit": null}}`: change some
  (audit-logged; 400 with a pt-BR message on a refused period, nothing changed then);
- `GET /api/privacy/disposal-runs`: the latest runs with their counts (never content);
- `POST /api/privacy/disposal-runs`: run today's disposal now (audit-logged). Answers 200 with
  the counts when it finished within `RUN_WAIT_SECONDS`, else 202 (it goes on in the background;
  the history shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pydantic import BaseModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import error, parse_body, require_access
from handoff.services import retention

bp = Blueprint("privacy_retention", url_prefix="/api/privacy")
RUN_WAIT_SECONDS = 20.0


class PoliciesBody(BaseModel):
    """`PUT /api/privacy/retention` body: category -> days (null = keep)."""

    policies: dict[str, int | None]


@bp.get("/retention")
@require_access("view", "retention")
async def get_policies(request: Request) -> HTTPResponse:
    """The period in force of every category."""
    return json({"policies": await retention.read_policies(request.app.ctx.uow)})


@bp.put("/retention")
@require_access("change", "retention")
async def put_policies(request: Request) -> HTTPResponse:
    """Change periods; audit-logged."""
    body = parse_body(request, PoliciesBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, PoliciesBody)
    policies = await retention.update_policies(request.app.ctx.uow, request.ctx.staff, body.policies)
    return json({"policies": policies})


@bp.get("/disposal-runs")
@require_access("view", "retention")
async def get_runs(request: Request) -> HTTPResponse:
    """The latest disposal runs (counts per category)."""
    return json({"runs": await retention.list_runs(request.app.ctx.uow)})


@bp.post("/disposal-runs")
@require_access("change", "retention")
async def post_run(request: Request) -> HTTPResponse:
    """Run today's disposal now."""
    app = request.app
    job = app.ctx.runtime.disposal_job()
    task: asyncio.Task[Any] = asyncio.create_task(retention.run_now(app.ctx.uow, job, request.ctx.staff))
    background = getattr(app.ctx, "disposal_tasks", None)
    if background is None:
        background = app.ctx.disposal_tasks = set()
    background.add(task)  # kept referenced until it ends
    task.add_done_callback(background.discard)
    with contextlib.suppress(TimeoutError):
        outcome = await asyncio.wait_for(asyncio.shield(task), RUN_WAIT_SECONDS)
        if outcome.status == "skipped":
            return error(409, "running", "o descarte de hoje já está em andamento em outro servidor")
        if outcome.status == "failed":
            return error(500, "failed", "o descarte falhou; ele será retomado automaticamente")
        runs = await retention.list_runs(app.ctx.uow, limit=1)
        return json({"status": outcome.status, "disposed": outcome.disposed, "run": runs[0] if runs else None})
    return json({"status": "running"}, status=202)
