"""Every HTML page of the hub carries a Content-Security-Policy without inline script, and no
page has an inline script or an inline event handler (issue 13).

The routes are read from the app's router, so a page added later is checked too; each GET route
without path parameters is fetched signed in as the admin (staff pages) and signed out.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from handoff.web.security_headers import PAGE_CSP
from tests.clinic.conftest import start_hub
from tests.conftest import Backend

TEMPLATES = Path(__file__).resolve().parents[2] / "handoff" / "web" / "templates"


class _InlineFinder(HTMLParser):
    """Collects inline scripts, inline event handlers, `javascript:` URLs and inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k.lower(): (v or "") for k, v in attrs}
        for name, value in named.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> inline handler")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
        if tag == "style":
            self.problems.append("<style> block")
        if tag == "script":
            kind = named.get("type", "").lower()
            if "src" in named:
                self._in_script = None
            elif kind == "application/json":
                self._in_script = None  # a data block: never executed
            else:
                self._in_script = kind or "text/javascript"
                self.problems.append(f"inline <script type={self._in_script!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def inline_problems(html: str) -> list[str]:
    """What in `html` a strict CSP would block (or that we forbid anyway)."""
    finder = _InlineFinder()
    finder.feed(html)
    return finder.problems


def test_the_checker_catches_what_it_should() -> None:
    assert inline_problems('<script>alert(1)</script>')
    assert inline_problems('<img src=x onerror="alert(1)">')
    assert inline_problems('<a href="javascript:alert(1)">x</a>')
    assert inline_problems('<div style="color:red">')
    assert not inline_problems('<script type="application/json" id="c">{"a": 1}</script>')
    assert not inline_problems('<script src="/x.js" defer></script>')


def test_templates_have_no_inline_script_or_style() -> None:
    pages = sorted(TEMPLATES.glob("*.html"))
    assert len(pages) >= 7
    for page in pages:
        assert inline_problems(page.read_text()) == [], page.name


def _script_src(csp: str) -> str:
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    return directives.get("script-src") or directives.get("default-src") or ""


async def test_every_html_route_has_the_headers_and_no_inline_script(backend: Backend) -> None:
    hub, life = await start_hub(backend)
    try:
        staff = await hub.staff()
        paths = sorted({"/" + r.path.lstrip("/") for r in hub.app.router.routes
                        if "GET" in r.methods and not r.params and "<" not in r.path})
        html_pages: dict[str, int] = {}
        for path in paths:
            if path.endswith("/ws"):
                continue
            for who, headers in (("admin", staff), ("anonymous", {})):
                r = await hub.client.get(path, headers=headers)
                if not r.headers.get("content-type", "").startswith("text/html"):
                    assert r.headers.get("x-content-type-options") == "nosniff", (path, who)
                    continue
                html_pages[path] = r.status_code
                csp = r.headers.get("content-security-policy", "")
                assert csp, (path, who)
                script_src = _script_src(csp)
                assert "'self'" in script_src or "'none'" in script_src, (path, csp)
                assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, (path, csp)
                assert "frame-ancestors" in csp, (path, csp)
                assert r.headers.get("x-content-type-options") == "nosniff", path
                assert r.headers.get("referrer-policy"), path
                assert r.headers.get("x-frame-options") == "DENY", path
                assert inline_problems(r.text) == [], (path, who)
        # The pages this test must have seen (it fails if routing hides them from it).
        for path in ("/", "/login", "/inbox", "/equipe", "/bot", "/dashboard", "/sandbox", "/privacidade",
                     "/privacidade/aviso", "/auditoria"):
            assert html_pages.get(path) == 200, (path, html_pages)
    finally:
        await hub.client.aclose()
        await life.stop()


async def test_the_default_policy_reaches_pages_without_their_own(backend: Backend) -> None:
    hub, life = await start_hub(backend)
    try:
        r = await hub.client.get("/")
        assert r.headers["content-security-policy"] == PAGE_CSP
        r = await hub.client.get("/site.js")
        assert r.status_code == 200 and "AtendeWidget" in r.text
        r = await hub.client.get("/site.css")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
        r = await hub.client.get("/sandbox/sandbox.css")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    finally:
        await hub.client.aclose()
        await life.stop()
