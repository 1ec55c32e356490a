"""`/integracoes`: the delivery log of interaction records sent to the clinic's CRM (webhook)
and FHIR server, with a "Reenviar" button per row (managers and admins, access category
"integrations"). Data through `/api/integrations/*`; no inline script (STAFF_CSP)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from handoff.web.pages import CSS, JS, asset, may_view, staff_page

bp = Blueprint("integrations_pages")


@bp.get("/integracoes")
async def integrations_page(request: Request) -> HTTPResponse:
    """The delivery log; `/login?next=/integracoes` without a session, a 403 page for attendants."""
    return await staff_page(request, "integrations.html", allowed=may_view("integrations"),
                            stylesheet="/integracoes/integrations.css", body_class="integrations",
                            testid="integrations-forbidden",
                            message="O registro de envios às integrações é acessível a gestores e administradores.")


@bp.get("/integracoes/integrations.js")
async def integrations_js(request: Request) -> HTTPResponse:
    """The page's script."""
    return await asset("integrations.js", JS)


@bp.get("/integracoes/integrations.css")
async def integrations_css(request: Request) -> HTTPResponse:
    """The page's stylesheet."""
    return await asset("integrations.css", CSS)
