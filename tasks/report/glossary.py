"""The glossary: its terms read from the central section that holds it, anchored there, and the first use of
a term in each chapter linked to it.

Runs on content that is already sanitised: it only adds `id`s to the glossary's rows and `<a>` elements
around escaped term text, never anything taken from the content as markup. Text inside links and
headings is left alone (a link in a link is invalid; a link in a heading is noise in the contents).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable

from tasks.report.html_text import read_html

TAG = re.compile(r"(<[^>]*>)")
SKIP = {"a", "h1", "h2", "h3", "h4", "h5", "h6"}
# A line of the glossary's line form: the term in bold (marked by two control characters), a dash, the meaning.
GLOSSARY_LINE = re.compile(r"^\x01(?P<term>[^\x01\x02]+)\x02\s*[–—:-]\s*(?P<meaning>.+)$")


def parse_glossary(html: str) -> dict[str, str]:
    """Term -> meaning from a glossary section, in either of two Markdown forms:

    - a table whose first column is the term and second the meaning (a header row is skipped):
      `| LSCB | Local Safeguarding Children Board |`;
    - lines (or list items) starting with the term in bold, then a dash or colon:
      `**LSCB** – Local Safeguarding Children Board`.
    """
    parsed = read_html(html)
    terms = {row[0]: (row[1] if len(row) > 1 else "") for row in parsed.rows if row and row[0]}
    for line in "".join(parsed.parts).splitlines():
        match = GLOSSARY_LINE.match(line.strip())
        if match:
            terms[" ".join(match["term"].split())] = " ".join(match["meaning"].replace("\x02", "").split())
    return terms


def is_glossary(key: str, title: str) -> bool:
    return "glossary" in key.lower() or "glossary" in title.lower()


def term_id(term: str) -> str:
    return "term-" + (re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-") or "x")


def anchor_glossary(html: str, terms: Iterable[str]) -> str:
    """Give each glossary row (table form) or line (`**TERM** – …` form) the id its links point at."""
    wanted = {htmllib.escape(t, quote=False): term_id(t) for t in terms}

    def row(match: re.Match[str]) -> str:
        found = wanted.get(match.group(2).strip())
        return f'<tr id="{found}">{match.group(1)}' if found else match.group(0)

    def line(match: re.Match[str]) -> str:
        found = wanted.get(match.group(1).strip())
        return f'<p id="{found}"><strong>{match.group(1)}' if found else match.group(0)

    html = re.sub(r"<tr>(\s*<t[dh][^>]*>([^<]+)</t[dh]>)", row, html)
    return re.sub(r"<p><strong>([^<]+)(?=</strong>)", line, html)


def link_terms(html: str, terms: Iterable[str], *, already: set[str] | None = None) -> str:
    """The first use of each term (whole word, exact case) linked to its glossary entry.

    `already` holds the terms linked earlier in the same chapter; it is updated, so a chapter made of
    several sections links each term once."""
    done = already if already is not None else set()
    escaped = sorted({htmllib.escape(t, quote=False) for t in terms if t.strip()}, key=len, reverse=True)
    if not escaped:
        return html
    pattern = re.compile(r"(?<![\w&])(" + "|".join(re.escape(t) for t in escaped) + r")(?![\w])")
    out: list[str] = []
    depth = 0
    for piece in TAG.split(html):
        if piece.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
            if name and name.group(1).lower() in SKIP:
                depth += -1 if piece.startswith("</") else 1
            out.append(piece)
            continue
        if depth > 0 or not piece:
            out.append(piece)
            continue

        def link(match: re.Match[str]) -> str:
            term = htmllib.unescape(match.group(1))
            if term in done:
                return match.group(0)
            done.add(term)
            return f'<a class="term" href="#{term_id(term)}">{match.group(1)}</a>'

        out.append(pattern.sub(link, piece))
    return "".join(out)
