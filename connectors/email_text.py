"""The text of a mail: decoded parts, HTML turned into text, quoted replies and signatures removed."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from html.parser import HTMLParser

# --- bodies -----------------------------------------------------------------------------

_ATTRIBUTION_START = re.compile(r"^\s*(em|on|el)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(escreveu|wrote|escribió)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|mensagem original|mensaje original)\s*-{2,}\s*$",
                       re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(de|from)\s*:\s*\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(enviado|enviada|enviado em|enviada em|sent|date|data|para|to)\s*:",
                          re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_SIGNATURE = re.compile(r"^\s*(enviado d[oe] meu|enviado do|sent from my|obtenha o outlook)\b", re.IGNORECASE)


def _quote_start(lines: list[str], i: int) -> int | None:
    """Where the quoted part begins if line `i` opens it (None otherwise)."""
    line = lines[i]
    if line.rstrip() == "--" or line == "-- " or _ORIGINAL.match(line):
        return i
    if _ATTRIBUTION_START.match(line):  # the attribution may be wrapped over up to 3 lines
        for n in (1, 2, 3):
            if _ATTRIBUTION_END.search(" ".join(x.strip() for x in lines[i:i + n])):
                return i
    if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(x) for x in lines[i + 1:i + 5]):
        return i - 1 if i > 0 and _UNDERSCORES.match(lines[i - 1]) else i
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines (`>`), the quoted mail under an attribution line
    ("Em <data>, <nome> escreveu:", "On … wrote:"), Outlook's "-----Original Message-----" or
    "De: … Enviado: …" header block, and the signature after "-- " are removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i in range(len(lines)):
        start = _quote_start(lines, i)
        if start is not None:
            cut = start
            break
    kept = [ln.rstrip() for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    while kept and (not kept[-1].strip() or _MOBILE_SIGNATURE.match(kept[-1])):
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    out: list[str] = []
    for ln in kept:  # at most one blank line in a row
        if ln.strip() or (out and out[-1].strip()):
            out.append(ln)
    return "\n".join(out)


_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "ul", "ol",
          "section", "article", "header", "footer", "pre", "address", "dd", "dt"}
_SKIP = {"style", "script", "head", "title", "blockquote", "template", "noscript"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source", "track", "embed"}
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "gmail_attr")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")


class _HtmlText(HTMLParser):
    """HTML mail → plain text: blocks become lines; quoted replies and non-content are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = ""
        self.skip: list[str] = []  # open elements whose content is dropped
        self.stopped = False  # Outlook: everything after its reply marker is the quoted mail

    def _break(self, lines: int = 1) -> None:
        """End the current line (`lines=2`: and leave a blank one); never at the very start."""
        self.out = self.out.rstrip(" ")
        if self.out:
            self.out += "\n" * max(0, lines - (len(self.out) - len(self.out.rstrip("\n"))))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = {k.lower(): (v or "").lower() for k, v in attrs}
        if values.get("id") in _QUOTE_IDS:
            self.stopped = True
            return
        if tag in _VOID:
            if not self.skip and tag in ("br", "hr"):
                self.out = self.out.rstrip(" ") + "\n"
            return
        if self.skip or tag in _SKIP or any(c in values.get("class", "") for c in _QUOTE_CLASSES):
            self.skip.append(tag)
            return
        if tag in _BLOCK:
            self._break()
        elif tag in ("td", "th") and self.out and not self.out.endswith(("\n", " ")):
            self.out += " "
        if tag == "li":
            self.out += "- "

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in _VOID:
            return
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag in _BLOCK:
            self._break(2 if tag in ("p", "table", "ul", "ol", "pre") else 1)

    def handle_data(self, data: str) -> None:
        if self.skip or self.stopped:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.out or self.out.endswith("\n"):
            text = text.lstrip()
        self.out += text


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body (quoted replies removed)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "\n".join(ln.strip() for ln in parser.out.split("\n")).strip()


def decoded_text(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, KeyError):
        pass
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")

