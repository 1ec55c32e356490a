"""A local server speaking Meta's Graph API for messaging and media (the provider boundary in tests).

It answers like the Graph API does and records every request:
- `POST /{version}/{phone-number-id}/messages` (WhatsApp Cloud API) → `{"messaging_product",
  "contacts", "messages": [{"id": "wamid…"}]}`;
- `POST /{version}/me/messages` (Messenger / Instagram Send API) → `{"recipient_id", "message_id"}`
  (ids shaped like Instagram's, longer than 128 characters; the provider's id is kept as `_id`).
It checks the bearer token (190 otherwise) and enforces the documented limits the hub must
respect (reply buttons ≤ 3 with titles ≤ 20, lists ≤ 10 rows with titles ≤ 24, quick replies
≤ 13 with titles ≤ 20, `tag` with `MESSAGE_TAG`), answering errors shaped like Meta's.
`closed_window` holds recipients whose standard window is over: a `RESPONSE` to them fails
with code 10 (subcode 2018278), a `HUMAN_AGENT`-tagged message goes through.

It serves media like the Graph API: `add_media()` registers a WhatsApp Cloud API media item and
returns its id; `GET /{version}/{media-id}` (bearer token; 401/190 otherwise, 400/100 for an unknown
id) answers `{"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}` with a
download URL served here that needs the same bearer token and expires (`media_url_ttl`, 5 minutes
as Meta documents). `add_cdn_file()` serves an Instagram/Messenger attachment at an
unauthenticated CDN-style URL. Every media `GET` is recorded in `media_requests` and
`media_fail_next` makes the next ones fail.

It also plays Meta's side of the webhooks: `post_webhook()` sends a JSON body signed with
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret), as Meta does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

VERSION = "v21.0"


def instagram_style_mid() -> str:
    """A message id shaped like Instagram's (base64, well over 128 characters)."""
    return base64.urlsafe_b64encode(b"ig_message_item:1:IGMessageQueue:" + os.urandom(90)).decode().rstrip("=")


def _violations(path_kind: str, body: dict[str, Any]) -> list[str]:
    """What Meta would refuse in this request (empty when it is valid)."""
    problems: list[str] = []
    if path_kind == "whatsapp":
        if body.get("messaging_product") != "whatsapp" or not body.get("to"):
            problems.append("messaging_product/to")
        kind = body.get("type")
        if kind == "text":
            if not 0 < len(body["text"]["body"]) <= 4096:
                problems.append("text.body length")
        elif kind == "interactive":
            inter = body["interactive"]
            if not 0 < len(inter["body"]["text"]) <= 1024:
                problems.append("interactive.body.text length")
            if inter["type"] == "button":
                buttons = inter["action"]["buttons"]
                titles = [b["reply"]["title"] for b in buttons]
                ids = [b["reply"]["id"] for b in buttons]
                if not 1 <= len(buttons) <= 3:
                    problems.append("buttons count")
                if any(not 0 < len(t) <= 20 for t in titles) or len(set(titles)) != len(titles):
                    problems.append("button title")
                if any(not 0 < len(i) <= 256 for i in ids) or len(set(ids)) != len(ids):
                    problems.append("button id")
            elif inter["type"] == "list":
                action = inter["action"]
                rows = [r for s in action["sections"] for r in s["rows"]]
                if not 0 < len(action["button"]) <= 20:
                    problems.append("list button")
                if not 1 <= len(rows) <= 10:
                    problems.append("rows count")
                if any(not 0 < len(r["title"]) <= 24 or len(r.get("description", "")) > 72
                       or not 0 < len(r["id"]) <= 200 for r in rows):
                    problems.append("row fields")
            else:
                problems.append("interactive.type")
        elif kind == "image":
            if not body["image"].get("link") or len(body["image"].get("caption", "")) > 1024:
                problems.append("image")
        elif kind == "template":
            if not body["template"].get("name") or not body["template"].get("language", {}).get("code"):
                problems.append("template")
        else:
            problems.append("type")
    else:
        if not body.get("recipient", {}).get("id"):
            problems.append("recipient.id")
        mtype = body.get("messaging_type")
        if mtype not in ("RESPONSE", "UPDATE", "MESSAGE_TAG") or (mtype == "MESSAGE_TAG") != bool(body.get("tag")):
            problems.append("messaging_type/tag")
        message = body.get("message", {})
        if not message.get("text") and not message.get("attachment"):
            problems.append("message.text")
        if len(message.get("text", "")) > 2000:
            problems.append("text length")
        quick = message.get("quick_replies") or []
        if len(quick) > 13 or any(not 0 < len(q["title"]) <= 20 or not 0 < len(q["payload"]) <= 1000
                                  or q["content_type"] != "text" for q in quick):
            problems.append("quick_replies")
    return problems


class FakeMeta:
    """Start with `.start()`; `base_url` goes into META_GRAPH_API_BASE."""

    def __init__(self, access_token: str = "meta-token", app_secret: str = "meta-app-secret",
                 phone_number_id: str = "106540352242922") -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []  # HTTP statuses to answer with, one per coming request
        self.closed_window: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}  # WhatsApp media id -> (bytes, MIME type)
        self.cdn: dict[str, tuple[bytes, str]] = {}  # CDN path -> (bytes, content type)
        self.media_requests: list[dict[str, Any]] = []  # media GETs: kind (lookup|download|cdn), path, status
        self.media_fail_next: list[int] = []  # HTTP statuses for the coming media lookups
        self.media_url_ttl = 300.0
        self._downloads: dict[str, tuple[str, float]] = {}  # download hash -> (media id, expiry)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path == f"/{VERSION}/{outer.phone_number_id}/messages":
                    kind = "whatsapp"
                elif self.path == f"/{VERSION}/me/messages":
                    kind = "messaging"
                else:
                    return self._error(404, 803, "Unknown path components")
                if self.headers.get("Authorization") != f"Bearer {outer.access_token}":
                    return self._error(401, 190, "Invalid OAuth access token.")
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._error(400, 100, "Invalid JSON")
                with outer._lock:
                    forced = outer.fail_next.pop(0) if outer.fail_next else None
                    record = {"path": self.path, "kind": kind, "json": body}
                    outer.requests.append(record)
                if forced is not None:
                    record["_status"] = forced
                    return self._error(forced, 2 if forced >= 500 else 100, "simulated failure")
                try:
                    problems = _violations(kind, body)
                except (KeyError, TypeError, AttributeError):
                    problems = ["shape"]
                if problems:
                    record["_status"], record["_problems"] = 400, problems
                    return self._error(400, 131009 if kind == "whatsapp" else 100, "Parameter value is not valid")
                if kind == "messaging":
                    recipient = body["recipient"]["id"]
                    if recipient in outer.closed_window and body.get("tag") != "HUMAN_AGENT":
                        record["_status"] = 400
                        return self._error(400, 10, "This message is sent outside of allowed window.", 2018278)
                    record["_status"], record["_id"] = 200, instagram_style_mid()
                    return self._json(200, {"recipient_id": recipient, "message_id": record["_id"]})
                record["_status"], record["_id"] = 200, "wamid." + uuid.uuid4().hex
                to = body["to"]
                self._json(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                 "messages": [{"id": record["_id"]}]})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                bearer = self.headers.get("Authorization") == f"Bearer {outer.access_token}"
                record: dict[str, Any] = {"path": parts.path}
                with outer._lock:
                    outer.media_requests.append(record)
                if parts.path.startswith("/cdn/"):
                    record["kind"] = "cdn"
                    with outer._lock:
                        found = outer.cdn.get(parts.path)
                    return self._file(record, found)
                if parts.path == "/whatsapp_business/attachments/":
                    record["kind"] = "download"
                    if not bearer:
                        record["status"] = 401
                        return self._error(401, 190, "Invalid OAuth access token.")
                    digest = (parse_qs(parts.query).get("hash") or [""])[0]
                    with outer._lock:
                        media_id, until = outer._downloads.get(digest, ("", 0.0))
                        found = outer.media.get(media_id) if until > time.monotonic() else None
                    return self._file(record, found)
                record["kind"] = "lookup"
                media_id = parts.path.removeprefix(f"/{VERSION}/")
                if not bearer:
                    record["status"] = 401
                    return self._error(401, 190, "Invalid OAuth access token.")
                with outer._lock:
                    forced = outer.media_fail_next.pop(0) if outer.media_fail_next else None
                    found = outer.media.get(media_id)
                if forced is not None:
                    record["status"] = forced
                    return self._error(forced, 2 if forced >= 500 else 190, "simulated failure")
                if found is None or "/" in media_id:
                    record["status"] = 400
                    return self._error(400, 100, "Unsupported get request.")
                digest = uuid.uuid4().hex
                with outer._lock:
                    outer._downloads[digest] = (media_id, time.monotonic() + outer.media_url_ttl)
                data, mime = found
                record["status"] = 200
                self._json(200, {
                    "messaging_product": "whatsapp", "mime_type": mime, "id": media_id,
                    "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                    "url": f"{outer.base_url}/whatsapp_business/attachments/?mid={media_id}&ext={int(time.time())}"
                           f"&hash={digest}",
                })

            def _file(self, record: dict[str, Any], found: tuple[bytes, str] | None) -> None:
                if found is None:
                    record["status"] = 404
                    return self._error(404, 100, "Not found")
                data, content_type = found
                record["status"] = 200
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str, subcode: int | None = None) -> None:
                err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                                       "fbtrace_id": uuid.uuid4().hex[:11]}
                if subcode is not None:
                    err["error_subcode"] = subcode
                self._json(status, {"error": err})

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_media(self, data: bytes, mime_type: str) -> str:
        """Register a WhatsApp Cloud API media item; returns its media id (as in `image.id`)."""
        media_id = str(uuid.uuid4().int)[:16]
        with self._lock:
            self.media[media_id] = (data, mime_type)
        return media_id

    def add_cdn_file(self, data: bytes, content_type: str) -> str:
        """Serve an Instagram/Messenger attachment; returns its CDN URL (`payload.url`)."""
        path = f"/cdn/{uuid.uuid4().hex}"
        with self._lock:
            self.cdn[path] = (data, content_type)
        return self.base_url + path

    def expire_media_urls(self) -> None:
        """Make every download URL handed out so far expire (as Meta's do after 5 minutes)."""
        with self._lock:
            self._downloads.clear()

    def media_gets(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Media requests received (optionally only `lookup`, `download` or `cdn` ones)."""
        with self._lock:
            return [dict(r) for r in self.media_requests if kind is None or r.get("kind") == kind]

    def sign(self, raw: bytes) -> str:
        """`X-Hub-Signature-256` for `raw`."""
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    def post_webhook(self, url: str, payload: Any, *, signature: str | None = "auto") -> httpx.Response:
        """POST a webhook body as Meta does (`payload` bytes are sent as they are)."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if signature == "auto":
            signature = self.sign(raw)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(url, content=raw, headers=headers, timeout=15)

    def sent(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Accepted requests (optionally only `whatsapp` or `messaging` ones)."""
        with self._lock:
            return [r for r in self.requests if r.get("_status") == 200 and (kind is None or r["kind"] == kind)]

    def start(self) -> FakeMeta:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
