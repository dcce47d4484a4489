"""Whether a contribution covers each of the partnership's priorities: the one rule every page uses.

A per-priority section of the brief is ONE text (the agency writes about every priority in it), so a
priority is covered when the text names it. The text searched is that of the brief's per-priority
sections; a brief with none has the whole contribution searched instead. A priority is named when the
text contains, as whole words, either

- its title ("Responding to self-neglect"), or
- its key read as words ("self-neglect" as "self neglect"): the short form people write in passing.

Case, punctuation, apostrophes, emphasis and line breaks do not count (`models.names.name_key`). An empty
text covers nothing. This is a prompt for a person, never a refusal: naming a priority is not writing
about it well, and the Chair reads the text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import nh3

from models.names import name_key
from models.values import Brief, Priority
from tasks.contributions.content import markdown_to_html


@dataclass(frozen=True)
class Coverage:
    key: str
    title: str
    covered: bool
    named_as: str  # the words found ("" when not covered)


def _words(text: str) -> str:
    """The comparable words of a text, padded with spaces so a search for " words " finds whole words."""
    return f" {name_key(text)} "


def plain_text(text: str, *, is_html: bool) -> str:
    """What a reader sees of a section: Markdown (a working copy) or sanitised HTML (a revision), untagged."""
    markup = text if is_html else markdown_to_html(text)
    return html.unescape(nh3.clean(markup, tags=set()))


def searched_sections(brief: Brief) -> list[str]:
    """The keys of the sections searched for the priorities: the per-priority ones, else every section."""
    chosen = [s.key for s in brief.sections if s.per_priority]
    return chosen or [s.key for s in brief.sections]


def priority_coverage(
    brief: Brief, priorities: Sequence[Priority], texts: Mapping[str, str], *, is_html: bool = False
) -> list[Coverage]:
    """Each priority, in the partnership's order, covered or not by these section texts (key -> text)."""
    words = _words(" \n".join(plain_text(texts.get(k, ""), is_html=is_html) for k in searched_sections(brief)))
    found = []
    for p in priorities:
        forms = [p.title, p.key.replace("-", " ").replace("_", " ")]
        named = next((f for f in forms if name_key(f) and _words(f) in words), "")
        found.append(Coverage(p.key, p.title, bool(named), named))
    return found


def uncovered(
    brief: Brief, priorities: Sequence[Priority], texts: Mapping[str, str], *, is_html: bool = False
) -> list[str]:
    """The titles of the priorities the texts do not name."""
    return [c.title for c in priority_coverage(brief, priorities, texts, is_html=is_html) if not c.covered]
