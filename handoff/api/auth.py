"""Staff login and the `require_staff` guard every staff endpoint uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.services import staff

bp = Blueprint("auth", url_prefix="/api/auth")


class LoginBody(BaseModel):
    """`POST /api/auth/login` body."""

    email: str
    password: str


def error(status: int, code: str, message: str) -> HTTPResponse:
    """Uniform JSON error body: `{"error": {"code", "message"}}`."""
    return json({"error": {"code": code, "message": message}}, status=status)


def parse_body(request: Request, model: type[BaseModel]) -> BaseModel | HTTPResponse:
    """Validate a JSON body; a clear 400 on anything malformed."""
    try:
        return model.model_validate_json(request.body or b"")
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()]
        return error(400, "invalid_body", f"invalid or missing fields: {', '.join(fields)}")


def require_staff(*roles: str) -> Callable[..., Any]:
    """Decorator: 401 without a valid bearer token, 403 when the role is not allowed."""

    def decorator(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            header = request.headers.get("authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            who = await staff.identify(request.app.ctx.uow, token) if token else None
            if who is None:
                return error(401, "unauthorized", "missing or invalid token")
            if roles and who.role not in roles:
                return error(403, "forbidden", "your role cannot do this")
            request.ctx.staff = who
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorator


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    """Exchange e-mail and password for a bearer token."""
    body = parse_body(request, LoginBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, LoginBody)
    settings = request.app.ctx.settings
    token = await staff.login(request.app.ctx.uow, body.email, body.password, settings.token_ttl_hours)
    if token is None:
        return error(401, "bad_credentials", "e-mail ou senha inválidos")
    return json({"token": token, "expires_in": settings.token_ttl_hours * 3600})
