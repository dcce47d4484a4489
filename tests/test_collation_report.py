"""The business manager's collation report: a small hand-built draft, then the whole worked example."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from markupsafe import Markup
from sqlmodel import Session, select

from models.partnership_file import CollationChecks, GuidanceTopic, PartnershipFileError, ReportSpec, parse
from models.report import Draft
from models.store import contribution_for, find_agency, find_cycle
from reportcycle.settings import get_settings
from tasks.contributions.content import markdown_to_html
from tasks.contributions.submission import submit_file
from tasks.desk.central import set_central_text
from tasks.report.collate import collate
from tasks.report.collation_report import (
    BrokenLink,
    build_collation_report,
    find_acronyms,
    ids_in,
    parse_glossary,
    phrase_pattern,
    spelled_out,
)
from tasks.report.findings import summary_lines
from tasks.report.report import CentralView, Completeness, ContributionView, ReportView, SectionView, render_html
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle

MISSING_PICTURE = "a" * 64 + ".png"
GLOSSARY_MD = """\
| Term | Meaning |
| --- | --- |
| MASH | Multi-Agency Safeguarding Hub |
| CCG | Clinical Commissioning Group |
| CP-IS | Child Protection Information Sharing |
| WNB | Was Not Brought |

**SCR** – Serious Case Review
**FGM**: Female Genital Mutilation
"""
FOREWORD_MD = """\
The Board (LSCB) worked with the MASH and the CCGs across the UK and the NHS.
See [the glossary](#glossary), [our plan](#plan-2020) and [the Board's site](https://example.org/board).

Children told us what mattered to them.
"""
POLICE_MD = f"""\
Our Child Abuse Investigation Unit (CAIU) shared CP-IS alerts after a serious case review.
The impact of training was evaluated.

![A chart of referrals by month](/images/{MISSING_PICTURE})
[the full chart](/images/{MISSING_PICTURE})
"""


def _section(key: str, title: str, md: str, required: bool = True) -> SectionView:
    html = markdown_to_html(md)
    return SectionView(key, title, Markup(html), len(html.split()), 300, required)


def _view(spec: ReportSpec | None = None) -> ReportView:
    police = ContributionView(
        "rpol",
        "Riverside Police",
        "submitted",
        1,
        "hash",
        [
            _section("role", "Statutory role", POLICE_MD),
            _section("ahead", "Looking ahead", ""),
            _section("story", "A case that shows impact", "", required=False),
        ],
    )
    ambulance = ContributionView("ramb", "Riverside Ambulance", "excused", None, None, [])
    return ReportView(
        title="Annual Report",
        partnership="Riverside Board",
        period_text="1 April 2025 to 31 March 2026",
        draft_number=2,
        generated_on="10 June 2026",
        spec=spec or ReportSpec(),
        contributions=[police, ambulance],
        central_before=[CentralView("foreword", "Foreword", "draft", Markup(markdown_to_html(FOREWORD_MD)), "h1")],
        central_after=[CentralView("glossary", "Glossary", "draft", Markup(markdown_to_html(GLOSSARY_MD)), "h2")],
        completeness=Completeness(
            excused=["Riverside Ambulance"],
            empty_sections=["Riverside Police: Looking ahead", "Riverside Police: A case that shows impact"],
            pictures_missing=[MISSING_PICTURE],
        ),
    )


# The ids the draft page gives its parts, written out by hand for the small view.
DRAFT_HTML = '<main><section id="foreword"></section><section id="agency-rpol"></section><section id="glossary">'


def test_acronyms_glossary_links_and_topics_of_a_small_draft() -> None:
    found = build_collation_report(_view(), DRAFT_HTML)

    assert found.glossary == "Glossary"
    assert found.empty_required_sections == ["Riverside Police: Looking ahead"]
    # LSCB and CAIU are not in the glossary; MASH, CCGs (plural of CCG) and CP-IS are; UK and NHS are common.
    assert [(a.acronym, a.uses, a.where, a.spelled_out) for a in found.acronyms_undefined] == [
        ("CAIU", 1, ["Riverside Police: Statutory role"], "Child Abuse Investigation Unit"),
        ("LSCB", 1, ["Foreword"], ""),  # "The Board (LSCB)": the words do not spell it
    ]
    assert found.glossary_unused == ["FGM", "SCR", "WNB"]
    assert found.broken_links == [
        BrokenLink("Foreword", "#plan-2020", "no part of the report has this id"),
        BrokenLink("Riverside Police: Statutory role", f"/images/{MISSING_PICTURE}", "no such picture is stored"),
        BrokenLink(
            "Riverside Police: Statutory role",
            f"/images/{MISSING_PICTURE}",
            "no such picture is stored: upload it again or remove it",
        ),
    ]
    where = {t.key: [(e.where, e.phrases) for e in t.found] for t in found.guidance_topics}
    assert where == {
        "impact": [],
        "training": [("Riverside Police: Statutory role", ["impact of training", "training was evaluat*"])],
        "little-progress": [],
        "reviews": [("Riverside Police: Statutory role", ["serious case review"])],
        "feedback": [("Foreword", ["children told us"])],
    }
    assert found.guidance_topics[4].found[0].excerpt.endswith("Children told us what mattered to them.")


def test_a_partnership_sets_its_own_topics_and_common_acronyms() -> None:
    spec = ReportSpec(
        collation=CollationChecks(
            topics=(GuidanceTopic(key="hub", title="The hub", phrases=("MASH", "front door")),),
            common_acronyms=("LSCB",),
        )
    )
    found = build_collation_report(_view(spec), DRAFT_HTML)
    assert [a.acronym for a in found.acronyms_undefined] == ["CAIU", "NHS", "UK"]
    assert [(t.key, [(e.where, e.phrases) for e in t.found]) for t in found.guidance_topics] == [
        ("hub", [("Foreword", ["MASH"])])
    ]


def test_without_a_glossary_every_acronym_is_undefined() -> None:
    view = _view()
    view.central_after = []
    found = build_collation_report(view, DRAFT_HTML)
    assert found.glossary == "" and found.glossary_unused == []
    assert [a.acronym for a in found.acronyms_undefined] == ["CAIU", "CCG", "CP-IS", "LSCB", "MASH"]
    assert any("glossary[/]: none found" in line for line in summary_lines(found.summary()))


def test_what_counts_as_an_acronym_a_glossary_entry_and_a_phrase() -> None:
    text = "CCGs, A&E, KS2, CP-IS and CSE-related work; Part II; DfE, the UK, NHS, Ofsted and I. ROH's staff"
    assert find_acronyms(text) == ["CCG", "A&E", "KS2", "CP-IS", "CSE", "ROH"]
    assert parse_glossary(markdown_to_html(GLOSSARY_MD)) == {
        "MASH": "Multi-Agency Safeguarding Hub",
        "CCG": "Clinical Commissioning Group",
        "CP-IS": "Child Protection Information Sharing",
        "WNB": "Was Not Brought",
        "SCR": "Serious Case Review",
        "FGM": "Female Genital Mutilation",
    }
    assert parse_glossary(markdown_to_html("- **LSCB** — Local Safeguarding Children Board")) == {
        "LSCB": "Local Safeguarding Children Board"
    }
    assert spelled_out("ASTI", "Family Support and Assessment and Short Term Intervention (ASTI) teams") == (
        "Assessment and Short Term Intervention"
    )
    assert spelled_out("SUDIC", "the Sudden Unexpected Death in Childhood (SUDIC) panel") == (
        "Sudden Unexpected Death in Childhood"
    )
    assert phrase_pattern("voice of the child").search("the Voice  of the\nchild")
    assert phrase_pattern("evaluat* of training").search("an evaluation of training")
    assert not phrase_pattern("SCR").search("the scr was late")
    assert not phrase_pattern("no progress").search("no progression")


def test_the_draft_page_has_the_ids_the_links_are_checked_against() -> None:
    html = render_html(get_settings().templates_dir, _view())
    assert {"foreword", "agency-rpol", "agency-ramb", "glossary", "contributions"} <= ids_in(html)
    assert "plan-2020" not in ids_in(html)


def test_terminal_lines_for_old_and_new_summaries() -> None:
    old = {"missing": ["Riverside Police"], "excused": [], "over_limit": []}
    assert summary_lines(old) == ["[bold]no contribution[/] (1): Riverside Police"]
    lines = summary_lines({**old, **build_collation_report(_view(), DRAFT_HTML).summary()})
    assert "[bold]acronyms not in the glossary[/] (2): CAIU, LSCB" in lines
    assert "[bold]glossary entries never used[/] (3): FGM, SCR, WNB" in lines
    assert lines[3].startswith("[bold]broken links[/] (3): Foreword: #plan-2020 (no part of the report has this id); ")
    assert lines[-3:] == [
        "[bold]Priorities with little or no progress[/]: [red]not found[/]",
        "[bold]Learning from local and national reviews[/]: 1 place, first Riverside Police: Statutory role",
        "[bold]How feedback from children and families was used[/]: 1 place, first Foreword",
    ]
    assert summary_lines({"over_limit": [f"Agency {n}: Role" for n in range(8)]}) == [
        "[bold]over the word limit[/] (8): Agency 0: Role; Agency 1: Role; Agency 2: Role; Agency 3: Role; "
        "Agency 4: Role; Agency 5: Role and 2 more"
    ]


@pytest.fixture
def example_cycle(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The worked example with every agency's text and every central section in."""
    monkeypatch.setenv("REPORTCYCLE_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    s = get_settings()
    open_example_cycle(session)
    cycle = find_cycle(session)
    texts = EXAMPLE.with_suffix("")
    spec = parse(EXAMPLE)
    for a in spec.agencies:
        agency = find_agency(session, cycle, a.slug)
        submit_file(
            session,
            cycle,
            agency,
            contribution_for(session, cycle, agency),
            texts / "contributions" / f"{a.slug}.md",
            at=local("2019-06-01"),
            actor="lead",
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        )
    for c in spec.central_sections:
        body = (texts / "central" / f"{c.key}.md").read_text()
        set_central_text(session, cycle, c.key, body, at=local("2019-06-02"), actor="bm")
    session.commit()
    return cycle


def test_the_worked_example(session: Session, example_cycle) -> None:  # type: ignore[no-untyped-def]
    s = get_settings()
    kw = {"actor": "bm", "output_dir": s.output_dir, "templates_dir": s.templates_dir}
    result = collate(session, example_cycle, at=local("2019-06-03"), **kw)
    session.commit()
    summary = session.exec(select(Draft)).one().summary
    assert summary == result.summary
    assert summary["over_limit"][0] == "Birmingham Children's Trust: Activity against each priority (1189 of 900 words)"
    undefined = {a["acronym"]: a for a in summary["acronyms_undefined"]}
    # LSCB is nowhere in the glossary: 12 times in Governance ("LSCB", "LSCBs"), once in the Introduction
    # ("LSCBs"), once in the CRC's list of activity ("multi-agency LSCB training").
    assert undefined["LSCB"]["uses"] == 14
    assert undefined["LSCB"]["where"] == [
        "Introduction",
        "Governance, accountability and transitional arrangements",
        "Staffordshire and West Midlands Community Rehabilitation Company: Activity against each priority",
    ]
    assert undefined["CAIU"]["spelled_out"] == "Child Abuse Investigation Unit"
    assert undefined["CAIU"]["where"] == ["West Midlands Police: Performance and impact"]
    # Common (NHS), in the glossary (CCG, and CCGs), or part of a glossary term of two words ("BSOL CCG").
    assert {"NHS", "CCG", "BSOL", "WMP"}.isdisjoint(undefined)
    # Child Exploitation (CE) and West Midlands Ambulance Service (WMAS) are explained but never used.
    assert summary["glossary_unused"] == ["CE", "WMAS"]
    assert summary["broken_links"] == []  # the example's texts link to no fragment and no picture
    topics = {t["key"]: {e["where"]: e["phrases"] for e in t["found"]} for t in summary["guidance_topics"]}
    assert topics["feedback"]["The Royal Orthopaedic Hospital NHS Foundation Trust: Looking ahead"] == [
        "voice of the child"
    ]
    assert topics["reviews"][
        "University Hospitals Birmingham NHS Foundation Trust: Activity against each priority"
    ] == ["serious case review"]
    assert topics["training"]["Sandwell and West Birmingham Hospitals NHS Trust: Performance and impact"] == [
        "training compliance"
    ]

    page = Path(result.report_path)
    assert page.name == "draft-1-report.html" and page.parent == Path(result.path).parent
    html = page.read_text(encoding="utf-8")
    assert '<th scope="row">LSCB</th><td>14</td>' in html
    assert (
        '<a href="draft-1.html#agency-roh">The Royal Orthopaedic Hospital NHS Foundation Trust: Looking ahead</a>'
        in html
    )

    # Unchanged: the same draft back. A lost report page is written again under the same number.
    assert collate(session, example_cycle, at=local("2019-06-04"), **kw).created is False
    page.unlink()
    again = collate(session, example_cycle, at=local("2019-06-04"), **kw)
    assert (again.number, page.exists()) == (1, True)


def test_an_old_draft_without_the_new_keys_gets_them_when_written_again(session: Session, example_cycle) -> None:  # type: ignore[no-untyped-def]
    s = get_settings()
    kw = {"actor": "bm", "output_dir": s.output_dir, "templates_dir": s.templates_dir}
    first = collate(session, example_cycle, at=local("2019-06-03"), **kw)
    draft = session.exec(select(Draft)).one()
    draft.summary = {k: draft.summary[k] for k in ("missing", "excused", "over_limit", "empty_sections")}
    session.add(draft)
    Path(first.report_path).unlink()  # as a draft made before collation reports existed
    session.commit()
    collate(session, example_cycle, at=local("2019-06-03") + dt.timedelta(days=1), **kw)
    session.commit()
    session.refresh(draft)
    assert draft.summary["glossary_unused"] == ["CE", "WMAS"]


def test_topics_and_common_acronyms_come_from_the_partnership_file(tmp_path: Path) -> None:
    from tests.conftest import SECOND

    settings = """
[report.collation]
common_acronyms = ["NHS", "GP"]

[[report.collation.topics]]
key = "voice"
title = "The voice of the adult"
asks = "how people's views shaped the Board's work"
phrases = ["making safeguarding personal", "people told us"]
"""
    path = tmp_path / "board.toml"
    path.write_text(SECOND.read_text(encoding="utf-8") + settings, encoding="utf-8")
    checks = parse(path).report.collation
    assert checks.common_acronyms == ("NHS", "GP")
    assert checks.topics is not None and [(t.key, t.phrases) for t in checks.topics] == [
        ("voice", ("making safeguarding personal", "people told us"))
    ]
    path.write_text(SECOND.read_text(encoding="utf-8") + settings.replace("phrases", "keywords"), encoding="utf-8")
    with pytest.raises(PartnershipFileError, match=r"report\.collation\.topics\[0:voice\]\.phrases: Field required"):
        parse(path)
