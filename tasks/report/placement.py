"""Where a figure goes in its section: after the paragraph or the part that speaks of it, not at the chapter's
end, where it sat ten pages from its text.

A section's top-level paragraphs and headings get ids (`<section>-p3`, `<section>-finance`) so a figure's
`after` can name them; when it names only the section, the figure follows the first paragraph that mentions
its title or one of its values as printed ("3,581", "£641,807"), and the section's end when none does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Generic, TypeVar

T = TypeVar("T")

HEADINGS = ("h3", "h4", "h5")
VOID = frozenset({"br", "img", "hr", "wbr"})


@dataclass
class Block:
    tag: str
    start: int  # offset of the start tag in the section's HTML
    end: int  # offset just past the end tag
    text: str


class _TopLevel(HTMLParser):
    """The top-level elements of an HTML fragment, with their offsets and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [0]
        for line in html.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.blocks: list[Block] = []
        self.depth = 0
        self.text: list[str] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.blocks.append(Block(tag, self._offset(), -1, ""))
            self.text = []
        if tag not in VOID:
            self.depth += 1
        elif self.depth == 0:
            self.blocks[-1].end = self._offset() + len(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        self.depth = max(0, self.depth - 1)
        if self.depth == 0 and self.blocks:
            self.blocks[-1].end = self._offset() + len(f"</{tag}>")
            self.blocks[-1].text = " ".join("".join(self.text).split())

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Anchored:
    html: str
    blocks: list[Block]
    anchors: dict[str, int]  # "p3" or a heading's slug -> offset in `html` a figure placed there goes to


def anchor_blocks(html: str, key: str) -> Anchored:
    """The section's HTML with ids on its top-level paragraphs and headings, and where each anchor ends."""
    parser = _TopLevel(html)
    parser.feed(html)
    parser.close()
    out: list[str] = []
    names: list[str | None] = []
    paragraphs = 0
    for block in parser.blocks:
        name = None
        if block.tag == "p":
            paragraphs += 1
            name = f"p{paragraphs}"
        elif block.tag in HEADINGS and slug(block.text):
            name = slug(block.text)
        names.append(name)
    position = 0
    shifted: list[Block] = []
    for block, name in zip(parser.blocks, names, strict=True):
        out.append(html[position : block.start])
        opening = html[block.start : block.end]
        added = 0
        if name and not re.match(r"<[a-z0-9]+[^>]*\sid=", opening):
            attribute = f' id="{key}-{name}"'
            cut = len(block.tag) + 1
            opening = opening[:cut] + attribute + opening[cut:]
            added = len(attribute)
        start = sum(len(p) for p in out)
        out.append(opening)
        shifted.append(Block(block.tag, start, start + (block.end - block.start) + added, block.text))
        position = block.end
    out.append(html[position:])
    result = "".join(out)
    anchors: dict[str, int] = {}
    for i, (block, name) in enumerate(zip(shifted, names, strict=True)):
        if name is None or name in anchors:
            continue
        if block.tag == "p":
            anchors[name] = block.end
        else:  # a heading: the end of its part, before the next heading of its level or higher
            level = int(block.tag[1])
            ends = [b.start for b in shifted[i + 1 :] if b.tag in HEADINGS and int(b.tag[1]) <= level]
            anchors[name] = ends[0] if ends else len(result)
    return Anchored(result, shifted, anchors)


class Chunks(Generic[T]):
    """A section's HTML cut where figures go: [(html, figures placed after it)]."""

    def __init__(self, html: str, placed: list[tuple[int, T]]) -> None:
        self.parts: list[tuple[str, list[T]]] = []
        cuts = sorted({offset for offset, _ in placed})
        start = 0
        for cut in cuts:
            self.parts.append((html[start:cut], [item for offset, item in placed if offset == cut]))
            start = cut
        self.parts.append((html[start:], []))


def place(anchored: Anchored, anchor: str | None, mentions: list[str]) -> int | None:
    """Where a figure goes: its named anchor, else the first paragraph mentioning one of `mentions`;
    None when a named anchor is not in the section (the caller says so, and puts it at the end)."""
    if anchor:
        return anchored.anchors.get(anchor)
    # Whole numbers only: "£1" is not a mention in "£10,350".
    wanted = [re.compile(rf"(?<![\w£$]){re.escape(m)}(?!\w|[.,]\d)", re.I) for m in mentions if m]
    for block in anchored.blocks:
        if block.tag == "p" and any(m.search(block.text) for m in wanted):
            return block.end
    return len(anchored.html)
