"""The public privacy notice and the staff pages for retention and incidents.

- `/privacidade/aviso` (no login): the clinic's privacy notice in pt-BR, rendered from the
  clinic profile, `PRIVACY_OFFICER_EMAIL` and the retention periods in force — so the periods it
  promises are the ones the disposal job applies. Linked from the web chat widget.
- `/privacidade/retencao` and `/privacidade/incidentes`: staff pages (admins and the privacy
  officer grant, `handoff.domain.access` categories "retention" and "incidents"); data and
  changes go through `/api/privacy/retention`, `/api/privacy/disposal-runs` and
  `/api/privacy/incidents`. No inline script (STAFF_CSP).
"""

from __future__ import annotations

from html import escape
from string import Template
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html

from handoff.adapters.sql.database import utcnow
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.services import retention
from handoff.web.pages import (
    CSS,
    JS,
    STAFF_CSP,
    WEB,
    asset,
    may_view,
    staff_page,
)

bp = Blueprint("privacy_records_pages")

NOTICE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": STAFF_CSP,
                  "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
_NOT_INFORMED = "não informado"


def render_notice(clinic: dict[str, str], dpo_email: str, policies: list[dict[str, Any]], today: str) -> str:
    """The notice's HTML; every value is escaped."""
    rows = "\n".join(
        f'        <tr data-category="{escape(str(p["category"]))}"><td>{escape(str(p["label"]))}</td>'
        f'<td>{escape(str(p["period_text"]))}</td><td>{escape(str(p["description"]))}</td></tr>'
        for p in policies)
    values = {f"clinic_{k}": escape(v or _NOT_INFORMED) for k, v in clinic.items()}
    template = Template((WEB / "templates" / "privacy_notice.html").read_text(encoding="utf-8"))
    return template.safe_substitute(values, dpo_email=escape(dpo_email), today=escape(today), retention_rows=rows)


async def _clinic_card(request: Request) -> dict[str, str]:
    card = {"name": "Clínica", "address": "", "phone": "", "whatsapp": "", "email": ""}
    service = getattr(request.app.ctx, "clinic", None)
    if service is None:
        return card
    try:
        info = await service.info()
    except Exception:  # noqa: BLE001 - clinic not configured yet: the notice still renders
        return card
    return {"name": info.name, "address": info.address, "phone": info.phone, "whatsapp": info.whatsapp,
            "email": info.email}


@bp.get("/privacidade/aviso")
async def notice_page(request: Request) -> HTTPResponse:
    """The privacy notice (public)."""
    clinic = await _clinic_card(request)
    settings = request.app.ctx.settings
    dpo = settings.privacy_officer_email or clinic["email"] or _NOT_INFORMED
    policies = await retention.read_policies(request.app.ctx.uow)
    today = utcnow().astimezone(CLINIC_TZ).strftime("%d/%m/%Y")
    return html(render_notice(clinic, dpo, policies, today), headers=NOTICE_HEADERS)


@bp.get("/privacidade/aviso.css")
async def notice_css(request: Request) -> HTTPResponse:
    """The notice's stylesheet."""
    return await asset("privacy_notice.css", CSS)


async def _staff_page(request: Request, category: str, template: str, testid: str, message: str) -> HTTPResponse:
    return await staff_page(request, template, allowed=may_view(category),
                            stylesheet="/privacidade/privacy_records.css", body_class="records", testid=testid,
                            message=message)


@bp.get("/privacidade/retencao")
async def retention_page(request: Request) -> HTTPResponse:
    """Retention periods and disposal runs; `/login?next=…` without a session, 403 page for others."""
    return await _staff_page(request, "retention", "privacy_retention.html", "retention-forbidden",
                             "Os prazos de retenção são acessíveis a administradores e ao encarregado de dados.")


@bp.get("/privacidade/incidentes")
async def incidents_page(request: Request) -> HTTPResponse:
    """The incident register; `/login?next=…` without a session, 403 page for others."""
    return await _staff_page(request, "incidents", "privacy_incidents.html", "incidents-forbidden",
                             "O registro de incidentes é acessível a administradores e ao encarregado de dados.")


@bp.get("/privacidade/privacy_retention.js")
async def retention_js(request: Request) -> HTTPResponse:
    """The retention page's script."""
    return await asset("privacy_retention.js", JS)


@bp.get("/privacidade/privacy_incidents.js")
async def incidents_js(request: Request) -> HTTPResponse:
    """The incident page's script."""
    return await asset("privacy_incidents.js", JS)


@bp.get("/privacidade/privacy_records.css")
async def records_css(request: Request) -> HTTPResponse:
    """The stylesheet of both staff pages."""
    return await asset("privacy_records.css", CSS)
