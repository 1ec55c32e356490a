"""Demo clinic page and the website chat widget's assets."""

from __future__ import annotations

from pathlib import Path

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

WEB = Path(__file__).resolve().parent
bp = Blueprint("pages")


@bp.get("/")
async def index(request: Request) -> HTTPResponse:
    """The demo clinic website with the chat widget."""
    return await file(WEB / "templates" / "index.html", mime_type="text/html; charset=utf-8")


@bp.get("/webchat/widget.js")
async def widget_js(request: Request) -> HTTPResponse:
    """The embeddable widget (one script tag)."""
    return await file(WEB / "static" / "widget.js", mime_type="application/javascript; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


@bp.get("/webchat/widget.css")
async def widget_css(request: Request) -> HTTPResponse:
    """The widget's stylesheet (injected by widget.js)."""
    return await file(WEB / "static" / "widget.css", mime_type="text/css; charset=utf-8",
                      headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})
