"""Staff open the files patients send: `open_attachment(staff, message_id, index)`.

Who may open one: whoever the inbox shows the message to. The inbox shows a conversation's
history together with the patient's other conversations (`Inbox.detail`), so a message is visible
to a staff member who may view its conversation or any other conversation of the same patient
(`Inbox.can_view_history_of`; per conversation: supervisors, the holder and the last agent,
members of its queue, anyone who acted on it). Every successful open writes an `audit_log`
row (`download_attachment`, subject `message:<id>/attachment:<n>`: ids only) in the same
transaction as the final read.

Where the bytes come from: files already in the `AttachmentStore` (e-mail attachments, and
provider media fetched before) are read locally. Provider media — Twilio `MediaUrl{N}`, WhatsApp
Cloud API `meta-media:<id>`, Instagram/Messenger CDN URLs — are fetched once through the
connectors, stored content-addressed, and the message's attachment entry then points at the
local reference (`url`) with the provider's reference kept as `source`: later opens never call
the provider again, and a provider id or URL that expires later does not matter. A provider
failure is a 502 and changes nothing (no file, no payload change, no audit row).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import meta as meta_api
from connectors import twilio as twilio_api
from connectors.base import ChannelError, MediaTooLarge
from handoff.adapters.attachments import PREFIX as LOCAL_PREFIX
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, Message
from handoff.domain import access
from handoff.domain.errors import Forbidden, NotFound, Unavailable, UpstreamFailed
from handoff.services.email_channel import attachments_root
from handoff.services.inbox import Inbox
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork
from handoff.settings import Settings

log = logging.getLogger(__name__)

AUDIT_ACTION = "download_attachment"
OCTET_STREAM = "application/octet-stream"
TWILIO_CHANNELS = frozenset(twilio_api.CHANNELS)
META_CDN_CHANNELS = frozenset({meta_api.INSTAGRAM, meta_api.MESSENGER})
MAX_FILENAME = 120
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/:*?<>|]+")


@dataclass(frozen=True)
class OpenedAttachment:
    """What the HTTP layer serves: the bytes, their media type and a file name safe to send."""

    data: bytes
    content_type: str
    filename: str


def _media_type(value: Any) -> str | None:
    """A concrete `type/subtype` (lower-case, no parameters), or None (missing, wildcard, junk)."""
    if not isinstance(value, str):
        return None
    base = value.split(";", 1)[0].strip().lower()
    return base if _CONTENT_TYPE.match(base) and "*" not in base else None


def safe_filename(name: Any, content_type: str, index: int) -> str:
    """The patient's file name without paths, control characters or quotes (at most 120
    characters, extension kept); `anexo-<n>.<ext>` when there is none."""
    cleaned = ""
    if isinstance(name, str):
        last = re.split(r"[\\/]", name)[-1]
        cleaned = " ".join(_UNSAFE_NAME.sub(" ", unicodedata.normalize("NFC", last)).split()).strip(" .")
    if len(cleaned) > MAX_FILENAME:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        keep = MAX_FILENAME - (len(ext) + 1 if ext else 0)
        cleaned = (stem if ext else cleaned)[:keep].rstrip(" .") + (f".{ext}" if ext else "")
    if cleaned:
        return cleaned
    ext = "" if content_type == OCTET_STREAM else (mimetypes.guess_extension(content_type) or "")
    return f"anexo-{index + 1}{ext}"


class Attachments:
    """Use case behind `GET /api/messages/<id>/attachments/<n>`."""

    def __init__(self, uow: UnitOfWork, settings: Settings, inbox: Inbox,
                 store: AttachmentStore | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.inbox = inbox
        self.store = store or AttachmentStore(attachments_root(settings))

    async def open_attachment(self, who: StaffIdentity, message_id: int, index: int,
                              reason: str | None = None) -> OpenedAttachment:
        """The `index`-th attachment of message `message_id`, for `who`. Raises NotFound,
        Forbidden, Unauthenticated (via the inbox), UpstreamFailed, Unavailable:
        401 inactive account, 403 not visible (`reason_required`: an attendant granted
        `all_queues` opening one outside their scope without a reason), 404 unknown
        message/attachment, 502 provider failure (or file too large), 503 provider not configured."""
        async with self.uow() as (session, _):
            row = await self.inbox.active_staff_row(session, who)
            msg = await session.get(Message, message_id)
            if msg is None:
                raise NotFound("not_found", "mensagem não encontrada")
            conv = await session.get(Conversation, msg.conversation_id)
            if conv is None:
                raise Forbidden("forbidden", "esta conversa não é da sua fila")
            if not await self.inbox.can_view_history_of(session, row, conv):
                if not access.sees_all_queues(row):
                    raise Forbidden("forbidden", "esta conversa não é da sua fila")
                if access.needs_reason(row, in_own_scope=False) and reason is None:
                    raise Forbidden("reason_required", access.REASON_REQUIRED)
            patient_id = conv.patient_id
            entry = self._entry(msg, index)
            if entry is not None:
                local = self._local(entry)
                if local is not None:
                    data = await asyncio.to_thread(self.store.read, local)
                    if data is not None:
                        self._audit(session, row.id, message_id, index, patient_id, reason)
                        return self._opened(data, entry, index)
            channel = msg.channel
        if entry is None:
            raise NotFound("attachment_not_found", "anexo não encontrado")
        # Not stored here yet (or the file went missing): fetch it from the provider, outside
        # any transaction, then record the local reference.
        source = self._source(entry)
        if source is None:
            raise NotFound("attachment_unavailable", "este anexo não está disponível")
        data, provider_type = await self._fetch(channel, source)
        # The webhook's type when it is concrete (Twilio, WhatsApp); the provider's answer when
        # it is vague (Messenger's `image/*`, `application/octet-stream` for any `file`).
        declared = _media_type(entry.get("content_type"))
        if declared in (None, OCTET_STREAM):
            declared = _media_type(provider_type) or OCTET_STREAM
        content_type = declared
        reference = await asyncio.to_thread(self.store.save, data, content_type, None)
        async with self.uow() as (session, _):
            msg = (await session.execute(
                select(Message).where(Message.id == message_id).with_for_update())).scalar_one_or_none()
            if msg is not None:
                self._record(msg, index, source, reference, content_type, len(data))
            self._audit(session, row.id, message_id, index, patient_id, reason)
        log.info("attachment %d of message %d fetched from the provider (%d bytes)", index, message_id, len(data))
        return self._opened(data, {**entry, "content_type": content_type}, index)

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _entry(msg: Message, index: int) -> dict[str, Any] | None:
        attachments = (msg.payload or {}).get("attachments")
        if not isinstance(attachments, list) or not 0 <= index < len(attachments):
            return None
        entry = attachments[index]
        return entry if isinstance(entry, dict) else None

    @staticmethod
    def _local(entry: dict[str, Any]) -> str | None:
        url = entry.get("url")
        return url if isinstance(url, str) and url.startswith(LOCAL_PREFIX) else None

    @staticmethod
    def _source(entry: dict[str, Any]) -> str | None:
        """The provider's reference: `url` until the file is stored here, then `source`."""
        url = entry.get("url")
        if isinstance(url, str) and url and not url.startswith(LOCAL_PREFIX):
            return url
        source = entry.get("source")
        return source if isinstance(source, str) and source else None

    async def _fetch(self, channel: str, source: str) -> tuple[bytes, str | None]:
        s = self.settings
        try:
            if source.startswith(meta_api.MEDIA_PREFIX):
                if not s.meta_access_token:
                    raise Unavailable("not_configured", "a API do WhatsApp (Meta) não está configurada")
                return await meta_api.fetch_whatsapp_media(source.removeprefix(meta_api.MEDIA_PREFIX),
                                                           api_base=s.meta_graph_api_base,
                                                           access_token=s.meta_access_token,
                                                           max_bytes=s.media_max_bytes,
                                                           allowed_hosts=s.meta_media_host_list)
            if channel in TWILIO_CHANNELS:
                if not (s.twilio_account_sid and s.twilio_auth_token):
                    raise Unavailable("not_configured", "o Twilio não está configurado")
                return await twilio_api.fetch_media(source, api_base=s.twilio_api_base,
                                                    account_sid=s.twilio_account_sid,
                                                    auth_token=s.twilio_auth_token, max_bytes=s.media_max_bytes,
                                                    allowed_hosts=s.twilio_media_host_list)
            if channel in META_CDN_CHANNELS:
                return await meta_api.fetch_attachment_url(source, api_base=s.meta_graph_api_base,
                                                           max_bytes=s.media_max_bytes,
                                                           allowed_hosts=s.meta_media_host_list)
        except MediaTooLarge as exc:
            mb = exc.max_bytes // (1024 * 1024)
            raise UpstreamFailed("attachment_too_large", f"o arquivo passa do limite de {mb} MB") from exc
        except ChannelError as exc:
            log.warning("attachment fetch failed on %s: %s", channel, exc)  # statuses only, no content
            raise UpstreamFailed("provider_error",
                                 "não foi possível obter o anexo do provedor; tente novamente") from exc
        raise NotFound("attachment_unavailable", "este anexo não está disponível")

    @staticmethod
    def _record(msg: Message, index: int, source: str, reference: str, content_type: str, size: int) -> None:
        """Point the entry at the stored file, keeping the provider's reference as `source`."""
        payload = dict(msg.payload or {})
        attachments = list(payload.get("attachments") or [])
        if not 0 <= index < len(attachments) or not isinstance(attachments[index], dict):
            return
        entry = attachments[index]
        if entry.get("url") == reference:
            return  # another request stored it meanwhile
        attachments[index] = {**entry, "url": reference, "source": source, "content_type": content_type,
                              "size": size}
        payload["attachments"] = attachments
        msg.payload = payload  # a new object: the JSON column sees the change

    @staticmethod
    def _audit(session: AsyncSession, staff_id: int, message_id: int, index: int, patient_id: int | None,
               reason: str | None) -> None:
        session.add(AuditLog(staff_id=staff_id, action=AUDIT_ACTION,
                             subject=f"message:{message_id}/attachment:{index}", created_at=utcnow(),
                             patient_id=patient_id, reason=reason))

    @staticmethod
    def _opened(data: bytes, entry: dict[str, Any], index: int) -> OpenedAttachment:
        content_type = _media_type(entry.get("content_type")) or OCTET_STREAM
        return OpenedAttachment(data, content_type, safe_filename(entry.get("filename"), content_type, index))
