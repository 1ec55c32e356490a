"""The complete answer of a data-subject request, told to the patient (LGPD Art. 19).

When staff answer a request opened in a conversation, a pt-BR system message is queued on that
conversation through the normal outbox (`store.add_outbound`, like the CSAT question), so it is
delivered on whatever channel the conversation uses. For export/access requests the message
carries a capability link (an unguessable token, like the boleto second-copy links) to download
the export ZIP and PDF without logging in: only the token's SHA-256 and its expiry are kept, in
`PrivacyRequest.result["export_link"]`.

Erasure is not told here: the bot gave the answer (with the legal holds) when the request was
opened, and an erasure fails every message still queued on the person's conversations.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation, Message, Patient, PrivacyRequest
from handoff.domain.messages import Sender
from handoff.domain.privacy import RequestKind
from handoff.services.inbox_views import staff_message_view
from handoff.services.notify import notify
from handoff.services.unit_of_work import WORK_TOPIC, Events

LINK_KEY = "export_link"
EXPORT_KINDS = frozenset({RequestKind.EXPORT.value, RequestKind.ACCESS.value})
CHANNELS_WITHOUT_TEXT = frozenset({"phone"})
ANSWER_EVENT = "privacy_answer_sent"  # conversation event {request_id, message_id}

_TEXT = {
    RequestKind.EXPORT.value: "Sua solicitação de cópia dos seus dados (protocolo {id}) foi atendida.",
    RequestKind.ACCESS.value: "Sua solicitação de acesso aos seus dados (protocolo {id}) foi atendida.",
    RequestKind.CORRECTION.value: "Sua solicitação de correção dos seus dados (protocolo {id}) foi atendida.",
    RequestKind.REVOKE_CONSENT.value: "Sua revogação de consentimento (protocolo {id}) foi registrada.",
}
_LINK_TEXT = ("Baixe seus dados pelos links abaixo (válidos até {until}, não compartilhe):\n"
              "Arquivo completo (ZIP): {zip}\nVersão para leitura (PDF): {pdf}")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(request_id: int, token: str, fmt: str) -> str:
    return f"/api/privacy/exportacao/{request_id}/{token}/dados.{fmt}"


def issue_link(row: PrivacyRequest, now: datetime, days: float) -> tuple[str, datetime]:
    """A new token for the request's export (replaces any previous one); returns it and its expiry."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    row.result = {**(row.result or {}), LINK_KEY: {"sha256": token_digest(token), "expires_at": expires.isoformat()}}
    return token, expires


def link_valid(row: PrivacyRequest | None, token: str, now: datetime) -> bool:
    """Whether `token` opens `row`'s export now (constant-time comparison of the digests)."""
    link = ((row.result or {}).get(LINK_KEY) if row is not None else None) or {}
    digest, expires = link.get("sha256"), link.get("expires_at")
    if not isinstance(digest, str) or not isinstance(expires, str):
        return False
    try:
        until = datetime.fromisoformat(expires)
    except ValueError:
        return False
    return hmac.compare_digest(digest, token_digest(token)) and now < until


def answer_text(row: PrivacyRequest, links: tuple[str, str] | None, until: datetime | None) -> str:
    text = _TEXT.get(row.kind, "Sua solicitação sobre seus dados (protocolo {id}) foi atendida.").format(id=row.id)
    if links is not None and until is not None:
        text += "\n" + _LINK_TEXT.format(until=until.strftime("%d/%m/%Y"), zip=links[0], pdf=links[1])
    return text


async def tell_patient(session: AsyncSession, events: Events, row: PrivacyRequest, now: datetime,
                       base_url: str, link_days: float) -> Message | None:
    """Queue the answer on the request's conversation (None when there is no conversation to
    answer on: a request registered by staff, a voice channel, an erased patient)."""
    if not row.conversation_id or row.patient_id is None:
        return None
    conv = await session.get(Conversation, row.conversation_id)
    if conv is None or conv.channel in CHANNELS_WITHOUT_TEXT or conv.redacted_at is not None:
        return None
    patient = await session.get(Patient, row.patient_id)
    if patient is None or patient.erased_at is not None:
        return None
    links: tuple[str, str] | None = None
    until: datetime | None = None
    if row.kind in EXPORT_KINDS:
        token, until = issue_link(row, now, link_days)
        base = base_url.rstrip("/")
        links = (base + link_path(row.id, token, "zip"), base + link_path(row.id, token, "pdf"))
    payload: dict[str, Any] = {"privacy_request_id": row.id}
    msg = store.add_outbound(session, conv, Sender.SYSTEM, answer_text(row, links, until), payload)
    await session.flush()
    await store.add_event(session, conv.id, ANSWER_EVENT, "system", {"request_id": row.id, "message_id": msg.id})
    events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
    notify(events, "message", conv, message=staff_message_view(msg))
    return msg
