"""`POST /api/triage`: what reason the bot gives a text (staff and tests)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.adapters.rasa import BotUnavailable
from handoff.api.auth import error, parse_body, require_staff
from handoff.domain.triage import reason_for

bp = Blueprint("triage", url_prefix="/api")


class TriageBody(BaseModel):
    """Body of `POST /api/triage`."""

    text: str = Field(min_length=1, max_length=2000)


@bp.post("/triage")
@require_staff()
async def triage(request: Request) -> HTTPResponse:
    """Classify one text into `{reason, intent, confidence}`."""
    body = parse_body(request, TriageBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, TriageBody)
    try:
        parsed = await request.app.ctx.gateway.parse(body.text)
    except BotUnavailable:
        return error(503, "bot_unavailable", "the bot is not answering")
    intent = (parsed.get("intent") or {}).get("name")
    confidence = (parsed.get("intent") or {}).get("confidence")
    return json({"reason": reason_for(intent, request.app.ctx.reason_map), "intent": intent,
                 "confidence": confidence})
