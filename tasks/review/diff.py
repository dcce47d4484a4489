"""What changed between two revisions of a section, as readable HTML for the Chair.

Both texts are compared as the Markdown people wrote (paragraph by paragraph, then word by
word inside a changed paragraph), not as HTML, so markup noise never shows as a change. Every
piece of text is escaped; removed and added runs say so in words for screen readers as well as
by strike-through and underline.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from markupsafe import Markup, escape

from tasks.contributions.content import html_to_markdown

REMOVED = '<del><span class="visually-hidden">[removed: </span>{}<span class="visually-hidden">]</span></del>'
ADDED = '<ins><span class="visually-hidden">[added: </span>{}<span class="visually-hidden">]</span></ins>'


def _blocks(html: str) -> list[str]:
    return [b.strip() for b in html_to_markdown(html).split("\n\n") if b.strip()]


def _words(old: str, new: str) -> str:
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(str(escape(" ".join(a[i1:i2]))))
            continue
        if i2 > i1:
            out.append(REMOVED.format(escape(" ".join(a[i1:i2]))))
        if j2 > j1:
            out.append(ADDED.format(escape(" ".join(b[j1:j2]))))
    return " ".join(out)


def section_diff(old_html: str, new_html: str) -> Markup | None:
    """The change from `old_html` to `new_html` as HTML paragraphs, or None when nothing changed."""
    old, new = _blocks(old_html), _blocks(new_html)
    if old == new:
        return None
    parts: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            parts += [f'<p class="same">{escape(block)}</p>' for block in old[i1:i2]]
        elif op == "replace" and i2 - i1 == j2 - j1:  # paragraphs edited in place: show the words that changed
            parts += [f"<p>{_words(o, n)}</p>" for o, n in zip(old[i1:i2], new[j1:j2], strict=True)]
        else:
            parts += [f"<p>{REMOVED.format(escape(block))}</p>" for block in old[i1:i2]]
            parts += [f"<p>{ADDED.format(escape(block))}</p>" for block in new[j1:j2]]
    return Markup("\n".join(parts))
