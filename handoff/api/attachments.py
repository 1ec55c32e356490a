"""`GET /api/messages/<id>/attachments/<n>`: staff open a file a patient sent (any channel).

Auth like every inbox endpoint (bearer token or the session cookie; 401 anonymous, 403 for a
conversation the caller may not see, 404 unknown message or attachment); the use case
(`handoff/services/attachments.py`) audit-logs every open and fetches provider media once.

A patient's file must never run in our origin: only raster images are served inline (for
thumbnails and a new tab); PDFs are downloads with their type; anything else (HTML, SVG, scripts,
archives…) is a download as `application/octet-stream`. Every answer carries `nosniff`, a
`sandbox` Content-Security-Policy and `Cache-Control: private, no-store`.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from handoff.api.auth import error, reason_of, require_staff
from handoff.domain import access
from handoff.runtime import HubRuntime
from handoff.services.attachments import OCTET_STREAM, Attachments
from handoff.services.staff import StaffIdentity

bp = Blueprint("attachments", url_prefix="/api")

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOWNLOAD_TYPES = frozenset({"application/pdf"})
MAX_ID = 2**63 - 1
SAFE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def served_as(content_type: str) -> tuple[str, bool]:
    """(Content-Type to send, inline?) for a stored media type."""
    if content_type in INLINE_TYPES:
        return content_type, True
    if content_type in DOWNLOAD_TYPES:
        return content_type, False
    return OCTET_STREAM, False


def content_disposition(filename: str, inline: bool) -> str:
    """RFC 6266: an ASCII `filename` fallback plus the UTF-8 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_name).strip() or "anexo"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/messages/<message_id:int>/attachments/<index:int>")
@require_staff()
async def open_attachment(request: Request, message_id: int, index: int) -> HTTPResponse:
    """The bytes of one attachment (audited; provider media fetched once, then served locally)."""
    if not 0 < message_id <= MAX_ID:
        return error(404, "not_found", "mensagem não encontrada")
    if not 0 <= index < 1000:
        return error(404, "attachment_not_found", "anexo não encontrado")
    runtime: HubRuntime = request.app.ctx.runtime
    await runtime.load_handoff()
    assert runtime.inbox is not None
    who: StaffIdentity = request.ctx.staff
    service = Attachments(runtime.uow, request.app.ctx.settings, runtime.inbox)
    try:
        opened = await service.open_attachment(who, message_id, index, reason_of(request))
    except access.ReasonError as exc:
        return error(400, "invalid_reason", str(exc))
    content_type, inline = served_as(opened.content_type)
    headers = {**SAFE_HEADERS, "Content-Disposition": content_disposition(opened.filename, inline)}
    return raw(opened.data, content_type=content_type, headers=headers)
