"""The published report of the worked example, checked as a reader and a PDF tool see it: headings in order,
contents, numbered figures with their tables, glossary links, the statement beside it, axe-core in Chromium
on both pages, and the PDF's tags, language, title, figure descriptions and reading order (pypdf)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session, SQLModel

from models.db import engine_for
from models.partnership_file import parse
from reportcycle.example_cycle import filled_cycle
from reportcycle.settings import PROJECT_ROOT, get_settings
from tasks.desk.sign_off import record_sign_off
from tasks.report.publish import PublishResult, publish
from tasks.review.review import apply_decisions, record_decision
from tests.browser import chromium

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"
AT = dt.datetime(2019, 7, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example, every part approved, published once for the whole module (the PDF takes seconds)."""
    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{folder / 'report.db'}"
    SQLModel.metadata.create_all(engine_for(url))
    s = get_settings()
    spec = parse(EXAMPLE)
    with Session(engine_for(url), expire_on_commit=False) as session:
        cycle = filled_cycle(session, EXAMPLE, at=AT, templates_dir=s.templates_dir)
        for name in [a.slug for a in spec.agencies] + [c.key for c in spec.central_sections]:
            record_decision(session, cycle, name, "approve", at=AT, actor="chair")
        apply_decisions(session, cycle, at=AT, actor="t", base_url="http://x", templates_dir=s.templates_dir)
        board = "the Board at its meeting on 1 July"
        record_sign_off(
            session, cycle, signed_off_by=board, signed_off_on=AT.date(), publish_on=AT.date(), at=AT, actor="bm"
        )
        result: PublishResult = publish(
            session,
            cycle,
            at=AT,
            actor="t",
            output_dir=folder / "out",
            templates_dir=s.templates_dir,
            site_url="https://example.org/site",
        )
        session.commit()
    engine_for(url).dispose()
    yield Path(result.folder)


class Outline(HTMLParser):
    """Headings (level, text), ids, and in-page links of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.ids: set[str] = set()
        self.fragments: list[str] = []
        self._level: int | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and (found.get("href") or "").startswith("#"):
            self.fragments.append(str(found["href"])[1:])
        if re.fullmatch(r"h[1-6]", tag):
            self._level, self._text = int(tag[1]), []

    def handle_data(self, data: str) -> None:
        if self._level is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._level is not None and tag == f"h{self._level}":
            self.headings.append((self._level, " ".join("".join(self._text).split())))
            self._level = None


def outline(html: str) -> Outline:
    parsed = Outline()
    parsed.feed(html)
    return parsed


def test_the_site_holds_the_report_the_pdf_the_statement_and_the_manifest(site: Path) -> None:
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert names == [
        "SHA256SUMS",
        "accessibility.html",
        "images/figure-key-facts.svg",
        "images/figure-training-events.svg",
        "images/figure-training-places.svg",
        "images/logo.svg",
        "index.html",
        "manifest.json",
        "report.pdf",
    ]


def test_the_html_has_one_h1_headings_in_order_and_every_in_page_link_lands(site: Path) -> None:
    page = outline((site / "index.html").read_text(encoding="utf-8"))
    levels = [level for level, _ in page.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    skipped = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert skipped == []
    h2 = [text for level, text in page.headings if level == 2]
    assert h2 == [
        "Contents",
        "Foreword",
        "Introduction",
        "Part 1: Context and key facts",
        "Part 2: The effectiveness of safeguarding arrangements",
        "Part 3: Governance, accountability and transitional arrangements",
        "Part 4: Spotlight on each agency's contribution to safeguarding",
        "Part 5: Conclusion and priorities for the year ahead",
        "Glossary",
    ]
    assert [t for level, t in page.headings if level == 3][:3] == [
        "Figures",
        "Part 1 – Context and Key Facts about Birmingham",
        "Part 2 – The Effectiveness of Safeguarding Arrangements",
    ]
    missing = sorted({f for f in page.fragments if f not in page.ids})
    assert missing == []
    assert len([f for f in page.fragments if f.startswith("term-")]) >= 50  # glossary terms are linked


def test_figures_are_numbered_in_order_with_a_table_and_a_description(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    captions = [
        (n, htmllib.unescape(title))
        for n, title in re.findall(r'<span class="figure-number">Figure (\d+):</span> ([^<]+?) ?<', html)
    ]
    assert captions == [
        ("1", "Birmingham compared with England: selected indicators"),
        ("2", "Sources of the Board's budget, 2018/19"),
        ("3", "Multi-agency safeguarding training places, 2018/19"),
        ("4", "Multi-agency safeguarding training events"),
    ]
    # the example publishes no made-up figure: the publication gate would hold one back
    assert "(illustrative" not in html
    assert html.count("<caption>The values in figure ") == 3 and "<caption>Figure 2 as a table</caption>" in html
    alts = re.findall(r'<img src="images/figure-[a-z-]+\.svg" alt="([^"]+)"', html)
    assert alts[0] == (
        "Bar chart: Birmingham compared with England: selected indicators. Largest: Youth re-offending: "
        "England, 40.1%; smallest: Claiming JSA: England, 2.8%. The table below gives every value."
    )


def _tags(reader: PdfReader) -> tuple[Counter[str], list[Any]]:
    counts: Counter[str] = Counter()
    alts: list[Any] = []
    stack = [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if not isinstance(node, dict):
            continue
        kind = node.get("/S")
        if kind:
            counts[str(kind)] += 1
            if kind == "/Figure":
                alts.append(node.get("/Alt"))
        kids = node.get("/K")
        if isinstance(kids, list):
            stack.extend(kids)
        elif kids is not None:
            stack.append(kids)
    return counts, alts


def test_the_pdf_is_tagged_titled_in_english_and_reads_in_order(site: Path) -> None:
    reader = PdfReader(site / "report.pdf")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"  # the partnership's language
    assert bool(root["/MarkInfo"]["/Marked"])
    assert reader.metadata is not None
    assert reader.metadata.title == "Annual Report 2018/19 – Birmingham Safeguarding Children Board"
    counts, alts = _tags(reader)
    assert counts["/H1"] == 1 and counts["/H2"] == 9  # as in the HTML above
    assert counts["/H3"] >= 12 and counts["/Table"] >= 4
    assert sorted(str(a)[:10] for a in alts) == ["Bar chart:"] * 3 + ["Birmingham"]  # the three charts
    assert "Birmingham Safeguarding Children Board" in alts  # the cover's logo, described
    # the cover, then the contents with page numbers, then the parts in order
    cover = reader.pages[0].extract_text()
    assert "Annual Report 2018/19" in cover and "Published 1 July 2019" in cover
    contents = reader.pages[1].extract_text()
    assert re.search(r"Foreword \.+ +3", contents)
    # after the contents pages, the agencies' chapters come in the partnership's order
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages[3:])
    agencies = [a.name for a in parse(EXAMPLE).agencies]
    positions = [text.find(f"{name} Statutory role") for name in agencies]  # each chapter's heading
    assert all(p > 0 for p in positions) and positions == sorted(positions)
    # every page after the cover carries the running header and its number
    assert "Page 2 of " in reader.pages[1].extract_text()


def test_axe_finds_nothing_on_the_report_or_its_statement(site: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    with chromium() as browser:
        page = browser.new_page()
        for name in ("index.html", "accessibility.html"):
            page.goto((site / name).as_uri())
            result = Axe().run(page)
            assert [f"{v['id']}: {v['help']}" for v in result.response["violations"]] == [], name
            assert page.evaluate("document.documentElement.lang") == "en-GB"


def _elements(reader: PdfReader) -> list[Any]:
    found, stack = [], [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if isinstance(node, dict):
            found.append(node)
            kids = node.get("/K")
            stack.extend(kids if isinstance(kids, list) else [kids] if kids is not None else [])
    return found


def test_pdf_header_cells_are_scoped_and_links_described_by_their_words(site: Path) -> None:
    reader = PdfReader(site / "report.pdf")
    elements = _elements(reader)
    headers = [e for e in elements if e.get("/S") == "/TH"]
    scopes = Counter(str(e["/A"]["/Scope"]) for e in headers)
    # every header cell has one: 58 before the made-up budget figure went (its 2 column and 6 row headers)
    assert sum(scopes.values()) == len(headers) == 50
    assert scopes["/Column"] > 0 and scopes["/Row"] > 0
    # Figure 1's table: two column headers, then eight row headers
    assert [e.get("/S") for e in elements].count("/NonStruct") == 0
    links = {}
    for page in reader.pages:
        for a in page.get("/Annots") or []:
            a = a.get_object()
            action = a.get("/A")
            links.setdefault(str(a.get("/Contents")), str(action["/URI"]) if action else str(a.get("/Dest")))
    assert links["Accessibility statement"] == "https://example.org/site/bscb/2018-19/accessibility.html"
    assert links["BSCB"] == "term-bscb"  # a glossary term: described by its words, not its fragment id
    assert links["Birmingham Safeguarding Children Board website"] == "https://bscb.example.org"
    assert "term-bscb" not in links and not any("report.invalid" in target for target in links.values())
    assert b"report.invalid" not in (site / "report.pdf").read_bytes()


def test_the_pdf_claims_no_conformance_and_the_statement_reports_the_checks_run_on_it(site: Path) -> None:
    pdf = (site / "report.pdf").read_bytes()
    reader = PdfReader(site / "report.pdf")
    assert reader.xmp_metadata is not None and b"pdfuaid" not in pdf  # XMP, but no PDF/UA claim
    statement = htmllib.unescape((site / "accessibility.html").read_text(encoding="utf-8"))
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(Passed|Failed|Not run)</td>', statement))
    assert rows == {
        "The web page against WCAG 2.2 A and AA with axe-core": "Passed",
        "The PDF's language": "Passed",
        "The PDF's title": "Passed",
        "The PDF is tagged": "Passed",
        "Headings in order": "Passed",
        "Table header cells say what they head": "Passed",
        "Pictures and charts have a text description": "Passed",
        "Links are described by their words": "Passed",
        "Every element has a structural tag": "Passed",
    }
    assert "the document language is en-GB" in statement and "4 of 4 figures have one" in statement
    assert "neither this statement nor\nthe PDF's own metadata claims that it conforms to PDF/UA" in statement


def test_printed_addresses_follow_only_links_whose_words_differ(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://bscb.example.org" class="show-url">' in html
    assert re.search(r'<a href="https://bwc\.nhs\.uk/"(?! class="show-url")[^>]*>https://bwc\.nhs\.uk/</a>', html)
    text = " ".join(_texts(site / "report.pdf"))
    assert "(http://www.lscbbirmingham.org.uk" not in text  # its words are its address: printed once


def test_figures_follow_the_paragraph_or_part_that_speaks_of_them(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    places = html.index('<figure class="figure" id="figure-training-places"')
    before = html[:places]
    # right after the first paragraph giving its values, before the next paragraph
    assert before.rstrip().endswith("</p>") and "3,412 delegates" in before[before.rindex("<p") :]
    finance = html.index('id="governance-finance"')
    assert finance < html.index('id="figure-funding"') < html.index('id="governance-sub-group-structure"')
    assert html.index('id="figure-key-facts"') < html.index('id="context-education"')


def _texts(pdf: Path) -> list[str]:
    """Each page's text, its running header included (pypdfium2: pypdf takes seconds a report)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    return [" ".join(page.get_textpage().get_text_range().split()) for page in document]


def _used(page: Any) -> float:
    """The share of the page's body (between the top and bottom margins) from its first inked line to its
    last, at 30 dots an inch: enough to see a page that holds a heading and nothing else."""
    image = page.render(scale=30 / 72, grayscale=True).to_pil()
    width, height = image.size
    margin = round(height * 22 / 297)  # the @page margin, where the running header and footer are
    body = image.crop((0, margin, width, height - margin))
    data, (w, h) = body.tobytes(), body.size
    inked = [y for y in range(h) if min(data[y * w : (y + 1) * w]) < 240]
    return (inked[-1] - inked[0] + 1) / h if inked else 0.0


def test_no_page_is_left_nearly_empty(site: Path) -> None:
    import pypdfium2

    texts = _texts(site / "report.pdf")
    document = pypdfium2.PdfDocument(site / "report.pdf")
    assert len(document) == len(texts) > 60
    used = {n: _used(document[n - 1]) for n in range(1, len(document) + 1)}
    # Chapter openers: a page whose body starts with a Part number or a chapter title may stand short.
    titles = ("Contents", "Foreword", "Introduction", "Glossary", "Part ")
    openers = {n for n, t in enumerate(texts, start=1) if t.startswith(titles)}
    sparse = {n: round(u, 2) for n, u in used.items() if u < 0.1 and n != 1 and n not in openers}
    assert sparse == {}
    assert used[1] > 0.3  # the cover holds the logo, the title and the period, not a line of text
