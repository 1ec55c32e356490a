"""Demo clinic page, the website chat widget's assets, and the staff pages (/login, /inbox,
/equipe, /bot) with the helpers every staff page shares (also /dashboard, `web/dashboard.py`)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, file, html, redirect

from handoff.api.auth import credentials
from handoff.domain import access
from handoff.services import staff
from handoff.services.staff import StaffIdentity

WEB = Path(__file__).resolve().parent
bp = Blueprint("pages")
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
HTML = "text/html; charset=utf-8"
JS = "application/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"


@bp.get("/")
async def index(request: Request) -> HTTPResponse:
    """The demo clinic website with the chat widget."""
    return await file(WEB / "templates" / "index.html", mime_type=HTML)


@bp.get("/site.css")
async def site_css(request: Request) -> HTTPResponse:
    """The demo website's stylesheet (no inline style: see `web/security_headers.py`)."""
    return await asset("site.css", CSS)


@bp.get("/site.js")
async def site_js(request: Request) -> HTTPResponse:
    """The demo website's "open the chat" buttons (no inline script)."""
    return await asset("site.js", JS)


# The patient chat widget: clinic sites embed /webchat/widget.js (a classic script, possibly from
# another origin); it loads its two other parts and its stylesheet from the same folder. All four
# are served with the same headers (readable from any site, revalidated on every load).
WIDGET_HEADERS = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}


@bp.get("/webchat/widget.js")
async def widget_js(request: Request) -> HTTPResponse:
    """The embeddable widget (one script tag): the loader, which injects the parts below."""
    return await file(WEB / "static" / "widget.js", mime_type=JS, headers=WIDGET_HEADERS)


@bp.get("/webchat/widget_transport.js")
async def widget_transport_js(request: Request) -> HTTPResponse:
    """The widget's storage, outbox and WebSocket connection (loaded by widget.js)."""
    return await file(WEB / "static" / "widget_transport.js", mime_type=JS, headers=WIDGET_HEADERS)


@bp.get("/webchat/widget_ui.js")
async def widget_ui_js(request: Request) -> HTTPResponse:
    """The widget's panel and messages (loaded by widget.js)."""
    return await file(WEB / "static" / "widget_ui.js", mime_type=JS, headers=WIDGET_HEADERS)


@bp.get("/webchat/widget.css")
async def widget_css(request: Request) -> HTTPResponse:
    """The widget's stylesheet (injected by widget.js)."""
    return await file(WEB / "static" / "widget.css", mime_type=CSS, headers=WIDGET_HEADERS)


# -- staff pages -------------------------------------------------------------------------------

# Everything is served by the hub itself: no CDN, no inline script or style (the inbox's settings
# are a JSON data block, which a CSP does not execute).
STAFF_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
STAFF_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": STAFF_CSP,
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


async def staff_or_login(request: Request) -> StaffIdentity | HTTPResponse:
    """The signed-in staff member (session cookie or bearer token), or the redirect to
    `/login?next=<this page>` that every staff page answers without one."""
    token, _ = credentials(request)
    who = await staff.identify(request.app.ctx.uow, token) if token else None
    if who is not None:
        return who
    target = request.path + (f"?{request.query_string}" if request.query_string else "")
    return redirect(f"/login?next={quote(target, safe='')}", headers={"Cache-Control": "no-store"})


def forbidden_page(*, stylesheet: str, body_class: str, testid: str, message: str,
                   headers: dict[str, str]) -> HTTPResponse:
    """The 403 page a staff member gets for a page of another role (pt-BR)."""
    return html(f"""<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acesso restrito — atende</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="{escape(stylesheet)}"></head>
<body class="{escape(body_class)}"><main class="forbidden" data-testid="{escape(testid)}"><h1>Acesso restrito</h1>
<p>{escape(message)}</p>
<p><a href="/inbox">Ir para a caixa de entrada</a></p></main></body></html>
""", status=403, headers=headers)


async def asset(name: str, mime_type: str, headers: dict[str, str] = ASSET_HEADERS) -> HTTPResponse:
    """A script or stylesheet from `web/static/`."""
    return await file(WEB / "static" / name, mime_type=mime_type, headers=headers)


def may_view(category: str) -> Callable[[StaffIdentity], bool]:
    """The rule of a page whose access category is `category` (handoff.domain.access)."""
    return lambda who: access.can(who, "view", category)


async def staff_page(request: Request, template: str, *, allowed: Callable[[StaffIdentity], bool] | None = None,
                     stylesheet: str = "", body_class: str = "", testid: str = "", message: str = "",
                     headers: dict[str, str] = STAFF_HEADERS) -> HTTPResponse:
    """A staff page's template: the `/login?next=` redirect without a session, the 403 page
    (`forbidden_page` with `stylesheet`, `body_class`, `testid`, `message`) when `allowed` refuses
    the staff member, else `web/templates/<template>`."""
    who = await staff_or_login(request)
    if isinstance(who, HTTPResponse):
        return who
    if allowed is not None and not allowed(who):
        return forbidden_page(stylesheet=stylesheet, body_class=body_class, testid=testid, message=message,
                              headers=headers)
    return await file(WEB / "templates" / template, mime_type=HTML, headers=headers)


# -- the staff pages' ES modules and panel stylesheets -------------------------------------------------
# Each page's entry script and main stylesheet keep their own URLs (/inbox/inbox.js, /inbox/inbox.css,
# /bot/bot.js, ...); the modules it imports (the shared lib in static/lib/, a page's panels in
# static/inbox/, static/bot/) and the panel stylesheets its template links (static/inbox/*.css) are
# served from /static/. Only `.js` and `.css` files inside web/static/ and its sub-folders; anything
# else (a `..` segment, an absolute path, a symlink out of the folder, another file type) is a 404.
STATIC = WEB / "static"
STATIC_TYPES = {".js": JS, ".css": CSS}


@bp.get("/static/<path:path>")
async def static_module(request: Request, path: str) -> HTTPResponse:
    """A JavaScript module or a stylesheet of the staff pages (same headers as every page asset)."""
    target = (STATIC / path).resolve()
    mime_type = STATIC_TYPES.get(Path(path).suffix)
    if (mime_type is None or "\\" in path or any(part in ("", ".", "..") for part in path.split("/"))
            or not target.is_relative_to(STATIC) or not target.is_file()):
        raise NotFound("not found")
    return await file(target, mime_type=mime_type, headers=ASSET_HEADERS)


@bp.get("/login")
async def login_page(request: Request) -> HTTPResponse:
    """Staff sign-in (posts to `POST /api/auth/login`, then goes to `?next=` or /inbox)."""
    return await file(WEB / "templates" / "login.html", mime_type=HTML, headers=STAFF_HEADERS)


@bp.get("/inbox")
async def inbox_page(request: Request) -> HTTPResponse:
    """The attendant inbox; without a valid session, `/login?next=/inbox`."""
    return await staff_page(request, "inbox.html")


@bp.get("/inbox/inbox.js")
async def inbox_js(request: Request) -> HTTPResponse:
    """The inbox's script."""
    return await asset("inbox.js", JS)


@bp.get("/inbox/login.js")
async def login_js(request: Request) -> HTTPResponse:
    """The sign-in page's script."""
    return await asset("login.js", JS)


@bp.get("/inbox/inbox.css")
async def inbox_css(request: Request) -> HTTPResponse:
    """The stylesheet of /inbox and /login."""
    return await asset("inbox.css", CSS)


# -- admin page: the clinic team /equipe ------------------------------------------------------------
# Data and changes go through the staff API (`GET/POST /api/staff`, `PATCH /api/staff/<id>`, admins
# only); the page itself only checks the session and the role, like /dashboard.

@bp.get("/equipe")
async def team_page(request: Request) -> HTTPResponse:
    """Staff accounts (admins); `/login?next=/equipe` without a session, a 403 page for other roles."""
    return await staff_page(request, "team.html", allowed=may_view("staff_admin"), stylesheet="/equipe/team.css",
                            body_class="team", testid="team-forbidden",
                            message="A gestão da equipe é acessível somente a administradores.")


@bp.get("/equipe/team.js")
async def team_js(request: Request) -> HTTPResponse:
    """The team page's script."""
    return await asset("team.js", JS)


@bp.get("/equipe/team.css")
async def team_css(request: Request) -> HTTPResponse:
    """The team page's stylesheet."""
    return await asset("team.css", CSS)


# -- staff page: teach the bot /bot ----------------------------------------------------------------
# Review inbox, staff intents, simple answers, training runs and the model registry, all through the
# staff API (`/api/bot/*`, which enforces the roles). Every staff role may open it: attendants see the
# review inbox (they may label or ignore messages) and the intents and answers read-only; the page
# hides the create, edit, train, deploy and rollback controls from them.

@bp.get("/bot")
async def bot_page(request: Request) -> HTTPResponse:
    """The "Ensinar o bot" page for every staff role; `/login?next=/bot` without a session."""
    return await staff_page(request, "bot.html")


@bp.get("/bot/bot.js")
async def bot_js(request: Request) -> HTTPResponse:
    """The teaching page's script."""
    return await asset("bot.js", JS)


@bp.get("/bot/bot.css")
async def bot_css(request: Request) -> HTTPResponse:
    """The teaching page's stylesheet."""
    return await asset("bot.css", CSS)


# -- staff page: the audit viewer /auditoria ---------------------------------------------------------
# Filters, the table and the CSV export, all through `GET /api/audit` and `/api/audit.csv` (which
# audit every read); admins and the privacy officer (handoff.domain.access, category "audit").

@bp.get("/auditoria")
async def audit_page(request: Request) -> HTTPResponse:
    """The audit viewer; `/login?next=/auditoria` without a session, a 403 page for others."""
    return await staff_page(request, "audit.html", allowed=may_view("audit"), stylesheet="/auditoria/audit.css",
                            body_class="audit", testid="audit-forbidden",
                            message="O registro de auditoria é acessível somente ao encarregado de dados "
                                    "e a administradores.")


@bp.get("/auditoria/audit.js")
async def audit_js(request: Request) -> HTTPResponse:
    """The audit viewer's script."""
    return await asset("audit.js", JS)


@bp.get("/auditoria/audit.css")
async def audit_css(request: Request) -> HTTPResponse:
    """The audit viewer's stylesheet."""
    return await asset("audit.css", CSS)
