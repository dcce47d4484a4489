"""Agency and central text as the limited HTML the report holds: Markdown in, sanitised HTML out.

Content is sanitised (nh3) on the way into the database and again on the
way into every page, and is never treated as a template.
"""

from __future__ import annotations

import functools
import re
import threading
from html.parser import HTMLParser

import markdown
import nh3

ALLOWED_TAGS = {
    "h3",
    "h4",
    "h5",
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "a",
    "blockquote",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# Pictures come only from our own store: any other source (file://, data:, another site) is dropped.
OWN_IMAGE = re.compile(r"^/images/[0-9a-f]{64}\.(?:png|jpg)$")


def _only_own_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if OWN_IMAGE.match(value) else None
    return value


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_only_own_images,
    )


_local = threading.local()


def _converter() -> markdown.Markdown:
    """One converter a thread, reset between texts: building one loads its extensions each time, which
    was a twentieth of a portal page's time. Not shared across threads, as a converter keeps state."""
    found: markdown.Markdown | None = getattr(_local, "converter", None)
    if found is None:
        found = _local.converter = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    return found


# Pure functions of the text, remembered for the texts seen last: a contribution's summary asks each section's
# words and problems on every load, three renders a section, where the text changes only when someone saves.
# A changed text is a new key, so nothing goes stale; the bound keeps the memory low (512 texts of a 1,000-word
# section, Markdown and HTML, are about 10 MB a process).
TEXTS_REMEMBERED = 512


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def markdown_to_html(text: str, *, shift_headings: int = 0) -> str:
    """Markdown (with pipe tables) to sanitised HTML; headings pushed down `shift_headings` levels."""
    html = _converter().reset().convert(text)
    if shift_headings:
        for level in range(6 - shift_headings, 0, -1):
            html = html.replace(f"<h{level}>", f"<h{level + shift_headings}>").replace(
                f"</h{level}>", f"</h{level + shift_headings}>"
            )
    return sanitise(html)


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def word_count(html: str) -> int:
    return len(nh3.clean(html, tags=set()).split())


class _Pictures(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.alts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.alts.append(" ".join((dict(attrs).get("alt") or "").split()))


def picture_alts(html: str) -> list[str]:
    """The alternative text of every picture in sanitised HTML, in order ("" where there is none)."""
    return list(_alts(html))


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)
def _alts(html: str) -> tuple[str, ...]:
    parser = _Pictures()
    parser.feed(html)
    parser.close()
    return tuple(parser.alts)


class _ToMarkdown(HTMLParser):
    """Our own sanitised HTML back to the Markdown people edit (paragraphs, lists, sub-headings, emphasis,
    links, tables); used to offer last year's text as a starting point."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.lists: list[str] = []  # "ul" / "ol" nesting
        self.counters: list[int] = []
        self.items: list[str] = []  # the lines of the list being read, nested items indented
        self.indent = ""
        self.href: str | None = None
        self.row: list[str] | None = None
        self.rows: list[list[str]] = []

    def _flush(self) -> None:
        text = "".join(self.line).strip()
        if text and self.lists:
            self.items.append(self.indent + text)
        elif text:
            self.blocks.append(text)
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "h3", "h4", "h5", "blockquote"):
            self._flush()
            # sections are rendered with shift_headings=1, so h3 is written "##" to come back as h3
            self.line.append({"h3": "## ", "h4": "### ", "h5": "#### ", "blockquote": "> "}.get(tag, ""))
        elif tag in ("ul", "ol"):
            self._flush()
            self.lists.append(tag)
            self.counters.append(0)
        elif tag == "li" and self.lists:
            self._flush()
            self.counters[-1] += 1
            # Python-Markdown nests a list only under a four-space indent
            self.indent = "    " * (len(self.lists) - 1)
            self.line.append("- " if self.lists[-1] == "ul" else f"{self.counters[-1]}. ")
        elif tag in ("strong", "b"):
            self.line.append("**")
        elif tag in ("em", "i"):
            self.line.append("*")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.line.append("[")
        elif tag == "br":
            self.line.append("  \n")
        elif tag == "img":
            found = dict(attrs)
            if found.get("src"):
                self.line.append(f"![{found.get('alt') or ''}]({found['src']})")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.line = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "h3", "h4", "h5", "blockquote") or tag == "li":
            self._flush()
        elif tag in ("ul", "ol") and self.lists:
            self._flush()
            self.lists.pop()
            self.counters.pop()
            if not self.lists and self.items:
                self.blocks.append("\n".join(self.items))
                self.items = []
        elif tag in ("strong", "b"):
            self.line.append("**")
        elif tag in ("em", "i"):
            self.line.append("*")
        elif tag == "a":
            self.line.append(f"]({self.href})" if self.href else "]")
            self.href = None
        elif tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.line).strip().replace("|", "\\|"))
            self.line = []
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            if self.rows:
                width = max(len(r) for r in self.rows)
                lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in self.rows]
                lines.insert(1, "|" + " --- |" * width)
                self.blocks.append("\n".join(lines))
            self.rows = []

    def handle_data(self, data: str) -> None:
        if self.row is not None or self.line or data.strip():
            self.line.append(re.sub(r"\s+", " ", data))  # keep the space between words and tags


def html_to_markdown(html: str) -> str:
    parser = _ToMarkdown()
    parser.feed(sanitise(html))
    parser.close()
    parser._flush()
    return "\n\n".join(b for b in parser.blocks if b.strip())
