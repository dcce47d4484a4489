"""Reading the agency's pages in HTTP tests: what a page's forms would send, and what its error summary says."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Fields(HTMLParser):
    """The values a page's forms would send: inputs, textareas, and the chosen option of each select."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "submit"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.fields):
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    parser = _Fields()
    parser.feed(html)
    # a textarea's first newline is not part of its value
    return {k: v.removeprefix("\n") if k.startswith("section-") else v for k, v in parser.fields.items()}


def error_links(html: str) -> list[tuple[str, str]]:
    """The error summary's entries: where each links, and what it says."""
    summary = html.split("govuk-error-summary__list")[1].split("</ul>")[0]
    return re.findall(r'<a href="([^"]*)">([^<]*)</a>', summary)


def summary_rows(html: str) -> list[tuple[str, str]]:
    """A summary list's rows as (key, value) texts."""
    keys = re.findall(r'<dt class="govuk-summary-list__key">\s*(.*?)\s*</dt>', html, re.S)
    values = re.findall(r'<dd class="govuk-summary-list__value">\s*(.*?)\s*</dd>', html, re.S)
    return list(zip(keys, values, strict=True))
