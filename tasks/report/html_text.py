"""Sanitised HTML read back as plain text, with what the collation report and the glossary need from it."""

from __future__ import annotations

from html.parser import HTMLParser


class HtmlText(HTMLParser):
    """Plain text of sanitised HTML, block by block, with bold marked by two control characters (for the
    glossary's line form); ids, links, picture sources and table rows collected."""

    BLOCKS = frozenset({"p", "li", "td", "th", "h3", "h4", "h5", "blockquote", "caption", "br", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.ids: list[str] = []
        self.rows: list[list[str]] = []  # body rows of tables (cells of <td>), for the glossary's table form
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(found["id"] or "")
        if tag == "a" and found.get("href") is not None:
            self.hrefs.append(found["href"] or "")
        elif tag == "img" and found.get("src"):
            self.srcs.append(found["src"] or "")
        elif tag in ("strong", "b"):
            self.parts.append("\x01")
        if tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("strong", "b"):
            self.parts.append("\x02")
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:  # a header row has only <th> cells
                self.rows.append(self._row)
            self._row = None
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def text(self) -> str:
        return "".join(self.parts).replace("\x01", "").replace("\x02", "").replace("’", "'")


def read_html(html: str) -> HtmlText:
    parser = HtmlText()
    parser.feed(html)
    parser.close()
    return parser


def ids_in(html: str) -> set[str]:
    """Every id in a page: what its `#fragment` links can point at."""
    return set(read_html(html).ids)
