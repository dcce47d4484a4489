"""Mammoth's HTML of a Word document cut at its top-level headings, into pieces our Markdown can hold.

Mammoth writes well-formed HTML with a known, small set of tags. This pass keeps what the report allows
(paragraphs, lists, tables, emphasis, web and mail links), turns each picture into its placeholder, drops
bookmarks and links inside the document, flattens what a Markdown table cell cannot hold, and escapes the
document's own text so that it reads the same once it is Markdown: a "*" or "<b>" typed in Word stays
those characters instead of becoming emphasis or markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

from tasks.contributions.content import URL_SCHEMES

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
KEPT = {"p", "strong", "em", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "br"}
# tags that start a line of Markdown, where "#", ">", "-", "+" or "1." would start a heading, quote or list
LINE_STARTS = {"p", "li", "br", *HEADINGS}
# inside a table cell a Markdown table holds one line of text: these become a space
CELL_BREAKS = {"p", "li", "ul", "ol", "br", *HEADINGS}
PICTURE_SRC = re.compile(r"^word-picture:(\d+)$")
PLACEHOLDER = "[[picture {}]]"

_INLINE = re.compile(r"([\\`*_\[\]])")
_ENTITY = re.compile(r"&(?=#?\w+;)")  # text that Markdown would read as a character reference
_TAG = re.compile(r"<(?=[A-Za-z/!?])")  # text that Markdown would pass through as HTML
# what starts a heading, a quote, a list or a rule when it begins a line
_LEADING = re.compile(r"^(\s*)(?:([#>]|[+-](?=\s|$|-))|(\d+)\.(?=\s|$))")
SAFE_IN_URL = "/:?#@!$&'*+,;=%~"  # spaces, quotes, brackets and parentheses are escaped: they end a Markdown link


def _escape_leading(found: re.Match[str]) -> str:
    space, mark, number = found.groups()
    return space + ("\\" + mark if mark else number + "\\.")


def markdown_text(text: str, *, line_start: bool) -> str:
    """Text as Markdown that renders back to exactly this text."""
    text = _INLINE.sub(r"\\\1", text)
    text = _TAG.sub("&lt;", _ENTITY.sub("&amp;", text))
    return _LEADING.sub(_escape_leading, text) if line_start else text


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # plain text as written in the document


@dataclass(frozen=True)
class Chunk:
    html: str  # one top-level element, ready for html_to_markdown


class _Cutter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[Heading | Chunk] = []
        self.out: list[str] = []
        self.depth = 0
        self.heading: int | None = None  # level while inside a top-level heading
        self.heading_text: list[str] = []
        self.heading_pictures: list[str] = []
        self.links: list[bool] = []  # for each open <a>: was it kept
        self.cells = 0
        self.tables = 0
        self.line_start = False

    def _emit_tag(self, tag: str, closing: bool = False) -> None:
        if self.cells and tag in CELL_BREAKS:
            self.out.append(" ")
        elif tag in ("table", "thead", "tbody", "tr", "th", "td") and self.tables > 1:
            self.out.append(" ")  # a table inside a table: its text stays, in the outer cell
        elif tag in KEPT:
            self.out.append(f"</{tag}>" if closing else f"<{tag}>")
        if not closing:
            self.line_start = tag in LINE_STARTS and not self.cells

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "br"):
            self.handle_startendtag(tag, attrs)
            return
        if self.depth == 0 and tag in HEADINGS:
            self.heading, self.heading_text, self.heading_pictures = HEADINGS[tag], [], []
        self.depth += 1
        if self.heading is not None:
            return
        if tag == "table":
            self.tables += 1
        if tag in ("td", "th") and self.tables == 1:
            self._emit_tag(tag)
            self.cells += 1
            return
        if tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            # bookmarks and links to places inside the document mean nothing in the report: keep their text
            keep = urlsplit(href).scheme.lower() in URL_SCHEMES
            self.links.append(keep)
            if keep:
                self.out.append(f'<a href="{html.escape(quote(href, safe=SAFE_IN_URL))}">')
                self.line_start = False
            return
        self._emit_tag(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            found = PICTURE_SRC.match(dict(attrs).get("src") or "")
            if found is None:
                return
            placeholder = html.escape(PLACEHOLDER.format(found.group(1)))
            if self.heading is not None:
                self.heading_pictures.append(placeholder)
            else:
                self.out.append(placeholder)
                self.line_start = False
        elif tag == "br":
            if self.heading is not None:
                self.heading_text.append(" ")
            else:
                self._emit_tag("br")

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1
        if self.heading is not None:
            if self.depth == 0:
                self.pieces.append(Heading(self.heading, " ".join("".join(self.heading_text).split())))
                if self.heading_pictures:
                    self.pieces.append(Chunk("<p>" + " ".join(self.heading_pictures) + "</p>"))
                self.heading = None
            return
        if tag == "a":
            if self.links and self.links.pop():
                self.out.append("</a>")
        elif tag in ("td", "th") and self.tables == 1:
            self.cells -= 1
            self._emit_tag(tag, closing=True)
        else:
            self._emit_tag(tag, closing=True)
        if tag == "table":
            self.tables -= 1
        if self.depth == 0:
            self._finish()

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading_text.append(data)
            return
        if not data.strip():
            self.out.append(data)
            return
        text = html.escape(markdown_text(data, line_start=self.line_start), quote=False)
        self.line_start = False
        if self.depth == 0:  # mammoth puts all text in elements; kept all the same
            text = f"<p>{text}</p>"
        self.out.append(text)
        if self.depth == 0:
            self._finish()

    def _finish(self) -> None:
        chunk = _tidy("".join(self.out))
        if chunk.strip():
            self.pieces.append(Chunk(chunk))
        self.out = []


_EMPTY = re.compile(r"<(strong|em)>(\s*)</\1>")
_SPACE_IN = re.compile(r"<(strong|em)>(\s+)")
_SPACE_OUT = re.compile(r"(\s+)</(strong|em)>")


def _tidy(chunk: str) -> str:
    """Word's bold and italic runs often start or end with the space between words; Markdown's ** and * must
    touch the words, so the spaces move outside, and empty runs go."""
    previous = None
    while previous != chunk:
        previous = chunk
        chunk = _EMPTY.sub(r"\2", chunk)
        chunk = _SPACE_IN.sub(r"\2<\1>", chunk)
        chunk = _SPACE_OUT.sub(r"</\2>\1", chunk)
    return chunk


def cut(mammoth_html: str) -> list[Heading | Chunk]:
    """The document as a sequence of top-level headings and chunks of content between them."""
    cutter = _Cutter()
    cutter.feed(mammoth_html)
    cutter.close()
    if cutter.out:
        cutter._finish()
    return cutter.pieces
