"""A local server speaking Twilio's Messages and Calls REST API (the provider boundary in tests).

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` and `.../Calls.json` like Twilio does
(201 + JSON with `sid`), checks Basic auth, records every request (`requests`, `calls`), and can
be told to fail the next N calls.

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
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import httpx


class FakeTwilio:
    """Start with `.start()`; `base_url` goes into TWILIO_API_BASE."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "secret-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[dict[str, str]] = []  # Messages.json
        self.calls: list[dict[str, str]] = []  # Calls.json (call backs placed by attendants)
        self.fail_next: list[int] = []  # statuses to answer with, one per coming request
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
        """An inbound-message webhook form shaped like Twilio's (WhatsApp when `from_` has the
        `whatsapp:` prefix: then ProfileName/WaId/MessageType are present too)."""
        media = media or []
        form = {"ToCountry": "BR", "SmsMessageSid": sid, "NumMedia": str(len(media)), "SmsSid": sid,
                "SmsStatus": "received", "Body": body, "To": to, "NumSegments": "1", "MessageSid": sid,
                "AccountSid": self.account_sid, "From": from_, "ApiVersion": "2010-04-01"}
        for i, (url, content_type) in enumerate(media):
            form[f"MediaUrl{i}"] = url
            form[f"MediaContentType{i}"] = content_type
        if from_.startswith("whatsapp:"):
            form.update(ProfileName=profile_name or "", WaId=from_.removeprefix("whatsapp:+"),
                        MessageType="image" if media and not body else "text", ReferralNumMedia="0")
        form.update(extra)
        return form

    def voice_form(self, *, call_sid: str, from_: str, to: str, **extra: str) -> dict[str, str]:
        """A Voice webhook form shaped like Twilio's (incoming call; the <Gather> action adds
        `Digits` or `SpeechResult`/`Confidence`)."""
        form = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "CallSid": call_sid,
                "CallStatus": "in-progress", "Called": to, "CalledCountry": "BR", "Caller": from_,
                "CallerCountry": "BR", "Direction": "inbound", "From": from_, "FromCountry": "BR", "To": to,
                "ToCountry": "BR"}
        form.update(extra)
        return form

    def status_form(self, *, sid: str, status: str, to: str, from_: str,
                    error_code: str | None = None) -> dict[str, str]:
        """A status-callback form shaped like Twilio's."""
        form = {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": to, "MessageSid": sid,
                "AccountSid": self.account_sid, "From": from_, "ApiVersion": "2010-04-01"}
        if error_code:
            form["ErrorCode"] = error_code
        return form

    def start(self) -> FakeTwilio:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
