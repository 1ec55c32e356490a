"""The manager dashboard page (`/dashboard`) and its script and stylesheet.

The page needs a staff session (the `atende_session` cookie set by `POST /api/auth/login`, or
a bearer token): without one it redirects to `/login`; attendants get a 403 page. Its data
comes from `GET /api/metrics`; it refreshes on staff WebSocket events (`/api/staff/ws`) or,
when the socket is unavailable, every 15 seconds.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, html, redirect

from handoff.api.auth import credentials
from handoff.services import staff

WEB = Path(__file__).resolve().parent
ROLES = ("manager", "admin")
bp = Blueprint("dashboard_page")

# Everything is served by the hub itself: no CDN, no inline script or style.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_NO_STORE = {"Cache-Control": "no-store", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
             "Referrer-Policy": "same-origin"}

FORBIDDEN_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Acesso restrito — atende</title>
<link rel="stylesheet" href="/dashboard/dashboard.css"></head>
<body class="dash"><main class="forbidden"><h1>Acesso restrito</h1>
<p>O painel do gestor é exclusivo para gestores e administradores.</p>
<p><a href="/inbox">Ir para a caixa de entrada</a></p></main></body></html>
"""


@bp.get("/dashboard")
async def dashboard(request: Request) -> HTTPResponse:
    """The dashboard for managers and admins; `/login` without a session."""
    token, _ = credentials(request)
    who = await staff.identify(request.app.ctx.uow, token) if token else None
    if who is None:
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        return redirect(f"/login?next={quote(target, safe='')}", headers={"Cache-Control": "no-store"})
    if who.role not in ROLES:
        return html(FORBIDDEN_PAGE, status=403, headers=_NO_STORE)
    return await file(WEB / "templates" / "dashboard.html", mime_type="text/html; charset=utf-8", headers=_NO_STORE)


@bp.get("/dashboard/dashboard.js")
async def dashboard_js(request: Request) -> HTTPResponse:
    """The page's script (charts are hand-drawn SVG)."""
    return await file(WEB / "static" / "dashboard.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache"})


@bp.get("/dashboard/dashboard.css")
async def dashboard_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await file(WEB / "static" / "dashboard.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache"})
