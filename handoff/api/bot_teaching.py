"""Staff API of the teaching layer (issue 11; contract in docs/CONTRACTS.md "Bot teaching").

- `GET /api/bot/review` (attendant+): what the bot did not understand, grouped, masked;
- `POST /api/bot/review/<message_id>` (attendant+): `{"intent"}` or `{"ignore": true}`, optional
  `"message_ids"` (the rest of the group);
- `GET /api/bot/intents` (attendant+), `POST /api/bot/intents` (manager/admin) → 201,
  `GET` (attendant+) / `PATCH` / `DELETE` (manager/admin) `/api/bot/intents/<name>`;
- `GET /api/bot/answers` (attendant+), `PUT|DELETE /api/bot/answers/<utter>` (manager/admin);
- `GET /api/bot/layer` (manager/admin): the layer export (JSON layer format).

The reason correction from the inbox is `POST /api/conversations/<id>/reason` (`api/inbox.py`).
Errors are `{"error": {"code", "message", …details}}` in pt-BR; a refused request changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.api.auth import require_access
from handoff.domain import bot_teaching as rules
from handoff.runtime import HubRuntime
from handoff.services.bot_teaching import BotTeaching, IntentInput
from handoff.services.staff import StaffIdentity

bp = Blueprint("bot_teaching", url_prefix="/api/bot")

_UTTER = re.compile(r"^utter_[a-z0-9_]{1,90}$")
_FIELD_PT = {"name": "nome", "reason": "motivo", "examples": "exemplos", "answer": "resposta",
             "buttons": "botões", "handoff": "encaminhamento", "override_reason": "justificativa",
             "intent": "intenção", "ignore": "ignorar", "message_ids": "mensagens", "text": "texto"}


def _error(status: int, code: str, message: str, **details: Any) -> HTTPResponse:
    return json({"error": {"code": code, "message": message, **details}}, status=status)


class ButtonIn(BaseModel):
    """A quick-reply button of a staff answer."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=40)
    payload: str = Field(min_length=1, max_length=200)


class AnswerIn(BaseModel):
    """`answer` as an object: text plus optional buttons."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=rules.MAX_ANSWER_CHARS)
    buttons: list[ButtonIn] = Field(default_factory=list, max_length=rules.MAX_BUTTONS)


class HandoffIn(BaseModel):
    """What the bot hands the conversation to: a queue and/or a skill (`specialty:cardiologia`)."""

    model_config = ConfigDict(extra="forbid")
    queue: str | None = Field(default=None, min_length=1, max_length=32)
    skill: str | None = Field(default=None, min_length=1, max_length=64)


class IntentBody(BaseModel):
    """`POST /api/bot/intents`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=24)
    examples: list[str] = Field(max_length=rules.MAX_EXAMPLES)
    answer: str | AnswerIn | None = None
    buttons: list[ButtonIn] = Field(default_factory=list, max_length=rules.MAX_BUTTONS)
    handoff: HandoffIn | None = None
    override_reason: str | None = Field(default=None, min_length=10, max_length=500)


class IntentPatch(BaseModel):
    """`PATCH /api/bot/intents/<name>`: only the fields sent change (`answer: null` removes it)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, min_length=1, max_length=24)
    examples: list[str] | None = Field(default=None, max_length=rules.MAX_EXAMPLES)
    answer: str | AnswerIn | None = None
    buttons: list[ButtonIn] | None = Field(default=None, max_length=rules.MAX_BUTTONS)
    handoff: HandoffIn | None = None
    override_reason: str | None = Field(default=None, min_length=10, max_length=500)


class LabelBody(BaseModel):
    """`POST /api/bot/review/<message_id>`."""

    model_config = ConfigDict(extra="forbid")
    intent: str | None = Field(default=None, min_length=1, max_length=64)
    ignore: bool = False
    message_ids: list[int] = Field(default_factory=list, max_length=500)
    override_reason: str | None = Field(default=None, min_length=10, max_length=500)


class AnswerBody(BaseModel):
    """`PUT /api/bot/answers/<utter>`."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=rules.MAX_ANSWER_CHARS)


def _parse(request: Request, model: type[BaseModel]) -> BaseModel | HTTPResponse:
    """A JSON body validated by `model`, or a pt-BR 400 naming the bad fields."""
    try:
        return model.model_validate_json(request.body or b"")
    except ValidationError as exc:
        fields = sorted({_FIELD_PT.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "corpo"
                         for e in exc.errors()})
        return _error(400, "invalid_body", f"campos inválidos ou ausentes: {', '.join(fields)}")


def _answer(value: str | AnswerIn | None, buttons: list[ButtonIn] | None) -> tuple[str | None, list[dict[str, str]]]:
    if isinstance(value, AnswerIn):
        return value.text, [b.model_dump() for b in value.buttons]
    return value, [b.model_dump() for b in buttons or []]


async def _teaching(request: Request) -> BotTeaching:
    ctx = request.app.ctx
    teaching: BotTeaching | None = getattr(ctx, "teaching", None)
    if teaching is None:
        runtime: HubRuntime = ctx.runtime
        config = await runtime.load_handoff()
        teaching = BotTeaching(runtime.uow, runtime.gateway, ctx.base_reason_map, ctx.simple_answers,
                               config.queue_names, ctx.settings.bot_review_confidence)
        ctx.teaching = teaching
    return teaching


def _who(request: Request) -> StaffIdentity:
    who: StaffIdentity = request.ctx.staff
    return who


# -- review -----------------------------------------------------------------------------------


@bp.get("/review")
@require_access("view", "bot_review")
async def review(request: Request) -> HTTPResponse:
    """Groups of patient messages to review (`?days=30&limit=100`), texts masked (audited)."""
    try:
        days = int(request.args.get("days", "30"))
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        return _error(400, "invalid_query", "days e limit devem ser números inteiros")
    if not 1 <= days <= 365 or not 1 <= limit <= 500:
        return _error(400, "invalid_query", "days de 1 a 365 e limit de 1 a 500")
    return json(await (await _teaching(request)).review(_who(request), days, limit))


@bp.post("/review/<message_id:int>")
@require_access("change", "bot_review")
async def label(request: Request, message_id: int) -> HTTPResponse:
    """Label a message with an existing intent, or ignore it."""
    body = _parse(request, LabelBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, LabelBody)
    result = await (await _teaching(request)).label(_who(request), message_id, body.intent, body.ignore,
                                                    body.message_ids, body.override_reason)
    return json(result)


# -- intents ----------------------------------------------------------------------------------


@bp.get("/intents")
@require_access("view", "bot_training_data")
async def list_intents(request: Request) -> HTTPResponse:
    """Every staff intent and the layer version."""
    return json(await (await _teaching(request)).list_intents())


@bp.post("/intents")
@require_access("change", "bot_training_data")
async def create_intent(request: Request) -> HTTPResponse:
    """A new staff intent → 201 (400 validation, 409 name taken, 422 red flag, 503 bot down)."""
    body = _parse(request, IntentBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, IntentBody)
    text, buttons = _answer(body.answer, body.buttons)
    data = IntentInput(name=body.name, reason=body.reason, examples=rules.clean_examples(body.examples),
                       answer_text=text, buttons=buttons,
                       handoff=body.handoff.model_dump() if body.handoff else None,
                       override_reason=body.override_reason)
    return json(await (await _teaching(request)).create_intent(_who(request), data), status=201)


@bp.get("/intents/<name:str>")
@require_access("view", "bot_training_data")
async def get_intent(request: Request, name: str) -> HTTPResponse:
    """One staff intent."""
    return json(await (await _teaching(request)).get_intent(name))


@bp.patch("/intents/<name:str>")
@require_access("change", "bot_training_data")
async def update_intent(request: Request, name: str) -> HTTPResponse:
    """Change the fields sent."""
    body = _parse(request, IntentPatch)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, IntentPatch)
    sent = body.model_fields_set - {"override_reason"}
    if not sent:
        return _error(400, "empty_patch", "nada para alterar")
    changes: dict[str, Any] = {}
    if "reason" in sent and body.reason is not None:
        changes["reason"] = body.reason
    if "examples" in sent and body.examples is not None:
        changes["examples"] = rules.clean_examples(body.examples)
    if "answer" in sent or "buttons" in sent:
        text, buttons = _answer(body.answer, body.buttons)
        if "answer" in sent:
            changes["answer_text"] = text
        if "buttons" in sent or isinstance(body.answer, AnswerIn):
            changes["buttons"] = buttons
    if "handoff" in sent:
        changes["handoff"] = body.handoff.model_dump() if body.handoff else None
    return json(await (await _teaching(request)).update_intent(_who(request), name, changes, body.override_reason))


@bp.delete("/intents/<name:str>")
@require_access("change", "bot_training_data")
async def delete_intent(request: Request, name: str) -> HTTPResponse:
    """Remove a staff intent."""
    return json(await (await _teaching(request)).delete_intent(_who(request), name))


# -- simple answers and the layer -------------------------------------------------------------


@bp.get("/answers")
@require_access("view", "bot_training_data")
async def answers(request: Request) -> HTTPResponse:
    """The simple answers staff may reword."""
    return json(await (await _teaching(request)).answers())


@bp.put("/answers/<utter:str>")
@require_access("change", "bot_training_data")
async def edit_answer(request: Request, utter: str) -> HTTPResponse:
    """Staff's text for a simple answer."""
    if not _UTTER.match(utter):
        return _error(404, "answer_not_editable", "resposta desconhecida")
    body = _parse(request, AnswerBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, AnswerBody)
    return json(await (await _teaching(request)).edit_answer(_who(request), utter, body.text))


@bp.delete("/answers/<utter:str>")
@require_access("change", "bot_training_data")
async def reset_answer(request: Request, utter: str) -> HTTPResponse:
    """Back to the bot's own text."""
    if not _UTTER.match(utter):
        return _error(404, "answer_not_editable", "resposta desconhecida")
    return json(await (await _teaching(request)).edit_answer(_who(request), utter, None))


@bp.get("/layer")
@require_access("export", "bot_training_data")
async def layer(request: Request) -> HTTPResponse:
    """The staff layer export (audited)."""
    return json(await (await _teaching(request)).export(_who(request)))
