"""The print layout's rules as data and as functions: where a figure goes, which links print their address,
and what the partnership file refuses (mixed units in a chart, an unreadable colour, a missing logo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.partnership_file import PartnershipFileError, parse
from tasks.report.placement import Chunks, anchor_blocks, place
from tasks.report.report import LINK, _mark_printed_url
from tests.conftest import EXAMPLE

SECTION = (
    "<p>The Board met six times.</p>\n"
    "<h3>Finance</h3>\n"
    "<p>Partners gave £641,807 in all.</p>\n"
    "<ul><li><p>Nested £641,807 is not a paragraph of the section.</p></li></ul>\n"
    "<h4>Invoices</h4>\n"
    "<p>Invoices came to £10,350.</p>\n"
    "<h3>Training</h3>\n"
    "<p>3,412 delegates attended.</p>"
)


def test_paragraphs_and_headings_get_ids_and_their_anchors_end_where_their_part_does() -> None:
    anchored = anchor_blocks(SECTION, "governance")
    assert anchored.html.startswith('<p id="governance-p1">The Board met six times.</p>\n<h3 id="governance-finance">')
    assert '<h4 id="governance-invoices">' in anchored.html and '<p id="governance-p4">3,412' in anchored.html
    html = anchored.html
    # a heading's part runs to the next heading of its level or higher: Finance holds Invoices
    assert html[: anchored.anchors["finance"]].endswith("£10,350.</p>\n")
    assert html[anchored.anchors["finance"] :].startswith('<h3 id="governance-training">')
    assert html[: anchored.anchors["p2"]].endswith("£641,807 in all.</p>")
    assert anchored.anchors["training"] == len(html)


def test_a_figure_follows_the_first_paragraph_mentioning_it_or_its_named_anchor() -> None:
    anchored = anchor_blocks(SECTION, "governance")
    html = anchored.html
    mentioned = place(anchored, None, ["Sources of the budget", "£641,807"])
    assert mentioned is not None and html[:mentioned].endswith("£641,807 in all.</p>")
    assert place(anchored, None, ["nowhere", "£1"]) == len(html)  # not mentioned: the section's end
    assert place(anchored, "invoices", []) == html.index('<h3 id="governance-training">')
    assert place(anchored, "no-such-part", []) is None
    chunks = Chunks(html, [(mentioned, "figure 1"), (len(html), "figure 2")]).parts
    assert [figures for _, figures in chunks] == [["figure 1"], ["figure 2"], []]
    assert "".join(part for part, _ in chunks) == html


@pytest.mark.parametrize(
    ("link", "printed"),
    [
        ('<a href="https://bscb.example.org" rel="noopener">The Board\'s website</a>', True),
        ('<a href="http://www.lscbbirmingham.org.uk" rel="noopener">www.lscbbirmingham.org.uk</a>', False),
        ('<a href="https://bwc.nhs.uk/" rel="noopener">https://bwc.nhs.uk/</a>', False),
        ('<a href="https://x.org/a" rel="noopener"><strong>x.org/a</strong></a>', False),
    ],
)
def test_only_a_link_whose_words_are_not_its_address_prints_the_address(link: str, printed: bool) -> None:
    marked = LINK.sub(_mark_printed_url, link)
    assert ('class="show-url"' in marked) is printed
    assert marked.replace(' class="show-url"', "") == link


def _example_with(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "partnership.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (tmp_path / "bscb-logo.svg").write_bytes((EXAMPLE.parent / "bscb-logo.svg").read_bytes())
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(PartnershipFileError) as refused:
        parse(path)
    return "; ".join(refused.value.problems)


def test_a_chart_mixing_units_is_refused_with_one_figure_per_unit_asked(tmp_path: Path) -> None:
    path = _example_with(
        tmp_path,
        '{ label = "Places taken by delegates", value = 3412 },',
        '{ label = "Training events", value = 178, unit = "events" },',
    )
    assert _refusal(path) == (
        "report.figures[2:training-places]: figure 'training-places' mixes units ('places', 'events') in one "
        "chart; a chart's bars must share a unit: make one figure per unit"
    )


def test_the_look_comes_from_the_partnership_and_bad_values_are_refused(tmp_path: Path) -> None:
    look = parse(EXAMPLE).report.look
    assert (look.language, look.colour, look.website) == ("en-GB", "#1d4f91", "https://bscb.example.org")
    assert look.logo is not None and look.logo.alt == "Birmingham Safeguarding Children Board"
    assert len(look.logo.data) > 100 and parse(EXAMPLE).report.parts[3] == "contributions"
    pale = _example_with(tmp_path, 'colour = "#1d4f91"', 'colour = "#ffcc00"')
    assert _refusal(pale) == (
        "partnership.colour: colour #ffcc00 has a contrast of 1.5:1 on white; choose a darker one (4.5:1 at least)"
    )
    missing = _example_with(tmp_path, 'file = "bscb-logo.svg"', 'file = "crest.png"')
    assert _refusal(missing) == (
        "partnership.logo.file: cannot read crest.png (No such file or directory); put it beside the file"
    )
    parts = _example_with(tmp_path, 'parts = ["context",', 'parts = ["appendix",')
    assert _refusal(parts).startswith("(top level): report.parts names 'appendix', which is not a chapter")
