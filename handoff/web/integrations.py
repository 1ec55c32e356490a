"""`/integracoes`: the delivery log of interaction records sent to the clinic's CRM (webhook)
and FHIR server, with a "Reenviar" button per row (managers and admins, access category
"integrations"). Data through `/api/integrations/*`; no inline script (STAFF_CSP)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

from handoff.domain import access
from handoff.web.pages import STAFF_HEADERS, WEB, asset, forbidden_page, staff_or_login

bp = Blueprint("integrations_pages")


@bp.get("/integracoes")
async def integrations_page(request: Request) -> HTTPResponse:
    """The delivery log; `/login?next=/integracoes` without a session, a 403 page for attendants."""
    who = await staff_or_login(request)
    if isinstance(who, HTTPResponse):
        return who
    if not access.can(who, "view", "integrations"):
        return forbidden_page(stylesheet="/integracoes/integrations.css", body_class="integrations",
                              testid="integrations-forbidden", headers=STAFF_HEADERS,
                              message="O registro de envios às integrações é acessível a gestores e administradores.")
    return await file(WEB / "templates" / "integrations.html", mime_type="text/html; charset=utf-8",
                      headers=STAFF_HEADERS)


@bp.get("/integracoes/integrations.js")
async def integrations_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("integrations.js", "application/javascript; charset=utf-8")


@bp.get("/integracoes/integrations.css")
async def integrations_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("integrations.css", "text/css; charset=utf-8")
