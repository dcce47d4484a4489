"""Statutory frameworks chosen by the partnership's kind: a made-up Safeguarding Adults Board checked
against the Care Act's Schedule 2, its recipients against the roles the Act names, and the report's name
said once in emails whatever the cycle's title."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from models.framework import framework_for, national_within_days, publish_within_months, report_topics
from models.partnership_file import ReportSpec, Statutory, parse
from models.report import Draft
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from reportcycle.settings import get_settings
from tasks.asking.cycle_open import open_cycle
from tasks.contributions.submission import submit_file
from tasks.mail.context import ReportNames, report_names
from tasks.mail.render import render_email
from tasks.report.collate import collate
from tasks.report.distribution import roles_missing
from tasks.report.findings import summary_lines
from tests.conftest import EXAMPLE, SECOND
from tests.helpers import flat, local

WESTSHIRE = Path(__file__).parent / "data" / "westshire-sab.toml"
Drafted = tuple[dict[str, Any], str]  # a draft's stored summary and its collation report page


@pytest.fixture
def westshire_draft(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Drafted:
    """Westshire loaded, opened, both agencies' texts in, collated: the draft's summary and report page."""
    monkeypatch.setenv("REPORTCYCLE_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    s = get_settings()
    load_partnership(session, parse(WESTSHIRE), at=local("2026-04-01"), actor="t")
    cycle = find_cycle(session)
    open_cycle(
        session,
        cycle,
        at=local("2026-04-20", "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=120,
        templates_dir=s.templates_dir,
    )
    for slug in ("wcc-asc", "wpol"):
        agency = find_agency(session, cycle, slug)
        submit_file(
            session,
            cycle,
            agency,
            contribution_for(session, cycle, agency),
            WESTSHIRE.with_suffix("") / "contributions" / f"{slug}.md",
            at=local("2026-06-01"),
            actor="lead",
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        )
    session.commit()
    result = collate(
        session, cycle, at=local("2026-06-08"), actor="bm", output_dir=s.output_dir, templates_dir=s.templates_dir
    )
    session.commit()
    assert session.exec(select(Draft)).one().summary == result.summary
    return result.summary, Path(result.report_path).read_text(encoding="utf-8")


def test_an_adults_board_is_checked_against_schedule_2(westshire_draft: Drafted) -> None:
    summary, html = westshire_draft
    topics = {t["key"]: {e["where"]: e["phrases"] for e in t["found"]} for t in summary["guidance_topics"]}
    assert [t["title"] for t in summary["guidance_topics"]] == [
        "(a) What the Board did to achieve its objective",
        "(b) What the Board did to implement its strategy",
        "(c) What each member did to implement the strategy",
        "(d) Findings of the Safeguarding Adults Reviews concluded in the year",
        "(e) Safeguarding Adults Reviews ongoing at the end of the year",
        "(f) What the Board did to implement the findings of reviews",
        "(g) Findings the Board decided not to implement, and why",
    ]
    assert summary["framework"] == "the Care Act 2014, Schedule 2, paragraph 4"
    # The sections about reviews are evidence for (d) and (f) by their title alone; the police's text also
    # says a review is ongoing at the end of the year, (e).
    council = "Westshire County Council Adult Social Care: Safeguarding Adults Reviews: findings acted on"
    police = "Westshire Constabulary: Safeguarding Adults Reviews: findings acted on"
    by_title = ["safeguarding adults review*", "findings"]
    assert topics["sar-findings"] == {council: by_title, police: by_title}
    assert topics["sar-actions"] == {council: ["findings acted on"], police: ["findings acted on"]}
    assert topics["sars-ongoing"] == {police: ["at the end of the year"]}
    assert topics["sar-not-implemented"] == {}
    # The Act's words, the Board's framework named, and never a word about children.
    assert '<h2 id="topics">What the Care Act 2014, Schedule 2, paragraph 4 asks the report to cover</h2>' in html
    assert "The Care Act asks for the findings of the reviews arranged by it under section 44" in html
    assert "child" not in html.lower()
    assert (
        "<title>Collation report for draft 1 – Annual Report 2025/26 – Westshire Safeguarding Adults Board</title>"
        in html
    )


def test_the_recipients_are_checked_against_the_roles_the_act_names(westshire_draft: Drafted) -> None:
    summary, html = westshire_draft
    assert summary["recipients_missing"] == ["no recipient is the Local Healthwatch"]
    assert '<li class="not-found">No recipient is the Local Healthwatch: add them' in html
    assert "[bold]statutory recipients[/]: [red]no recipient is the Local Healthwatch[/]" in summary_lines(summary)
    recipients = parse(WESTSHIRE).recipients
    assert roles_missing(recipients[1:], "safeguarding-adults-board") == [
        "no recipient is the local authority's chief executive",
        "no recipient is the Local Healthwatch",
    ]
    # The worked example's national bodies are the two a children's partnership must send to.
    assert roles_missing(parse(EXAMPLE).recipients, "safeguarding-children-partnership") == []
    assert roles_missing(parse(EXAMPLE).recipients[:-1], None) == [
        "no recipient is the What Works Centre for Children's Social Care"
    ]


def test_each_kind_brings_its_defaults_and_the_file_overrides_them() -> None:
    sab = parse(WESTSHIRE)
    assert (sab.partnership.kind, sab.report.kind) == ("safeguarding-adults-board", "safeguarding-adults-board")
    assert national_within_days(sab.report) is None  # no national bodies' 7-day rule for an adults board
    assert publish_within_months(sab.statutory, sab.partnership.kind) is None  # "as soon as feasible"
    assert publish_within_months(Statutory(publish_within_months=4), sab.partnership.kind) == 4
    adults = framework_for("safeguarding-adults-board")
    assert (adults.people_served, adults.publication.timing) == (
        "adults",
        "as soon as feasible after the end of each financial year",
    )
    # A file without kind is a children's partnership, as every file was before kinds: the worked example
    # and the made-up Riverside board keep Working Together's topics and the 7 days.
    for path in (EXAMPLE, SECOND):
        spec = parse(path)
        assert spec.partnership.kind == "safeguarding-children-partnership"
        assert [t.key for t in report_topics(spec.report)] == [
            "impact",
            "training",
            "little-progress",
            "reviews",
            "feedback",
        ]
        assert national_within_days(spec.report) == 7
        assert publish_within_months(spec.statutory, spec.partnership.kind) == 3
    children = framework_for(None)
    assert (children.title, children.people_served) == (
        "Working Together to Safeguard Children (2018)",
        "children and families",
    )
    # A cycle stored before kinds existed has no kind in its report settings: a children's one.
    assert report_topics(ReportSpec.model_validate({})) == children.topics
    assert national_within_days(ReportSpec(kind="safeguarding-adults-board", send_to_national_within_days=10)) == 10
    assert report_topics(ReportSpec(kind="community-safety-partnership")) == ()
    assert report_topics(ReportSpec(kind="other")) == ()


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = WESTSHIRE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "partnership.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_bad_kind_is_refused_in_one_line(tmp_path: Path) -> None:
    from models.partnership_file import PartnershipFileError

    path = _with(tmp_path, 'kind = "safeguarding-adults-board"', 'kind = "adults-board"')
    with pytest.raises(PartnershipFileError) as refused:
        parse(path)
    assert str(refused.value) == (
        f"{path}: partnership.kind: unknown kind 'adults-board'; write one of \"safeguarding-adults-board\", "
        '"safeguarding-children-partnership", "community-safety-partnership", "other"'
    )
    assert "\n" not in str(refused.value)
    path = _with(tmp_path, "[[central_sections]]", '[report]\nkind = "other"\n\n[[central_sections]]')
    with pytest.raises(
        PartnershipFileError,
        match=r"report\.kind is not the partnership's kind \('safeguarding-adults-board'\): write the kind once",
    ):
        parse(path)
    # The same kind repeated there, as an exported file has it, is accepted.
    same = _with(
        tmp_path, "[[central_sections]]", '[report]\nkind = "safeguarding-adults-board"\n\n[[central_sections]]'
    )
    assert parse(same).report.kind == "safeguarding-adults-board"


def test_a_community_safety_partnership_says_it_has_no_statutory_topics(tmp_path: Path) -> None:
    from tasks.report.collation_report import build_collation_report, render_collation_report
    from tasks.report.report import view_summary
    from tests.test_collation_report import DRAFT_HTML, _view

    spec = ReportSpec(kind="community-safety-partnership")
    found = build_collation_report(_view(spec), DRAFT_HTML)
    assert (found.guidance_topics, found.framework) == ([], "the Crime and Disorder Act 1998")
    view = _view(spec)
    html = render_collation_report(get_settings().templates_dir, view, found, view_summary(view), "draft-2.html")
    assert "No statutory topics are checked: the Crime and Disorder Act 1998 sets none for a yearly report." in html
    assert "What Working Together" not in html and "Evidence of impact" not in html
    lines = summary_lines(found.summary())
    assert lines[-1] == "[bold]statutory topics[/]: none under the Crime and Disorder Act 1998"


@pytest.mark.parametrize(
    ("name", "title", "subject", "opening"),
    [
        (
            "Westshire Safeguarding Adults Board",
            "Westshire Safeguarding Adults Board Annual Report 2025/26",
            "Published: Westshire Safeguarding Adults Board Annual Report 2025/26",
            "Westshire Safeguarding Adults Board has published its Annual Report 2025/26, covering",
        ),
        (
            "Riverside Safeguarding Adults Board",
            "Safeguarding Adults Board Annual Report 2025/26",
            "Published: Riverside Safeguarding Adults Board Annual Report 2025/26",
            "Riverside Safeguarding Adults Board has published its Annual Report 2025/26, covering",
        ),
        (
            "Birmingham Safeguarding Children Board",
            "Annual Report 2018/19",
            "Published: Birmingham Safeguarding Children Board Annual Report 2018/19",
            "Birmingham Safeguarding Children Board has published its Annual Report 2018/19, covering",
        ),
    ],
)
def test_the_report_is_named_once_in_subjects_and_openings(name: str, title: str, subject: str, opening: str) -> None:
    context = {
        "partnership": {"name": name},
        "business_manager": {"name": "Idris Fenwick", "email": "idris.fenwick@westshire-sab.example.net"},
        "cycle": {"title": title, "label": "2025/26", "period_text": "1 April 2025 to 31 March 2026"},
        "recipient": {"name": "Helen Margetts", "role": "Chief Executive of Westshire County Council"},
        "site_link": "https://reports.example.net/index.html",
        "pdf_link": "https://reports.example.net/report.pdf",
        "sums_link": "https://reports.example.net/SHA256SUMS",
    }
    email = render_email(get_settings().templates_dir, "published", context)
    assert email.subject == subject
    assert opening in flat(email.text) and opening in email.html
    assert f"{name} - {report_names(name, title).own}\n" in email.text


def test_report_names() -> None:
    inside = "Annual Report of the Westshire SAB"
    assert report_names("Westshire SAB", inside) == ReportNames(inside, inside)
    assert report_names("Westshire SAB", "westshire sab annual report").full == "westshire sab annual report"
    assert report_names("Westshire SAB", "westshire sab annual report").own == "annual report"
    assert report_names("Westshire SAB", "Westshire SAB").own == "Westshire SAB"


def test_the_requests_name_the_board_once(session: Session, westshire_draft: Drafted) -> None:
    from models.outbox import OutboundEmail

    requests = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    assert len(requests) == 2
    for row in requests:
        assert "Westshire Safeguarding Adults Board is preparing its Annual Report 2025/26, covering" in flat(
            row.text_body
        )
        assert "\nWestshire Safeguarding Adults Board - Annual Report 2025/26\n" in row.text_body
        assert row.text_body.count("Westshire Safeguarding Adults Board") == 2
