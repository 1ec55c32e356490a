"""The "Privacidade" staff page (/privacidade): data-subject requests (LGPD Art. 18/19).

Data and changes go through `/api/privacy/*`, which enforces the access matrix; the page only
checks the session and the same rule (`handoff.api.privacy.can_handle_privacy`). Other privacy
tabs (retention, incidents, audit) add their links to the page's `<nav class="privacy-tabs">`.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff.api.privacy import can_handle_privacy
from handoff.web.pages import CSS, JS, asset, staff_page

bp = Blueprint("privacy_page")


@bp.get("/privacidade")
async def privacy_page(request: Request) -> HTTPResponse:
    """Requests list, clock and actions; `/login?next=/privacidade` without a session."""
    return await staff_page(request, "privacy.html", allowed=can_handle_privacy,
                            stylesheet="/privacidade/privacy.css", body_class="privacy", testid="privacy-forbidden",
                            message="As solicitações de titulares são acessíveis a gestores, administradores "
                                    "e ao encarregado de dados.")


@bp.get("/privacidade/privacy.js")
async def privacy_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("privacy.js", JS)


@bp.get("/privacidade/privacy.css")
async def privacy_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("privacy.css", CSS)
