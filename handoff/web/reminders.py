"""`/lembretes`: the appointment reminders' settings (managers and admins, access category
"reminder_settings"): the schedule per specialty, the text of each reminder kind with a preview
per channel (WhatsApp, SMS, e-mail) and a test e-mail to oneself. Data through
`/api/reminders/{rules,texts,preview,test}`; no inline script or style (STAFF_CSP)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff.web.pages import CSS, JS, asset, may_view, staff_page

bp = Blueprint("reminders_pages")


@bp.get("/lembretes")
async def reminders_page(request: Request) -> HTTPResponse:
    """The settings page; `/login?next=/lembretes` without a session, a 403 page for attendants."""
    return await staff_page(request, "reminders.html", allowed=may_view("reminder_settings"),
                            stylesheet="/lembretes/reminders.css", body_class="reminders",
                            testid="reminders-forbidden",
                            message="As configurações dos lembretes de consulta são acessíveis a gestores "
                                    "e administradores.")


@bp.get("/lembretes/reminders.js")
async def reminders_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("reminders.js", JS)


@bp.get("/lembretes/reminders.css")
async def reminders_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("reminders.css", CSS)
