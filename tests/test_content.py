"""Content conversions: last year's HTML back to the Markdown people edit, without changing a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.partnership_file import parse
from tasks.contributions.content import html_to_markdown, markdown_to_html
from tasks.contributions.submission import split_sections
from tests.conftest import EXAMPLE, SECOND

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

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


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # a paragraph starting with a number is not swallowed by the list after it
        ("<p>2019 was busy.</p><ul><li>a</li></ul>", "2019 was busy.\n\n- a"),
        # a bulleted list followed by a numbered one stays two lists
        ("<ul><li>a</li></ul><ol><li>b</li></ol>", "- a\n\n1. b"),
        (
            "<ul><li>one<ul><li>one-a<ol><li>x</li></ol></li></ul></li><li>two</li></ul>",
            "- one\n    - one-a\n        1. x\n- two",
        ),
        ("<h3>A</h3><h4>B</h4><h5>C</h5>", "## A\n\n### B\n\n#### C"),
    ],
)
def test_lists_and_sub_headings_come_back_as_they_were(html: str, expected: str) -> None:
    assert html_to_markdown(html) == expected
    # sections are rendered with shift_headings=1: the same tags come back
    assert markdown_to_html(expected, shift_headings=1).replace("\n", "") == html
