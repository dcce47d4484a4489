"""Content conversions: last year's HTML back to the Markdown people edit, without changing a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.partnership_file import parse
from tasks.content import html_to_markdown, markdown_to_html
from tasks.submission import split_sections
from tests.conftest import EXAMPLE, SECOND

SOURCES = [
    (toml, path) for toml in (EXAMPLE, SECOND) for path in sorted((toml.with_suffix("") / "contributions").glob("*.md"))
]


@pytest.mark.parametrize(("toml", "path"), SOURCES, ids=[p.stem for _, p in SOURCES])
def test_every_example_section_round_trips_exactly(toml: Path, path: Path) -> None:
    sections = split_sections(path, parse(toml).brief)
    assert sections
    for key, html in sections.items():
        assert markdown_to_html(html_to_markdown(html), shift_headings=1) == html, key


def test_conversion_by_hand() -> None:
    html = (
        "<h5>Our team</h5><p>We <strong>lead</strong> and <em>partner</em>; see "
        '<a href="https://example.org">the site</a>.</p><ul><li>one</li><li>two</li></ul>'
        "<table><thead><tr><th>Measure</th><th>Figure</th></tr></thead><tbody><tr><td>Staff</td><td>12</td></tr>"
        "</tbody></table>"
    )
    assert html_to_markdown(html) == (
        "#### Our team\n\nWe **lead** and *partner*; see [the site](https://example.org).\n\n- one\n- two\n\n"
        "| Measure | Figure |\n| --- | --- |\n| Staff | 12 |"
    )
