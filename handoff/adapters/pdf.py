"""A minimal one-page PDF writer (text, rectangles and an Interleaved 2 of 5 barcode).

Enough for a boleto second copy without a new dependency: standard Type 1 fonts (Helvetica,
Courier) with WinAnsiEncoding, so pt-BR accents render, and a valid cross-reference table so
every viewer opens the file.
"""

from __future__ import annotations

from typing import ClassVar

# Interleaved 2 of 5: each digit is 5 elements, n(arrow) or w(ide); pairs interleave bars and spaces.
_ITF = ("nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn")
A4 = (595, 842)


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _font(name: bytes) -> bytes:
    return b"<< /Type /Font /Subtype /Type1 /BaseFont /" + name + b" /Encoding /WinAnsiEncoding >>"


def _document(objects: list[bytes]) -> bytes:
    """The PDF 1.4 file of `objects` (numbered from 1; 1 is the catalog, the last the info
    dictionary) with its cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, len(objects), xref,
    )
    return bytes(out)


class PdfPage:
    """Drawing commands for one A4 page; `to_bytes()` returns the finished document."""

    FONTS: ClassVar[dict[str, bytes]] = {"regular": b"Helvetica", "bold": b"Helvetica-Bold", "mono": b"Courier"}

    def __init__(self, title: str = "") -> None:
        self.title = title
        self._ops: list[bytes] = []

    def text(self, x: float, y: float, text: str, size: float = 10, font: str = "regular") -> None:
        """Write one line of text with its baseline at (x, y) points from the bottom-left corner."""
        key = list(self.FONTS).index(font) + 1
        self._ops.append(b"BT /F%d %.1f Tf %.2f %.2f Td (" % (key, size, x, y) + _escape(text) + b") Tj ET")

    def rect(self, x: float, y: float, w: float, h: float, fill: bool = True) -> None:
        """A filled (or stroked) rectangle."""
        self._ops.append(b"%.3f %.3f %.3f %.3f re %s" % (x, y, w, h, b"f" if fill else b"S"))

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.5) -> None:
        """A straight line."""
        self._ops.append(b"%.2f w %.2f %.2f m %.2f %.2f l S" % (width, x1, y1, x2, y2))

    def itf_barcode(self, x: float, y: float, digits: str, narrow: float = 1.0, height: float = 45) -> float:
        """Draw an Interleaved 2 of 5 barcode (the boleto standard, wide = 3 x narrow); returns its width."""
        if len(digits) % 2 or not digits.isdigit():
            raise ValueError("ITF encodes an even number of digits")
        wide = 3 * narrow
        # (is_bar, width) sequence: start n-bar n-space n-bar n-space, pairs, stop w-bar n-space n-bar
        elements: list[tuple[bool, float]] = [(True, narrow), (False, narrow), (True, narrow), (False, narrow)]
        for i in range(0, len(digits), 2):
            bars, spaces = _ITF[int(digits[i])], _ITF[int(digits[i + 1])]
            for b, s in zip(bars, spaces, strict=True):
                elements.append((True, wide if b == "w" else narrow))
                elements.append((False, wide if s == "w" else narrow))
        elements += [(True, wide), (False, narrow), (True, narrow)]
        cursor = x
        for is_bar, width in elements:
            if is_bar:
                self.rect(cursor, y, width, height)
            cursor += width
        return cursor - x

    def to_bytes(self) -> bytes:
        """Serialise the page as a complete PDF 1.4 document."""
        content = b"\n".join(self._ops)
        fonts = b" ".join(b"/F%d %d 0 R" % (i + 1, 4 + i) for i in range(len(self.FONTS)))
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << " % A4
            + fonts
            + b" >> >> /Contents %d 0 R >>" % (4 + len(self.FONTS)),
            *(_font(name) for name in self.FONTS.values()),
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Title (" + _escape(self.title) + b") /Producer (atende) >>",
        ]
        return _document(objects)


def wrap(text: str, width: int) -> list[str]:
    """Split `text` into lines of at most `width` characters (breaking long words too)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


class PdfDocument:
    """A multi-page A4 document of flowing text (the data-subject export's readable copy).

    `line()` writes one line under the previous one and starts a new page when the page is full;
    pages share the fonts of `PdfPage`.
    """

    MARGIN = 50
    LEADING = 1.35

    def __init__(self, title: str = "") -> None:
        self.title = title
        self.pages: list[PdfPage] = []
        self._y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        self.pages.append(PdfPage(self.title))
        self._y = A4[1] - self.MARGIN

    def line(self, text: str, size: float = 10, font: str = "regular", indent: float = 0) -> None:
        """One line of text (longer text is wrapped to the page width)."""
        width = int((A4[0] - 2 * self.MARGIN - indent) / (size * (0.6 if font == "mono" else 0.5)))
        for chunk in wrap(text, max(width, 10)) or [""]:
            if self._y - size * self.LEADING < self.MARGIN:
                self._new_page()
            self._y -= size * self.LEADING
            self.pages[-1].text(self.MARGIN + indent, self._y, chunk, size, font)

    def space(self, points: float = 8) -> None:
        """Vertical space."""
        self._y -= points

    def to_bytes(self) -> bytes:
        """Serialise every page as one PDF 1.4 document."""
        fonts = list(PdfPage.FONTS.values())
        n_pages = len(self.pages)
        font_base = 3  # 1 catalog, 2 pages, then fonts, then (page, content) pairs, then info
        page_base = font_base + len(fonts)
        objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (page_base + 2 * i) for i in range(n_pages))
            + b"] /Count %d >>" % n_pages,
        ]
        objects += [_font(name) for name in fonts]
        font_refs = b" ".join(b"/F%d %d 0 R" % (i + 1, font_base + i) for i in range(len(fonts)))
        for i, page in enumerate(self.pages):
            content = b"\n".join(page._ops)
            objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << " % A4
                           + font_refs + b" >> >> /Contents %d 0 R >>" % (page_base + 2 * i + 1))
            objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(b"<< /Title (" + _escape(self.title) + b") /Producer (atende) >>")
        return _document(objects)
