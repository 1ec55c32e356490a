"""Security headers on every HTML response, in one place (issue 13).

A response middleware adds, unless the handler already set them (the staff pages send STAFF_CSP,
attachments a `sandbox` policy):

- `Content-Security-Policy`: scripts and styles only from the hub itself, no inline script, no
  inline event handler, no plug-ins, the page cannot be framed;
- `X-Content-Type-Options: nosniff` (on every response, not only HTML), `Referrer-Policy` and
  `X-Frame-Options: DENY` (older browsers' frame-ancestors).

Pages keep their JavaScript and CSS in `web/static/`; JSON data blocks
(`<script type="application/json">`) are allowed because a CSP never executes them.
"""

from __future__ import annotations

from typing import Any

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HTML_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def add_security_headers(response: BaseHTTPResponse) -> None:
    """Fill in the headers a response lacks (HTML: all of HTML_HEADERS; others: nosniff)."""
    headers = response.headers
    content_type = (response.content_type or headers.get("content-type") or "").lower()
    wanted = HTML_HEADERS if content_type.startswith("text/html") else {"X-Content-Type-Options": "nosniff"}
    for name, value in wanted.items():
        if name not in headers:
            headers[name] = value


async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
    """The response middleware."""
    if response is not None:
        add_security_headers(response)


def install(app: Sanic[Any, Any]) -> None:
    """Register the response middleware on `app`."""
    app.register_middleware(security_headers, "response")
