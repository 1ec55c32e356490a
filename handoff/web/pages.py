"""Demo clinic page and the website chat widget's assets."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

WEB = Path(__file__).resolve().parent
bp = Blueprint("pages")


@bp.get("/")
async def index(request: Request) -> HTTPResponse:
    """The demo clinic website with the chat widget."""
    return await file(WEB / "templates" / "index.html", mime_type="text/html; charset=utf-8")


@bp.get("/webchat/widget.js")
async def widget_js(request: Request) -> HTTPResponse:
    """The embeddable widget (one script tag)."""
    return await file(WEB / "static" / "widget.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


@bp.get("/webchat/widget.css")
async def widget_css(request: Request) -> HTTPResponse:
    """The widget's stylesheet (injected by widget.js)."""
    return await file(WEB / "static" / "widget.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


# -- staff pages: /login and the attendant inbox /inbox ------------------------------------------
# (appended section: other pages live in their own modules, e.g. handoff/web/dashboard.py)

from urllib.parse import quote  # noqa: E402

from sanic.response import redirect  # noqa: E402

from handoff.api.auth import credentials  # noqa: E402
from handoff.services import staff  # noqa: E402

# Everything is served by the hub itself: no CDN, no inline script or style (the inbox's settings
# are a JSON data block, which a CSP does not execute).
STAFF_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
STAFF_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": STAFF_CSP,
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


@bp.get("/login")
async def login_page(request: Request) -> HTTPResponse:
    """Staff sign-in (posts to `POST /api/auth/login`, then goes to `?next=` or /inbox)."""
    return await file(WEB / "templates" / "login.html", mime_type="text/html; charset=utf-8", headers=STAFF_HEADERS)


@bp.get("/inbox")
async def inbox_page(request: Request) -> HTTPResponse:
    """The attendant inbox; without a valid session, `/login?next=/inbox`."""
    token, _ = credentials(request)
    who = await staff.identify(request.app.ctx.uow, token) if token else None
    if who is None:
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        return redirect(f"/login?next={quote(target, safe='')}", headers={"Cache-Control": "no-store"})
    return await file(WEB / "templates" / "inbox.html", mime_type="text/html; charset=utf-8", headers=STAFF_HEADERS)


@bp.get("/inbox/inbox.js")
async def inbox_js(request: Request) -> HTTPResponse:
    """The inbox's script."""
    return await file(WEB / "static" / "inbox.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@bp.get("/inbox/login.js")
async def login_js(request: Request) -> HTTPResponse:
    """The sign-in page's script."""
    return await file(WEB / "static" / "login.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@bp.get("/inbox/inbox.css")
async def inbox_css(request: Request) -> HTTPResponse:
    """The stylesheet of /inbox and /login."""
    return await file(WEB / "static" / "inbox.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# -- admin page: the clinic team /equipe ------------------------------------------------------------
# Data and changes go through the staff API (`GET/POST /api/staff`, `PATCH /api/staff/<id>`, admins
# only); the page itself only checks the session and the role, like /dashboard.

from sanic.response import html  # noqa: E402

TEAM_FORBIDDEN_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acesso restrito — atende</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/equipe/team.css"></head>
<body class="team"><main class="forbidden" data-testid="team-forbidden"><h1>Acesso restrito</h1>
<p>A gestão da equipe é acessível somente a administradores.</p>
<p><a href="/inbox">Ir para a caixa de entrada</a></p></main></body></html>
"""


@bp.get("/equipe")
async def team_page(request: Request) -> HTTPResponse:
    """Staff accounts (admins); `/login?next=/equipe` without a session, a 403 page for other roles."""
    token, _ = credentials(request)
    who = await staff.identify(request.app.ctx.uow, token) if token else None
    if who is None:
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        return redirect(f"/login?next={quote(target, safe='')}", headers={"Cache-Control": "no-store"})
    if who.role != "admin":
        return html(TEAM_FORBIDDEN_PAGE, status=403, headers=STAFF_HEADERS)
    return await file(WEB / "templates" / "team.html", mime_type="text/html; charset=utf-8", headers=STAFF_HEADERS)


@bp.get("/equipe/team.js")
async def team_js(request: Request) -> HTTPResponse:
    """The team page's script."""
    return await file(WEB / "static" / "team.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@bp.get("/equipe/team.css")
async def team_css(request: Request) -> HTTPResponse:
    """The team page's stylesheet."""
    return await file(WEB / "static" / "team.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
