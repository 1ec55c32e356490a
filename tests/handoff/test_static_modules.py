"""The staff pages' ES modules and panel stylesheets: `GET /static/<path>` serves the JavaScript and
the CSS of web/static/ and its sub-folders (the shared lib, a page's panels) with the page assets'
headers, never anything outside it nor another file type; every page loads its script as a module,
every import and every linked stylesheet resolves to a served file. The patient widget's loader
(/webchat/widget.js) and the parts it loads are served alike, readable from any site.

Runs in-process (httpx ASGI transport on the real app, like tests/clinic) on SQLite.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from handoff.adapters.sql.migrate import upgrade
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend

WEB = Path(__file__).resolve().parents[2] / "handoff" / "web"
STATIC = WEB / "static"
IMPORT_RE = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']""",
                       re.MULTILINE)
# The entry script of every staff page, at the URL its template loads it from.
ENTRIES = {
    "/inbox/inbox.js": "inbox.js", "/inbox/login.js": "login.js", "/bot/bot.js": "bot.js",
    "/equipe/team.js": "team.js", "/auditoria/audit.js": "audit.js", "/dashboard/dashboard.js": "dashboard.js",
    "/privacidade/privacy.js": "privacy.js", "/privacidade/privacy_incidents.js": "privacy_incidents.js",
    "/privacidade/privacy_retention.js": "privacy_retention.js", "/integracoes/integrations.js": "integrations.js",
    "/lembretes/reminders.js": "reminders.js", "/sandbox/sandbox.js": "sandbox.js",
}


@pytest.fixture
async def hub(tmp_path: Any) -> AsyncIterator[Hub]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    h, life = await start_hub(Backend("sqlite", url, None))
    try:
        yield h
    finally:
        await h.client.aclose()
        await life.stop()


async def test_lib_modules_are_served_as_javascript(hub: Hub) -> None:
    """The same headers as a page's own script (/inbox/inbox.js): type, nosniff, caching."""
    page_script = await hub.client.get("/inbox/inbox.js")
    assert page_script.status_code == 200
    for name in ("lib/dom.js", "lib/api.js", "lib/ws.js", "lib/format.js", "inbox/state.js", "bot/util.js"):
        r = await hub.client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"] == "application/javascript; charset=utf-8"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "no-cache" in r.headers["cache-control"]
        for header in ("content-type", "x-content-type-options", "cache-control", "access-control-allow-origin"):
            assert r.headers.get(header) == page_script.headers.get(header), (name, header)
        assert r.content == (STATIC / name).read_bytes()


@pytest.mark.parametrize("path", [
    "/static/%2e%2e/pages.py",
    "/static/%2E%2E/%2E%2E/app.py",
    "/static/lib/%2e%2e/%2e%2e/pages.py",
    "/static/..%2fpages.py",
    "/static/lib/..%2f..%2f__init__.py",
    "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/..%5c..%5cpages.py",
    "/static/lib/%2e/dom.js",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/lib/missing.js",
    "/static/inbox/missing.css",
    "/static/inbox.css.map",
    "/static/lib",
])
async def test_nothing_outside_static_js(hub: Hub, path: str) -> None:
    r = await hub.client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert "import " not in r.text and "def " not in r.text


async def test_panel_stylesheets_are_served_as_css(hub: Hub) -> None:
    """The inbox's panel stylesheets: the same headers as its main stylesheet (/inbox/inbox.css)."""
    page_css = await hub.client.get("/inbox/inbox.css")
    assert page_css.status_code == 200
    names = sorted(str(f.relative_to(STATIC)) for f in (STATIC / "inbox").glob("*.css"))
    assert names
    for name in names:
        r = await hub.client.get(f"/static/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"] == "text/css; charset=utf-8"
        for header in ("content-type", "x-content-type-options", "cache-control", "access-control-allow-origin"):
            assert r.headers.get(header) == page_css.headers.get(header), (name, header)
        assert r.content == (STATIC / name).read_bytes()


async def test_only_javascript_and_css_are_served(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another file type inside web/static/ (a note, a map, a copy of a template) is a 404."""
    from handoff.web import pages

    root = tmp_path / "static"
    root.mkdir()
    for name in ("a.js", "a.css", "a.txt", "a.py", "a.html", "a.js.map", "a.CSS", "css", ".css"):
        (root / name).write_text("x")
    monkeypatch.setattr(pages, "STATIC", root)
    served = {name: (await hub.client.get(f"/static/{name}")).status_code
              for name in ("a.js", "a.css", "a.txt", "a.py", "a.html", "a.js.map", "a.CSS", "css", ".css")}
    assert served == {"a.js": 200, "a.css": 200, "a.txt": 404, "a.py": 404, "a.html": 404, "a.js.map": 404,
                      "a.CSS": 404, "css": 404, ".css": 404}


async def test_every_stylesheet_of_every_page_resolves(hub: Hub) -> None:
    """Each `<link rel="stylesheet">` of a template is served as CSS (none inline: tests/security)."""
    for template in sorted((WEB / "templates").glob("*.html")):
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', template.read_text(encoding="utf-8")):
            r = await hub.client.get(href)
            assert r.status_code == 200, (template.name, href)
            assert r.headers["content-type"] == "text/css; charset=utf-8", (template.name, href)


async def test_the_widget_parts_are_served_like_the_widget(hub: Hub) -> None:
    """widget.js loads its parts (`PARTS`, as widget_<part>.js) from its own folder, from any site."""
    loader = await hub.client.get("/webchat/widget.js")
    assert loader.status_code == 200
    assert loader.headers["access-control-allow-origin"] == "*"
    match = re.search(r"var PARTS = \[([^\]]*)\]", loader.text)
    assert match
    parts = re.findall(r'"(\w+)"', match.group(1))
    assert parts == ["transport", "ui"]
    for part in parts:
        r = await hub.client.get(f"/webchat/widget_{part}.js")
        assert r.status_code == 200, part
        for header in ("content-type", "x-content-type-options", "cache-control", "access-control-allow-origin"):
            assert r.headers.get(header) == loader.headers.get(header), (part, header)
        assert r.content == (STATIC / f"widget_{part}.js").read_bytes()


async def test_raw_dot_dot_segments_are_refused(hub: Hub) -> None:
    """`..` sent as is (no client normalisation): the route never reads above web/static/."""
    for raw in (b"/static/../pages.py", b"/static/lib/../../pages.py", b"/static/../../../../etc/passwd"):
        request = hub.client.build_request("GET", "http://hub.test/static/x.js")
        request.url = request.url.copy_with(raw_path=raw)
        r = await hub.client.send(request)
        assert r.status_code == 404, (raw, r.status_code)


def _imports(source: str) -> list[str]:
    return [a or b for a, b in IMPORT_RE.findall(source)]


async def test_every_import_of_every_page_resolves(hub: Hub) -> None:
    """Walk the import graph from each page's entry URL as a browser would (URL resolution)."""
    from urllib.parse import urljoin

    seen: set[str] = set()
    todo = list(ENTRIES)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        r = await hub.client.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith("application/javascript"), url
        for spec in _imports(r.text):
            assert spec.startswith(("/", "./", "../")), (url, spec)  # no bare specifiers (no build step)
            todo.append(urljoin("http://hub.test" + url, spec).removeprefix("http://hub.test"))
    assert any(u.startswith("/static/lib/") for u in seen)


def test_staff_templates_load_modules_without_inline_script() -> None:
    for template in sorted((WEB / "templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if 'type="application/json"' in tag:
                continue
            assert "src=" in tag, (template.name, tag)
            if template.name != "index.html":  # the demo site: site.js and the widget stay classic
                assert 'type="module"' in tag, (template.name, tag)
