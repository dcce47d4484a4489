"""How names written by people are compared: an agency's name in a heading, a section title, an alias."""

from __future__ import annotations

import re

# Leading numbering such as "4.", "4.2" or "4.2)" that reports put before a chapter's name.
_NUMBERING = re.compile(r"^\s*\d+(?:\.\d+)*[.)]?\s+")


def name_key(text: str) -> str:
    """A comparable form of a name: case, emphasis, punctuation, apostrophes and "&" do not count.

    "**Riverside Children’s Trust**", "Riverside Children's Trust:" and "riverside childrens trust"
    are the same key; headings come out of word processors with any of these differences.
    """
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"['’‘`]", "", text)  # "children's" and "childrens" are one word, not two
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def heading_key(text: str) -> str:
    """`name_key` of a heading without its leading numbering ("4.2 Police" is the heading "Police")."""
    return name_key(_NUMBERING.sub("", text))
