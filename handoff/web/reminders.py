"""`/lembretes`: the appointment reminders' settings (managers and admins, access category
"reminder_settings"): the schedule per specialty, the text of each reminder kind with a preview
per channel (WhatsApp, SMS, e-mail) and a test e-mail to oneself. Data through
`/api/reminders/{rules,texts,preview,test}`; no inline script or style (STAFF_CSP)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

from handoff.domain import access
from handoff.web.pages import STAFF_HEADERS, WEB, asset, forbidden_page, staff_or_login

bp = Blueprint("reminders_pages")


@bp.get("/lembretes")
async def reminders_page(request: Request) -> HTTPResponse:
    """The settings page; `/login?next=/lembretes` without a session, a 403 page for attendants."""
    who = await staff_or_login(request)
    if isinstance(who, HTTPResponse):
        return who
    if not access.can(who, "view", "reminder_settings"):
        return forbidden_page(stylesheet="/lembretes/reminders.css", body_class="reminders",
                              testid="reminders-forbidden", headers=STAFF_HEADERS,
                              message="As configurações dos lembretes de consulta são acessíveis a gestores "
                                      "e administradores.")
    return await file(WEB / "templates" / "reminders.html", mime_type="text/html; charset=utf-8",
                      headers=STAFF_HEADERS)


@bp.get("/lembretes/reminders.js")
async def reminders_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("reminders.js", "application/javascript; charset=utf-8")


@bp.get("/lembretes/reminders.css")
async def reminders_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("reminders.css", "text/css; charset=utf-8")
