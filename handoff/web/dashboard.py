"""The manager dashboard page (`/dashboard`) and its script and stylesheet.

The page needs a staff session (the `atende_session` cookie set by `POST /api/auth/login`, or
a bearer token): without one it redirects to `/login`; attendants get a 403 page. Its data
comes from `GET /api/metrics`; it refreshes on staff WebSocket events (`/api/staff/ws`) or,
when the socket is unavailable, every 15 seconds.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff.web.pages import CSS, JS, STAFF_CSP, asset, may_view, staff_page

bp = Blueprint("dashboard_page")

_NO_STORE = {"Cache-Control": "no-store", "Content-Security-Policy": STAFF_CSP, "X-Content-Type-Options": "nosniff",
             "Referrer-Policy": "same-origin"}

@bp.get("/dashboard")
async def dashboard(request: Request) -> HTTPResponse:
    """The dashboard for managers and admins; `/login` without a session."""
    return await staff_page(request, "dashboard.html", allowed=may_view("metrics"),
                            stylesheet="/dashboard/dashboard.css", body_class="dash", testid="dashboard-forbidden",
                            message="O painel do gestor é exclusivo para gestores e administradores.",
                            headers=_NO_STORE)


@bp.get("/dashboard/dashboard.js")
async def dashboard_js(request: Request) -> HTTPResponse:
    """The page's script (charts are hand-drawn SVG)."""
    return await asset("dashboard.js", JS, {"Cache-Control": "no-cache"})


@bp.get("/dashboard/dashboard.css")
async def dashboard_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("dashboard.css", CSS, {"Cache-Control": "no-cache"})
