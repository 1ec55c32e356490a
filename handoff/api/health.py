"""`GET /healthz`: ready only when the database, the bus and the bot are."""

from __future__ import annotations

import asyncio
import json as json_lib
from pathlib import Path
from typing import Any

import httpx
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

bp = Blueprint("health")


def _supervisor(path: Path) -> Any:
    """The supervisor's state file, or why it cannot be read."""
    try:
        return json_lib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"error": type(exc).__name__}


@bp.get("/healthz")
async def healthz(request: Request) -> HTTPResponse:
    """200 with every check ok, else 503 naming what is missing."""
    ctx = request.app.ctx

    async def database() -> str:
        await ctx.db.ping()
        return "ok"

    async def bus() -> str:
        await ctx.bus.ping()
        return "ok"

    async def bot() -> str:
        status = await ctx.gateway.status()
        return "ok" if status.get("model_file") or status.get("model_id") else "no model loaded"

    async def actions() -> str:
        # ready when at least one action server answers (each Rasa replica has its own)
        async with httpx.AsyncClient(timeout=3) as client:
            results = await asyncio.gather(*(client.get(u) for u in ctx.settings.actions_health_urls),
                                           return_exceptions=True)
        codes = [r.status_code if isinstance(r, httpx.Response) else None for r in results]
        if any(c == 200 for c in codes):
            return "ok"
        code = next((c for c in codes if c is not None), None)
        return f"status {code}" if code is not None else "unavailable (ConnectError)"

    names = ("database", "bus", "bot", "actions")
    results = await asyncio.gather(
        *(asyncio.wait_for(check(), 5) for check in (database, bus, bot, actions)), return_exceptions=True
    )
    checks = {
        name: (r if isinstance(r, str) else f"unavailable ({type(r).__name__})")
        for name, r in zip(names, results, strict=True)
    }
    ok = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks,
                            "bot_replicas": ctx.gateway.replicas_view()}
    if ctx.settings.supervisor_status_file:  # `make run`'s supervisor: children restarted after a crash
        body["supervisor"] = _supervisor(Path(ctx.settings.supervisor_status_file))
    models = getattr(ctx, "bot_models", None)
    if models is not None:  # the deployed registry version (id null = the base model of models/)
        try:
            body["bot_model"] = await asyncio.wait_for(models.deployed(), 5)
        except Exception:  # noqa: BLE001  (the database check already says what is wrong)
            body["bot_model"] = None
    return json(body, status=200 if ok else 503)
