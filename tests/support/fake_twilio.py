"""A local server speaking Twilio's Messages, Calls and Media REST API (the provider boundary in tests).

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` and `.../Calls.json` like Twilio does
(201 + JSON with `sid`), checks Basic auth, records every request (`requests`, `calls`), and can
be told to fail the next N calls.

It serves inbound media like Twilio: `add_media()` registers a file under
`/2010-04-01/Accounts/{sid}/Messages/{MessageSid}/Media/{MediaSid}` and returns the `MediaUrl`
Twilio would put in the webhook (on api.twilio.com: the hub must rewrite the host to
TWILIO_API_BASE). A `GET` of that path needs Basic auth (401 otherwise, 404 for unknown media) and
answers with a redirect to a short-lived CDN URL served here too, as Twilio does; every media `GET`
is recorded in `media_requests` and `media_fail_next` makes the next ones fail.

It also plays Twilio's side of the webhooks: `sign()` computes `X-Twilio-Signature` as Twilio
documents it (HMAC-SHA1 with the auth token over the full URL followed by every POST parameter,
sorted by name, name then value, base64) — written out here, independently of the twilio
library the hub validates with — and `post_webhook()` delivers a form-encoded request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.fixtures import load_fixture


class FakeTwilio:
    """Start with `.start()`; `base_url` goes into TWILIO_API_BASE."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "secret-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[dict[str, str]] = []  # Messages.json
        self.calls: list[dict[str, str]] = []  # Calls.json (call backs placed by attendants)
        self.fail_next: list[int] = []  # statuses to answer with, one per coming request
        self.media: dict[str, tuple[bytes, str]] = {}  # media path -> (bytes, content type)
        self.media_requests: list[dict[str, str]] = []  # GETs of media paths: path, status
        self.media_fail_next: list[int] = []  # statuses for the coming media GETs
        self._cdn: dict[str, tuple[str, float]] = {}  # CDN token -> (media path, expiry)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                expected = "Basic " + base64.b64encode(f"{outer.account_sid}:{outer.auth_token}".encode()).decode()
                if self.path == f"/2010-04-01/Accounts/{outer.account_sid}/Calls.json":
                    return self._call(body, expected)
                if self.path != f"/2010-04-01/Accounts/{outer.account_sid}/Messages.json":
                    return self._json(404, {"code": 20404, "message": "not found", "status": 404})
                if self.headers.get("Authorization") != expected:
                    return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                form = {k: v[0] for k, v in parse_qs(body).items()}
                with outer._lock:
                    status = outer.fail_next.pop(0) if outer.fail_next else 201
                    outer.requests.append({**form, "_status": str(status)})
                if status != 201:
                    return self._json(status, {"code": 20500 if status >= 500 else 21211,
                                               "message": "simulated failure", "status": status})
                sid = "SM" + uuid.uuid4().hex
                self._json(201, {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                                 "body": form.get("Body"), "account_sid": outer.account_sid})

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/cdn/"):
                    return self._cdn_file(path.removeprefix("/cdn/"))
                expected = "Basic " + base64.b64encode(f"{outer.account_sid}:{outer.auth_token}".encode()).decode()
                with outer._lock:
                    known = outer.media.get(path)
                    record = {"path": path}
                    outer.media_requests.append(record)
                    forced = outer.media_fail_next.pop(0) if outer.media_fail_next else None
                if self.headers.get("Authorization") != expected:
                    record["status"] = "401"
                    return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                if forced is not None:
                    record["status"] = str(forced)
                    return self._json(forced, {"code": 20500, "message": "simulated failure", "status": forced})
                if known is None:
                    record["status"] = "404"
                    return self._json(404, {"code": 20404, "message": "not found", "status": 404})
                token = uuid.uuid4().hex
                with outer._lock:
                    outer._cdn[token] = (path, time.monotonic() + 300)
                record["status"] = "307"
                self.send_response(307)
                self.send_header("Location", f"{outer.base_url}/cdn/{token}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _cdn_file(self, token: str) -> None:
                """The short-lived, unauthenticated URL a media GET redirects to."""
                with outer._lock:
                    path, until = outer._cdn.get(token, ("", 0.0))
                    found = outer.media.get(path) if until > time.monotonic() else None
                if found is None:
                    return self._json(404, {"message": "expired or unknown"})
                data, content_type = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _call(self, body: str, expected: str) -> None:
                """Calls resource: To, From and Url or Twiml required; 201 + the call's `sid` (CA…)."""
                if self.headers.get("Authorization") != expected:
                    return self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                form = {k: v[0] for k, v in parse_qs(body).items()}
                with outer._lock:
                    status = outer.fail_next.pop(0) if outer.fail_next else 201
                    if status == 201 and not (form.get("To") and form.get("From")
                                              and (form.get("Url") or form.get("Twiml"))):
                        status = 400
                    outer.calls.append({**form, "_status": str(status)})
                if status != 201:
                    return self._json(status, {"code": 21205 if status == 400 else 20500,
                                               "message": "simulated failure", "status": status})
                self._json(201, {"sid": "CA" + uuid.uuid4().hex, "status": "queued", "to": form.get("To"),
                                 "from": form.get("From"), "direction": "outbound-api",
                                 "account_sid": outer.account_sid})

            def _json(self, status: int, data: dict[str, object]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_media(self, message_sid: str, data: bytes, content_type: str) -> str:
        """Serve `data` as a media item of `message_sid`; returns its `MediaUrl` as Twilio sends it."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/ME{uuid.uuid4().hex}"
        with self._lock:
            self.media[path] = (data, content_type)
        return "https://api.twilio.com" + path

    def media_gets(self, url: str) -> int:
        """How many times the media at `url` (a `MediaUrl`) was requested."""
        path = urlsplit(url).path
        with self._lock:
            return sum(1 for r in self.media_requests if r["path"] == path)

    def sign(self, url: str, params: dict[str, str]) -> str:
        """`X-Twilio-Signature` for a POST of `params` to `url`."""
        data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
        digest = hmac.new(self.auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def post_webhook(self, url: str, params: dict[str, str], *, signature: str | None = "auto",
                     signed_url: str | None = None) -> httpx.Response:
        """POST `params` form-encoded to `url` as Twilio does (`signature=None`: no header;
        `signed_url`: sign another URL than the one called, e.g. a misconfigured base URL)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"}
        if signature == "auto":
            signature = self.sign(signed_url or url, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return httpx.post(url, content=urlencode(params).encode(), headers=headers, timeout=15)

    def inbound_form(self, *, sid: str, from_: str, to: str, body: str = "", media: list[tuple[str, str]] | None = None,
                     profile_name: str | None = None, **extra: str) -> dict[str, str]:
        """An inbound-message webhook form (tests/fixtures/twilio/messaging_inbound_sms.json, or
        messaging_inbound_whatsapp.json when `from_` has the `whatsapp:` prefix: then
        ProfileName/WaId/MessageType are present too), with `media` as MediaUrl{N}/MediaContentType{N}."""
        media = media or []
        common = {"sid": sid, "body": body, "to_number": to, "from_number": from_, "account_sid": self.account_sid}
        form: dict[str, str]
        if from_.startswith("whatsapp:"):
            form = load_fixture("twilio", "messaging_inbound_whatsapp", **common, profile_name=profile_name or "",
                                wa_id=from_.removeprefix("whatsapp:+"))
            form["MessageType"] = "image" if media and not body else "text"
        else:
            form = load_fixture("twilio", "messaging_inbound_sms", **common)
        form["NumMedia"] = str(len(media))
        for i, (url, content_type) in enumerate(media):
            form[f"MediaUrl{i}"] = url
            form[f"MediaContentType{i}"] = content_type
        form.update(extra)
        return form

    def voice_form(self, *, call_sid: str, from_: str, to: str, **extra: str) -> dict[str, str]:
        """A Voice webhook form (tests/fixtures/twilio/voice_incoming_call.json; the <Gather>
        action adds `Digits` or `SpeechResult`/`Confidence`)."""
        form: dict[str, str] = load_fixture("twilio", "voice_incoming_call", account_sid=self.account_sid,
                                            call_sid=call_sid, from_number=from_, to_number=to)
        form.update(extra)
        return form

    def status_form(self, *, sid: str, status: str, to: str, from_: str,
                    error_code: str | None = None) -> dict[str, str]:
        """A status-callback form (tests/fixtures/twilio/messaging_status_callback[_error].json)."""
        common = {"sid": sid, "status": status, "to_number": to, "from_number": from_, "account_sid": self.account_sid}
        if error_code:
            with_error: dict[str, str] = load_fixture("twilio", "messaging_status_callback_error", **common,
                                                      error_code=error_code)
            return with_error
        form: dict[str, str] = load_fixture("twilio", "messaging_status_callback", **common)
        return form

    def start(self) -> FakeTwilio:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
