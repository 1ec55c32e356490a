"""Staff API of training runs, the model registry, deploy and rollback (issue 11; contract in
docs/CONTRACTS.md "Bot teaching — training, registry, deploy").

- `POST /api/bot/models` (manager/admin) → 202 `{"id", "status", "queued_behind"}`: a training run
  of the current staff layer (queued behind an active one);
- `GET /api/bot/models` (manager/admin) → `{"deployed", "models": [...]}`, `GET /api/bot/models/<id>`;
- `POST /api/bot/models/<id>/deploy` (manager/admin) `{"override_reason"?}` → 200; 409 gate refused /
  failed / not evaluated; 502 Rasa did not load it (nothing changed);
- `DELETE /api/bot/models/<id>` (manager/admin) → 200: cancels a queued run (409 `not_queued` otherwise);
- `POST /api/bot/rollback` (manager/admin) → 200 back to the version served before.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from handoff.api.auth import require_access
from handoff.api.bot_teaching import _error, _teaching, _who
from handoff.services.bot_models import BotModels, TrainingConfig
from handoff.services.bot_teaching import BotTeaching
from handoff.settings import REPO_ROOT

bp = Blueprint("bot_models", url_prefix="/api/bot")


class DeployBody(BaseModel):
    """`POST /api/bot/models/<id>/deploy`."""

    model_config = ConfigDict(extra="forbid")
    override_reason: str | None = Field(default=None, min_length=10, max_length=500)


def build(app: Sanic[Any, Any]) -> BotModels:
    """The service (one per hub process), on `app.ctx.bot_models`."""
    existing: BotModels | None = getattr(app.ctx, "bot_models", None)
    if existing is not None:
        return existing
    s = app.ctx.settings
    config = TrainingConfig.from_settings(s.bot_python, s.bot_root, s.bot_models_dir, REPO_ROOT,
                                          s.bot_deploy_timeout_seconds)
    holder = SimpleNamespace(app=app)  # `_teaching` reads only `request.app`

    async def teaching() -> BotTeaching:
        return await _teaching(holder)  # type: ignore[arg-type]

    service = BotModels(app.ctx.runtime.uow, app.ctx.runtime.gateway, teaching, config,
                        reason_maps=(app.ctx.runtime.reason_map, app.ctx.reason_map))
    app.ctx.bot_models = service
    return service


@bp.post("/models")
@require_access("change", "bot_models")
async def train(request: Request) -> HTTPResponse:
    """Start (or queue) a training run → 202 {"id"}."""
    return json(await build(request.app).request(_who(request)), status=202)


@bp.get("/models")
@require_access("view", "bot_models")
async def models(request: Request) -> HTTPResponse:
    """The registry, newest first."""
    return json(await build(request.app).list())


@bp.get("/models/<model_id:int>")
@require_access("view", "bot_models")
async def model(request: Request, model_id: int) -> HTTPResponse:
    """One run: status, progress, evaluation, gate."""
    return json(await build(request.app).get(model_id))


@bp.delete("/models/<model_id:int>")
@require_access("change", "bot_models")
async def cancel(request: Request, model_id: int) -> HTTPResponse:
    """Cancel a queued run (409 once it has started)."""
    return json(await build(request.app).cancel(_who(request), model_id))


@bp.post("/models/<model_id:int>/deploy")
@require_access("change", "bot_models")
async def deploy(request: Request, model_id: int) -> HTTPResponse:
    """Load the model into Rasa (PUT /model) and mark it deployed."""
    try:
        body = DeployBody.model_validate_json(request.body or b"{}")
    except ValidationError:
        return _error(400, "invalid_body", "campos inválidos: justificativa (10 a 500 caracteres)")
    return json(await build(request.app).deploy(_who(request), model_id, body.override_reason))


@bp.post("/rollback")
@require_access("change", "bot_models")
async def rollback(request: Request) -> HTTPResponse:
    """Back to the version served before the deployed one."""
    return json(await build(request.app).rollback(_who(request)))
