"""Provider media are fetched only from the provider's hosts, redirects re-checked, credentials
kept on the API origin, and the size cap enforced while the file streams in (issue 13).

Real local HTTP servers stand in for the provider API, its CDN and a host that must never be
contacted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from connectors import meta, twilio
from connectors.base import META_MEDIA_HOSTS, TWILIO_MEDIA_HOSTS, ChannelError, MediaTooLarge, host_allowed
from handoff.settings import Settings

ACCOUNT = "AC" + "a" * 32
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'b' * 32}/Media/ME{'c' * 32}"
BIG = 512 * 1024


class Server:
    """A local HTTP server with programmable routes; records every request (path, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes | None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = outer.routes.get(self.path, (404, {}, b"nope"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if body is None:  # streamed without a length: the cap must hold while reading
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for _ in range(BIG // 4096):
                            self.wfile.write(b"1000\r\n" + b"x" * 4096 + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server, Server]]:
    """(provider API, provider CDN, elsewhere)."""
    trio = (Server(), Server(), Server())
    yield trio
    for s in trio:
        s.close()


def test_host_allowlist_rules() -> None:
    hosts = [*TWILIO_MEDIA_HOSTS, *META_MEDIA_HOSTS]
    for ok in ("https://api.twilio.com/2010-04-01/x", "https://media.twiliocdn.com/a",
               "https://scontent.xx.fbcdn.net/v/t1", "https://lookaside.fbsbx.com/whatsapp_business/x",
               "https://graph.facebook.com/v21.0/1", "https://scontent.cdninstagram.com/v/t51"):
        assert host_allowed(ok, hosts), ok
    for bad in ("http://api.twilio.com/x",  # plain HTTP
                "https://api.twilio.com:8443/x", "https://twiliocdn.com.evil.example/x", "https://eviltwiliocdn.com/x",
                "https://fbcdn.net.evil.example/x", "https://user:pw@api.twilio.com/x", "https://169.254.169.254/x",
                "file:///etc/passwd", "https://127.0.0.1/x", "//api.twilio.com/x", "https://evil.example/fbcdn.net",
                "https://api.twilio.com:abc/x", "https://api.twilio.com@evil.example/x", "https://fbcdn.net/x"):
        assert not host_allowed(bad, hosts), bad
    assert host_allowed("http://127.0.0.1:9/x", hosts, ("http://127.0.0.1:9",))
    assert not host_allowed("http://127.0.0.1:10/x", hosts, ("http://127.0.0.1:9",))
    assert host_allowed("http://127.0.0.1:10/x", [*hosts, "http://127.0.0.1:10"])
    # The defaults of the settings are the real providers' hosts.
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.twilio_media_host_list == list(TWILIO_MEDIA_HOSTS)
    assert settings.meta_media_host_list == list(META_MEDIA_HOSTS)


async def test_twilio_redirects_are_rechecked_and_credentials_stay_on_the_api(
        servers: tuple[Server, Server, Server]) -> None:
    api, cdn, elsewhere = servers
    kw: dict[str, Any] = {"api_base": api.origin, "account_sid": ACCOUNT, "auth_token": "secret-token"}
    url = "https://api.twilio.com" + MEDIA_PATH

    # Redirect to the CDN (allowed by configuration): followed, without the API credentials.
    api.routes[MEDIA_PATH] = (307, {"Location": cdn.origin + "/file"}, b"")
    cdn.routes["/file"] = (200, {"Content-Type": "image/png"}, b"PNGDATA")
    assert await twilio.fetch_media(url, **kw, allowed_hosts=[*TWILIO_MEDIA_HOSTS, cdn.origin]) == \
        (b"PNGDATA", "image/png")
    assert api.requests[-1][1].get("authorization", "").startswith("Basic ")
    assert "authorization" not in cdn.requests[-1][1]

    # A redirect to a host off the list is refused before it is contacted.
    api.routes[MEDIA_PATH] = (302, {"Location": elsewhere.origin + "/steal"}, b"")
    with pytest.raises(ChannelError) as refused:
        await twilio.fetch_media(url, **kw)
    assert "not allowed" in str(refused.value) and not refused.value.retryable
    assert elsewhere.requests == []

    # Redirect loops end.
    api.routes[MEDIA_PATH] = (302, {"Location": MEDIA_PATH}, b"")
    with pytest.raises(ChannelError, match="too many redirects"):
        await twilio.fetch_media(url, **kw)

    # The size cap holds on a body without Content-Length (checked while streaming) and on a
    # declared one.
    api.routes[MEDIA_PATH] = (200, {"Content-Type": "image/png"}, None)
    with pytest.raises(MediaTooLarge):
        await twilio.fetch_media(url, **kw, max_bytes=64 * 1024)
    api.routes[MEDIA_PATH] = (200, {"Content-Type": "image/png"}, b"x" * 5000)
    with pytest.raises(MediaTooLarge):
        await twilio.fetch_media(url, **kw, max_bytes=4999)
    assert (await twilio.fetch_media(url, **kw, max_bytes=5000))[0] == b"x" * 5000


async def test_meta_cdn_urls_must_be_meta_hosts_and_redirects_rechecked(
        servers: tuple[Server, Server, Server]) -> None:
    graph, cdn, elsewhere = servers
    # A Messenger/Instagram attachment URL elsewhere than Meta's CDN is never fetched.
    elsewhere.routes["/img"] = (200, {"Content-Type": "image/jpeg"}, b"JPEG")
    for bad in (elsewhere.origin + "/img", "https://evil.example/img.jpg"):
        with pytest.raises(ChannelError):
            await meta.fetch_attachment_url(bad, api_base=graph.origin)
    assert elsewhere.requests == []
    # Allowed CDN (configured), redirect to elsewhere refused.
    cdn.routes["/img"] = (302, {"Location": elsewhere.origin + "/img"}, b"")
    with pytest.raises(ChannelError, match="not allowed"):
        await meta.fetch_attachment_url(cdn.origin + "/img", api_base=graph.origin,
                                        allowed_hosts=[*META_MEDIA_HOSTS, cdn.origin])
    assert elsewhere.requests == []
    cdn.routes["/ok"] = (200, {"Content-Type": "image/jpeg"}, b"JPEG")
    assert await meta.fetch_attachment_url(cdn.origin + "/ok", api_base=graph.origin,
                                           allowed_hosts=[*META_MEDIA_HOSTS, cdn.origin]) == (b"JPEG", "image/jpeg")
    cdn.routes["/big"] = (200, {"Content-Type": "image/jpeg"}, None)
    with pytest.raises(MediaTooLarge):
        await meta.fetch_attachment_url(cdn.origin + "/big", api_base=graph.origin, max_bytes=10_000,
                                        allowed_hosts=[*META_MEDIA_HOSTS, cdn.origin])

    # WhatsApp Cloud API: the lookup's download URL must be on an allowed host; the bearer token
    # is not sent to another origin.
    graph.routes["/v21.0/12345"] = (200, {"Content-Type": "application/json"},
                                    b'{"url": "' + elsewhere.origin.encode() + b'/m", "mime_type": "audio/ogg"}')
    with pytest.raises(ChannelError, match="no usable download URL"):
        await meta.fetch_whatsapp_media("12345", api_base=graph.origin, access_token="tok")
    assert elsewhere.requests == []
    graph.routes["/v21.0/12345"] = (200, {"Content-Type": "application/json"},
                                    b'{"url": "' + cdn.origin.encode() + b'/ok", "mime_type": "audio/ogg"}')
    assert await meta.fetch_whatsapp_media("12345", api_base=graph.origin, access_token="tok",
                                           allowed_hosts=[*META_MEDIA_HOSTS, cdn.origin]) == (b"JPEG", "audio/ogg")
    assert graph.requests[-1][1].get("authorization") == "Bearer tok"
    # The download URL's own origin gets the token (Meta's lookaside requires it); a redirect
    # from there to elsewhere is refused.
    assert cdn.requests[-1][1].get("authorization") == "Bearer tok"
