"""Agencies' chapters in a past report (Markdown), found by name, and placed in the brief's sections.

Pure: text in, chapters out. Reports converted from Word or PDF put an agency's chapter at whatever
heading level its author chose, so chapters are found by the agency's name or aliases, never by level.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.names import heading_key, name_key
from models.partnership_file import AgencySpec
from models.values import Brief, Priority
from tasks.contributions.content import markdown_to_html, word_count

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_PART = re.compile(r"^part \d+\b")  # "Part 5 – Conclusion": a part of the report, never an agency's sub-heading
_PART_PREFIX = re.compile(r"^part \d+ ")


@dataclass(frozen=True)
class Heading:
    index: int  # 0-based line number
    level: int
    text: str  # as written, without the #s


def headings(lines: Sequence[str]) -> list[Heading]:
    """The ATX headings (`## Title`) outside fenced code blocks."""
    found: list[Heading] = []
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := _ATX.match(line)):
            found.append(Heading(index, len(m.group(1)), m.group(2)))
    return found


def plain(text: str) -> str:
    """A heading's words without the bold or italic wrapped round them by the converter."""
    return text.strip().strip("*_").strip().rstrip(",:;").strip()


@dataclass(frozen=True)
class Chapter:
    slug: str
    heading: str  # as written in the report
    line: int  # 1-based, for people
    level: int
    body: list[str]  # the lines after the heading, sub-headings included


@dataclass(frozen=True)
class Chapters:
    found: list[Chapter]
    missing: list[str]  # slugs of the agencies no heading names
    notes: list[str] = field(default_factory=list)


def find_chapters(text: str, agencies: Sequence[AgencySpec], part_titles: Sequence[str]) -> Chapters:
    """Each agency's chapter: from the heading that is its name or an alias to where the chapter ends.

    A chapter ends at the next heading that names an agency (at any level: the same report puts some
    agencies one level below others), at a "Part N" heading (at any level), or at a heading of the same
    or a higher level that is one of the report's own parts (`part_titles`: central sections and the
    like), or at any heading above its own level. Other headings, even at the chapter's own level, are
    the agency's sub-headings and stay in it.
    """
    lines = text.splitlines()
    owner = {name_key(written): a.slug for a in agencies for written in (a.name, *a.aliases)}
    parts = {name_key(t) for t in part_titles}
    marks = headings(lines)
    notes: list[str] = []

    def agency_of(h: Heading) -> str | None:
        return owner.get(heading_key(plain(h.text)))

    def is_part(h: Heading) -> bool:
        key = heading_key(plain(h.text))
        return key in parts or _PART_PREFIX.sub("", key) in parts

    found: dict[str, Chapter] = {}
    for i, h in enumerate(marks):
        slug = agency_of(h)
        if slug is None:
            continue
        if slug in found:
            notes.append(
                f"line {h.index + 1}: {plain(h.text)!r} names {slug} again; only its first chapter "
                f"(line {found[slug].line}) was imported"
            )
            continue
        end = len(lines)
        for later in marks[i + 1 :]:
            key = heading_key(plain(later.text))
            if (
                agency_of(later) is not None
                or _PART.match(key)
                or later.level < h.level
                or (later.level == h.level and is_part(later))
            ):
                end = later.index
                break
        found[slug] = Chapter(slug, plain(h.text), h.index + 1, h.level, lines[h.index + 1 : end])
    order = [a.slug for a in agencies]
    return Chapters(
        found=sorted(found.values(), key=lambda c: c.line),
        missing=[s for s in order if s not in found],
        notes=notes,
    )


@dataclass(frozen=True)
class Placement:
    sections: dict[str, str]  # brief section key -> Markdown
    split: bool  # False: no sub-heading matched the brief, everything is in the first section
    words: int

    def where(self, brief: Brief) -> str:
        if not self.split:
            return f"all in {brief.sections[0].key} (no sub-heading matches the brief)"
        return ", ".join(f"{key} ({word_count(markdown_to_html(md))})" for key, md in self.sections.items() if md)


def _starts(key: str, title: str) -> bool:
    return key == title or key.startswith(title + " ")


def place(chapter: Chapter, brief: Brief, priorities: Sequence[Priority]) -> Placement:
    """The chapter's text in the brief's sections.

    A sub-heading that is a section's title (or starts with it, as "Looking ahead – challenges for
    2019/20" does) starts that section, and is dropped: the report prints the section's own title. A
    sub-heading that is a priority's title starts the section that reports against each priority and
    is kept, to say which priority follows. Text before the first of these goes to the first section.
    With no such sub-heading, the whole chapter goes to the first section.
    """
    titles = [(name_key(s.title), s.key) for s in brief.sections] + [(name_key(s.key), s.key) for s in brief.sections]
    per_priority = next((s.key for s in brief.sections if s.per_priority), None)
    priority_titles = [name_key(p.title) for p in priorities] if per_priority else []
    first = brief.sections[0].key
    parts: dict[str, list[str]] = {s.key: [] for s in brief.sections}
    current, split = first, False
    inner = {h.index: h for h in headings(chapter.body)}
    for index, line in enumerate(chapter.body):
        h = inner.get(index)
        if h is None:
            parts[current].append(line)
            continue
        key = heading_key(plain(h.text))
        section = next((k for title, k in titles if _starts(key, title)), None)
        if section is not None:
            current, split = section, True
            continue
        if per_priority and any(_starts(key, t) for t in priority_titles):
            current, split = per_priority, True
        # The chapter's own sub-headings keep their rank below the section title: one level under the
        # chapter is ### (h4 in the report), anything deeper #### (h5, the deepest the report allows).
        depth = max(1, h.level - chapter.level)
        parts[current].append(f"{'#' * min(2 + depth, 4)} {plain(h.text)}")
    sections = {k: "\n".join(v).strip() for k, v in parts.items()}
    sections = {k: v for k, v in sections.items() if v}
    words = sum(word_count(markdown_to_html(md)) for md in sections.values())
    return Placement(sections, split, words)
