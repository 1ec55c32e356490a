"""A local server speaking Meta's Graph API for messaging (the provider boundary in tests).

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
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
