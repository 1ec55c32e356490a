"""One IMAP mailbox folder (aioimaplib): unseen UIDs, fetch without side effects, mark seen, IDLE.

Messages are fetched with `BODY.PEEK[]`, which (unlike `RFC822`/`BODY[]`) does not set `\\Seen`:
only `mark_seen`, called after the mail is safely in our database, does. Logs carry UIDs and
error class names only, never addresses or content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from typing import Any

import aioimaplib

log = logging.getLogger(__name__)
# aioimaplib logs unexpected server lines at INFO; a server line can quote a mail's content.
logging.getLogger("aioimaplib.aioimaplib").setLevel(logging.WARNING)

_LITERAL = re.compile(rb"\{\d+\}$")


class ImapError(Exception):
    """The server refused a command or the connection broke (reconnect and try again)."""


class ImapMailbox:
    """A logged-in session on `folder`. Use `async with` or `open()`/`close()`."""

    def __init__(self, *, host: str, port: int, user: str, password: str, folder: str = "INBOX",
                 use_ssl: bool = True, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.folder = folder
        self.use_ssl = use_ssl
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._client: Any = None

    async def __aenter__(self) -> ImapMailbox:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect (TLS unless `use_ssl` is off), log in and select the folder."""
        if self.use_ssl:
            context = self.ssl_context or ssl.create_default_context()
            self._client = aioimaplib.IMAP4_SSL(host=self.host, port=self.port, timeout=self.timeout,
                                                ssl_context=context)
        else:
            self._client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=self.timeout)
        try:
            await self._client.wait_hello_from_server()
            self._ok(await self._client.login(self.user, self.password), "LOGIN")
            self._ok(await self._client.select(self._quoted(self.folder)), "SELECT")
        except (aioimaplib.AioImapException, OSError, TimeoutError, ssl.SSLError) as exc:
            await self.close()
            raise ImapError(f"imap connect failed: {type(exc).__name__}") from exc

    @property
    def client(self) -> Any:
        """The aioimaplib client (raises ImapError when the mailbox is not open)."""
        if self._client is None:
            raise ImapError("imap mailbox is not open")
        return self._client

    @property
    def supports_idle(self) -> bool:
        """True when the server announced IDLE (RFC 2177)."""
        return bool(self._client is not None and self._client.has_capability("IDLE"))

    async def unseen_uids(self) -> list[int]:
        """UIDs of the folder's unseen messages, oldest first."""
        resp = await self._call(self.client.uid_search("UNSEEN", charset=None), "UID SEARCH")
        uids: list[int] = []
        for line in resp.lines[:-1]:  # the last line is the completion text
            if isinstance(line, bytes | bytearray):
                words = bytes(line).split()
                if words and words[0].upper() == b"SEARCH":  # aioimaplib usually strips the keyword
                    words = words[1:]
                uids.extend(int(x) for x in words if x.isdigit())
        return sorted(set(uids))

    async def fetch(self, uid: int) -> bytes | None:
        """The raw message (None when it was expunged meanwhile). Does not set `\\Seen`."""
        # No overall limit: aioimaplib's fetch times out on inactivity, so large mails still arrive.
        resp = await self._call(self.client.uid("fetch", str(uid), "(BODY.PEEK[])"), "UID FETCH", limit=None)
        lines = list(resp.lines)
        for i, line in enumerate(lines[:-1]):
            if isinstance(line, bytes | bytearray) and _LITERAL.search(bytes(line)):
                body = lines[i + 1]
                if isinstance(body, bytes | bytearray):
                    return bytes(body)
        return None

    async def mark_seen(self, uid: int) -> None:
        """Set `\\Seen` on one message."""
        await self._call(self.client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")

    async def append(self, raw: bytes, flags: str | None = None) -> None:
        """Add a message to the folder (tests and tools)."""
        await self._call(self.client.append(raw, mailbox=self._quoted(self.folder), flags=flags), "APPEND")

    async def wait_for_news(self, timeout: float) -> None:
        """Block until the server announces a change (IDLE) or `timeout` seconds pass."""
        if not self.supports_idle:
            await asyncio.sleep(timeout)
            return
        try:
            client = self.client
            idle = await client.idle_start(timeout=timeout)
            await client.wait_server_push(timeout=timeout + 5)
            client.idle_done()
            await asyncio.wait_for(idle, self.timeout)
        except (aioimaplib.AioImapException, OSError, TimeoutError) as exc:
            raise ImapError(f"imap idle failed: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Log out (best effort) and drop the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(client.logout(), 5)
        with contextlib.suppress(Exception):
            transport = client.protocol.transport
            if transport is not None:
                transport.close()

    async def _call(self, awaitable: Any, what: str, limit: float | None = -1) -> Any:
        try:
            resp = await asyncio.wait_for(awaitable, self.timeout if limit == -1 else limit)
        except (aioimaplib.AioImapException, OSError, TimeoutError) as exc:
            raise ImapError(f"{what} failed: {type(exc).__name__}") from exc
        return self._ok(resp, what)

    @staticmethod
    def _ok(resp: Any, what: str) -> Any:
        if getattr(resp, "result", None) != "OK":
            raise ImapError(f"{what} refused by the server ({getattr(resp, 'result', None)})")
        return resp

    @staticmethod
    def _quoted(folder: str) -> str:
        return folder if re.fullmatch(r"[A-Za-z0-9._/-]+", folder) else '"' + folder.replace('"', r"\"") + '"'
