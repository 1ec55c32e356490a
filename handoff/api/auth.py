"""Staff login/logout/me and the `require_staff` guard every staff endpoint uses.

Staff authenticate with a bearer token (API clients) or the HttpOnly session cookie
`atende_session` set by `POST /api/auth/login` (the web app). Both are the same stored token
(SHA-256 digest in `staff_tokens`). Cookie requests that change state must carry
`X-Requested-With: atende` or come from this hub's origin (CSRF, see `csrf_ok`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from handoff.domain import access
from handoff.services import staff
from handoff.services.login_throttle import LoginLocked, ThrottlePolicy

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


SESSION_COOKIE = "atende_session"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "atende"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def credentials(request: Request) -> tuple[str, bool]:
    """The staff token of a request and whether it came from the session cookie.

    A bearer header wins over the cookie; `?token=` is accepted only by the staff WebSocket.
    """
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return (request.cookies.get(SESSION_COOKIE) or "").strip(), True


def same_origin(request: Request) -> bool:
    """True when the request's Origin (or Referer) is this hub (its Host or PUBLIC_BASE_URL)."""
    origin = request.headers.get("origin") or ""
    if not origin:
        referer = request.headers.get("referer") or ""
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    if not origin or origin == "null":
        return False
    public = urlsplit(request.app.ctx.settings.public_base_url)
    # A WebSocket upgrade arrives with request.scheme "ws"/"wss" while the page's Origin is
    # "http(s)://": compare against the HTTP scheme the page was served with.
    http_scheme = {"ws": "http", "wss": "https"}.get(request.scheme, request.scheme)
    allowed = {f"{public.scheme}://{public.netloc}", f"{http_scheme}://{request.host}"}
    return origin.rstrip("/") in allowed


def csrf_ok(request: Request) -> bool:
    """Cookie-authenticated unsafe requests must prove they come from our pages.

    Either the header ``X-Requested-With: atende`` (a cross-site form cannot set it, and a
    cross-site fetch with it needs a CORS preflight the hub never grants) or an Origin/Referer
    of this hub. Bearer-token requests are not exposed to CSRF (browsers never add the header).
    """
    if request.method.upper() in _SAFE_METHODS:
        return True
    if request.headers.get(CSRF_HEADER, "").lower() == CSRF_VALUE:
        return True
    return same_origin(request)


def require_staff(*roles: str) -> Callable[..., Any]:
    """Decorator: 401 without a valid bearer token or session cookie, 403 when the role is not
    allowed (or a cookie request fails the CSRF check). Sets `request.ctx.staff` and
    `request.ctx.staff_token`."""

    def decorator(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            token, via_cookie = credentials(request)
            who = await staff.identify(request.app.ctx.uow, token) if token else None
            if who is None:
                return error(401, "unauthorized", "missing or invalid token")
            if via_cookie and not csrf_ok(request):
                return error(403, "csrf", "send the header X-Requested-With: atende")
            if roles and who.role not in roles:
                return error(403, "forbidden", "your role cannot do this")
            request.ctx.staff = who
            request.ctx.staff_token = token
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorator


def require_access(action: str, category: str) -> Callable[..., Any]:
    """Decorator: like `require_staff`, with the access matrix deciding (`handoff.domain.access.can`:
    role plus grants); 403 `forbidden` when the matrix refuses."""

    def decorator(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        @wraps(handler)
        async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            if not access.can(request.ctx.staff, action, category):
                return error(403, "forbidden", "your role cannot do this")
            return await handler(request, *args, **kwargs)

        guarded: Callable[..., Awaitable[HTTPResponse]] = require_staff()(checked)
        return guarded

    return decorator


def reason_of(request: Request, body: Any = None) -> str | None:
    """The `reason` a request carries (`?reason=` or a JSON body field), None when absent.
    Raises `access.ReasonError` when present but not 3–300 characters."""
    raw = request.args.get("reason")
    if raw is None and isinstance(body, dict):
        raw = body.get("reason")
    if raw is None:
        return None
    return access.clean_reason(raw)


def client_address(request: Request) -> str:
    """The client's address: the socket peer, or the X-Forwarded-For entry added by the trusted
    proxies when TRUSTED_PROXY_COUNT says there are some (Sanic's PROXIES_COUNT)."""
    return request.remote_addr or request.ip or "unknown"


def throttle_policy(settings: Any) -> ThrottlePolicy:
    """The login limits from the settings."""
    return ThrottlePolicy(email_max_failures=settings.login_max_failures_per_email,
                          ip_max_failures=settings.login_max_failures_per_ip,
                          window_seconds=settings.login_window_seconds, lock_seconds=settings.login_lock_seconds)


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    """Exchange e-mail and password for a bearer token."""
    body = parse_body(request, LoginBody)
    if isinstance(body, HTTPResponse):
        return body
    assert isinstance(body, LoginBody)
    settings = request.app.ctx.settings
    try:
        token = await staff.login(request.app.ctx.uow, body.email, body.password, settings.token_ttl_hours,
                                  client_ip=client_address(request), policy=throttle_policy(settings))
    except LoginLocked as locked:
        # The same answer for existing and unknown e-mails (both are counted and locked alike).
        minutes = max(1, (locked.retry_after + 59) // 60)
        response = error(429, "too_many_attempts",
                         f"muitas tentativas de entrada; tente novamente em {minutes} min")
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    if token is None:
        return error(401, "bad_credentials", "e-mail ou senha inválidos")
    response = json({"token": token, "expires_in": settings.token_ttl_hours * 3600})
    # The web app's session: HttpOnly (scripts cannot read it), SameSite=Lax, Secure over HTTPS.
    response.add_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="Lax",
                        secure=settings.public_base_url.startswith("https"),
                        max_age=settings.token_ttl_hours * 3600)
    return response


@bp.post("/logout")
@require_staff()
async def logout(request: Request) -> HTTPResponse:
    """Revoke the token in use (bearer or cookie) and clear the session cookie."""
    await staff.revoke(request.app.ctx.uow, request.ctx.staff_token)
    response = json({"ok": True})
    https = request.app.ctx.settings.public_base_url.startswith("https")
    response.cookies.delete_cookie(SESSION_COOKIE, path="/", secure=https)
    return response


@bp.get("/me")
@require_staff()
async def me(request: Request) -> HTTPResponse:
    """Who is signed in: profile, role, queues, skills, capacity and presence."""
    runtime = request.app.ctx.runtime
    await runtime.load_handoff()
    return json(await runtime.inbox.me(request.ctx.staff))
