"""Agency and central text as the limited HTML the report holds: Markdown in, sanitised HTML out.

Content is sanitised (nh3) on the way into the database and again on the
way into every page, and is never treated as a template.
"""

from __future__ import annotations

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
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_to_html(text: str, *, shift_headings: int = 0) -> str:
    """Markdown (with pipe tables) to sanitised HTML; headings pushed down `shift_headings` levels."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    if shift_headings:
        for level in range(6 - shift_headings, 0, -1):
            html = html.replace(f"<h{level}>", f"<h{level + shift_headings}>").replace(
                f"</h{level}>", f"</h{level + shift_headings}>"
            )
    return sanitise(html)


def word_count(html: str) -> int:
    return len(nh3.clean(html, tags=set()).split())
