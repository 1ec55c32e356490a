"""The one place a use case's refusal becomes an HTTP answer.

`STATUS` maps each kind of `handoff.domain.errors` to its status; `render` writes the body every
route answers with, `{"error": {"code", "message" (pt-BR), **extra}}`; `install` registers the
handler on the app (create_app), so routes raise and never translate.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from handoff.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    UpstreamFailed,
)

log = logging.getLogger("atende")

STATUS: dict[type[DomainError], int] = {
    Invalid: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
    UpstreamFailed: 502,
    Unavailable: 503,
}


def status_of(exc: DomainError) -> int:
    """The HTTP status of `exc`'s kind (its most specific kind wins: Unprocessable over Invalid).
    A DomainError of no kind is a programming error: 500."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def render(exc: DomainError) -> HTTPResponse:
    """`{"error": {"code", "message", **extra}}` with the status of the error's kind."""
    status = status_of(exc)
    if status >= 500 and not isinstance(exc, Unavailable):
        log.error("domain error of no kind: %s (%s)", type(exc).__name__, exc.code)
    return json({"error": {"code": exc.code, "message": exc.message, **exc.extra}}, status=status)


async def domain_error(request: Request, exc: DomainError) -> HTTPResponse:
    """The app-wide handler of every refusal a use case raises."""
    return render(exc)


def install(app: Sanic[Any, Any]) -> None:
    """Register `domain_error` for DomainError and every subclass, on every route."""
    app.exception(DomainError)(domain_error)
