"""The "Privacidade" staff page (/privacidade): data-subject requests (LGPD Art. 18/19).

Data and changes go through `/api/privacy/*`, which enforces the access matrix; the page only
checks the session and the same rule (`handoff.api.privacy.can_handle_privacy`). Other privacy
tabs (retention, incidents, audit) add their links to the page's `<nav class="privacy-tabs">`.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

from handoff.api.privacy import can_handle_privacy
from handoff.web.pages import STAFF_HEADERS, WEB, asset, forbidden_page, staff_or_login

bp = Blueprint("privacy_page")


@bp.get("/privacidade")
async def privacy_page(request: Request) -> HTTPResponse:
    """Requests list, clock and actions; `/login?next=/privacidade` without a session."""
    who = await staff_or_login(request)
    if isinstance(who, HTTPResponse):
        return who
    if not can_handle_privacy(who):
        return forbidden_page(stylesheet="/privacidade/privacy.css", body_class="privacy",
                              testid="privacy-forbidden",
                              message="As solicitações de titulares são acessíveis a gestores, administradores "
                                      "e ao encarregado de dados.", headers=STAFF_HEADERS)
    return await file(WEB / "templates" / "privacy.html", mime_type="text/html; charset=utf-8",
                      headers=STAFF_HEADERS)


@bp.get("/privacidade/privacy.js")
async def privacy_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("privacy.js", "application/javascript; charset=utf-8")


@bp.get("/privacidade/privacy.css")
async def privacy_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("privacy.css", "text/css; charset=utf-8")
