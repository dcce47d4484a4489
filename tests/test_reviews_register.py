"""The reviews register: entered on the desk over HTTP (CSRF, errors on fields), imported from CSV (a good file,
and a bad row with its one-line error), rendered in the report as the tables of Schedule 2 (d)-(g), and counted
as evidence by the collation report."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from models.partnership_file import ReportSpec
from models.reviews import CaseReview, ReviewFinding
from models.store import find_cycle
from reportcycle.cli import app as cli
from reportcycle.settings import get_settings
from tasks.report.collation_report import build_collation_report
from tasks.report.register import RegisterView, words_for
from tasks.report.report import build_view, inputs_hash, render_html, report_inputs
from tests import test_review_desk_http as base
from tests.agency_pages import error_links
from tests.helpers import local, open_example_cycle
from tests.test_collation_report import DRAFT_HTML, _view
from tests.test_review_desk_http import _csrf

# The fixtures of the review and desk tests: the example cycle, the app on a fixed clock, the manager signed in.
app, clock, links, manager = base.app, base.clock, base.links, base.manager


def _date(name: str, day: str, month: str, year: str) -> dict[str, str]:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


def _rows(html: str, caption: str) -> list[list[str]]:
    """A table's body rows as the texts of their cells, found by its caption."""
    table = html.split(f"<caption>{caption}</caption>")[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _report(session: Session) -> str:
    session.expire_all()  # the rows as the portal left them, not as this session last read them
    cycle = find_cycle(session)
    return render_html(get_settings().templates_dir, build_view(session, cycle, at=local("2019-06-01"), draft_number=1))


def test_the_register_entered_on_the_desk(manager: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    base_url = f"/desk/{cycle.id}/reviews"
    assert f'href="{base_url}">Reviews register</a>' in manager.get(f"/desk/{cycle.id}").text  # reached from the desk
    empty = manager.get(base_url)
    assert empty.status_code == 200
    assert "The register is empty: the report has no section about reviews" in empty.text
    assert 'id="reviews"' not in _report(session)  # an empty register: no such section in the report
    csrf = _csrf(empty.text)

    # Without the form's token nothing is added.
    refused = manager.post(base_url, data={"name": "SAR Adult D", **_date("started", "1", "6", "2018")})
    assert refused.status_code == 403
    # Each mistake on its field, and in the summary linked to it.
    wrong = manager.post(base_url, data={"csrf": csrf, "name": " ", **_date("started", "31", "2", "2018")})
    assert wrong.status_code == 422
    assert error_links(wrong.text) == [
        ("#name", "Enter the review&#39;s name, as the report will name it"),
        ("#started-day", "The date the review started must be a real date, like 27 3 2026"),
    ]
    assert 'id="name-error"' in wrong.text and 'id="started-error"' in wrong.text
    late = manager.post(
        base_url,
        data={
            "csrf": csrf,
            "name": "SAR Adult D",
            **_date("started", "1", "6", "2018"),
            **_date("concluded", "", "1", "2019"),
        },
    )
    assert error_links(late.text) == [("#concluded-day", "The date the review concluded must include a day")]
    assert 'value="SAR Adult D"' in late.text  # what was typed is kept

    added = manager.post(
        base_url,
        data={
            "csrf": csrf,
            "name": "LCSPR Child K",
            **_date("started", "1", "6", "2018"),
            **_date("concluded", "20", "1", "2019"),
        },
    )
    assert added.status_code == 303
    review = session.exec(select(CaseReview)).one()
    assert added.headers["location"] == f"{base_url}/{review.id}?done=review"
    page = manager.get(added.headers["location"]).text
    assert "The review is added to the register." in page

    no_finding = manager.post(f"{base_url}/{review.id}", data={"csrf": csrf, "finding": "  "})
    assert no_finding.status_code == 422
    assert error_links(no_finding.text) == [("#finding", "Enter the finding, as the review states it")]
    for text in ("Schools did not hear of the child protection plan.", "No one agency held the whole history."):
        assert manager.post(f"{base_url}/{review.id}", data={"csrf": csrf, "finding": text}).status_code == 303
    first, second = session.exec(select(ReviewFinding).order_by(ReviewFinding.number)).all()

    finding_url = f"{base_url}/{review.id}/findings/{first.id}"
    assert "Was the finding implemented?" in manager.get(finding_url).text
    no_text = manager.post(finding_url, data={"csrf": csrf, "outcome": "implemented", "outcome-text": ""})
    assert no_text.status_code == 422
    assert error_links(no_text.text) == [("#outcome-text", "Say what was done to implement it")]
    no_choice = manager.post(finding_url, data={"csrf": csrf, "outcome-text": "Something"})
    assert error_links(no_choice.text) == [("#outcome", "Choose whether the finding was implemented or not")]
    done = "Schools now receive every plan within a day."
    assert (
        manager.post(finding_url, data={"csrf": csrf, "outcome": "implemented", "outcome-text": done}).status_code
        == 303
    )
    why = "A shared chronology system is a national decision."
    second_url = f"{base_url}/{review.id}/findings/{second.id}"
    assert (
        manager.post(second_url, data={"csrf": csrf, "outcome": "not-implemented", "outcome-text": why}).status_code
        == 303
    )

    ongoing = manager.post(base_url, data={"csrf": csrf, "name": "LCSPR Child M", **_date("started", "4", "2", "2019")})
    assert ongoing.status_code == 303
    listing = manager.get(base_url).text
    assert "Concluded Sunday 20 January 2019" in listing and "Ongoing at year end" in listing

    html = _report(session)
    assert '<li><a href="#reviews">Local child safeguarding practice reviews</a></li>' in html
    assert _rows(html, "Local child safeguarding practice reviews concluded in the year") == [
        [
            "LCSPR Child K",
            "1 June 2018",
            "20 January 2019",
            "Schools did not hear of the child protection plan. No one agency held the whole history.",
        ]
    ]
    assert _rows(html, "Local child safeguarding practice reviews ongoing on 31 March 2019") == [
        ["LCSPR Child M", "4 February 2019"]
    ]
    assert _rows(html, "Findings implemented, and what was done") == [
        ["LCSPR Child K", "Schools did not hear of the child protection plan.", done]
    ]
    assert _rows(html, "Findings the partnership decided not to implement, with the reasons") == [
        ["LCSPR Child K", "No one agency held the whole history.", why]
    ]
    # The register follows the agencies' contributions, before the central sections placed after them.
    assert html.index('id="contributions"') < html.index('id="reviews"') < html.index('id="glossary"')

    # Removing a review goes through a page saying what will happen; only its form's post removes it.
    review_id = review.id
    remove_url = f"{base_url}/{review_id}/remove"
    confirm = manager.get(remove_url)
    assert "LCSPR Child K and its 2 findings leave the register" in confirm.text
    assert session.exec(select(func.count()).select_from(CaseReview)).one() == 2
    assert manager.post(remove_url, data={}).status_code == 403
    removed = manager.post(remove_url, data={"csrf": csrf})
    assert removed.headers["location"] == f"{base_url}?done=removed"
    session.expire_all()
    assert session.exec(select(CaseReview.name)).all() == ["LCSPR Child M"]
    assert session.exec(select(func.count()).select_from(ReviewFinding)).one() == 0
    assert manager.get(f"{base_url}/{review_id}").status_code == 404
    html = _report(session)
    assert "LCSPR Child K" not in html and "LCSPR Child M" in html


GOOD_CSV = """\
review,started,concluded,finding,outcome,detail
SAR Adult D,2018-06-01,20/01/2019,Carers were not offered an assessment.,implemented,Referrals now ask about carers.
SAR Adult D,,,Records were not shared with the GP.,not implemented,The GP system cannot take them yet.
SAR Adult D,,,Escalation was slow.,,
SAR Adult E,04/02/2019,,,,
"""


def _import(tmp_path: Path, text: str) -> object:
    path = tmp_path / "reviews.csv"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["reviews", "import", str(path)])


def test_the_register_imported_from_csv(database_url: str, session: Session, tmp_path: Path) -> None:
    open_example_cycle(session)
    bad = GOOD_CSV.replace("Escalation was slow.,,", "Escalation was slow.,done,") + "SAR Adult F,2018-02-30,,,,\n"
    result = _import(tmp_path, bad)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.output.splitlines() == [  # type: ignore[attr-defined]
        f"error: {tmp_path / 'reviews.csv'}: row 4, column outcome: 'done'; write implemented, not implemented, or "
        "leave it blank",
        f"error: {tmp_path / 'reviews.csv'}: row 6, column started: '2018-02-30' is not a date; write it like "
        "2025-03-27 or 27/03/2025",
        "nothing was imported",
    ]
    assert session.exec(select(func.count()).select_from(CaseReview)).one() == 0
    before = report_inputs(session, find_cycle(session))
    assert "reviews" not in before  # an empty register leaves the drafts' fingerprint as it was

    result = _import(tmp_path, GOOD_CSV)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "imported 2 reviews with 3 findings" in result.output  # type: ignore[attr-defined]
    html = _report(session)
    # The register is content: a draft collated before the import is not current after it.
    after = report_inputs(session, find_cycle(session))
    assert after["reviews"][0][:3] == ["SAR Adult D", "2018-06-01", "2019-01-20"]
    assert inputs_hash(after) != inputs_hash(before)
    assert _rows(html, "Local child safeguarding practice reviews concluded in the year") == [
        [
            "SAR Adult D",
            "1 June 2018",
            "20 January 2019",
            "Carers were not offered an assessment. Records were not shared with the GP. Escalation was slow.",
        ]
    ]
    assert _rows(html, "Local child safeguarding practice reviews ongoing on 31 March 2019") == [
        ["SAR Adult E", "4 February 2019"]
    ]
    assert _rows(html, "Findings implemented, and what was done") == [
        ["SAR Adult D", "Carers were not offered an assessment.", "Referrals now ask about carers."]
    ]
    assert _rows(html, "Findings the partnership decided not to implement, with the reasons") == [
        ["SAR Adult D", "Records were not shared with the GP.", "The GP system cannot take them yet."]
    ]
    # The same file again: the reviews are already there, so nothing is added twice.
    again = _import(tmp_path, GOOD_CSV)
    assert again.exit_code == 1  # type: ignore[attr-defined]
    assert "row 2, column review: the register already has 'SAR Adult D'; remove the row" in again.output  # type: ignore[attr-defined]


def test_an_adults_boards_collation_counts_the_register_as_evidence_for_d_to_g() -> None:
    view = _view(ReportSpec(kind="safeguarding-adults-board"))
    view.reviews = RegisterView(
        words_for("safeguarding-adults-board"),
        "31 March 2026",
        concluded=[("SAR Adult D", "1 June 2025", "20 January 2026", ["Carers were not offered an assessment."])],
        ongoing=[("SAR Adult E", "4 February 2026")],
        implemented=[("SAR Adult D", "Carers were not offered an assessment.", "Referrals ask about carers.")],
        not_implemented=[("SAR Adult D", "Records were not shared.", "The GP system cannot take them.")],
    )
    found = {t.key: [e.where for e in t.found] for t in build_collation_report(view, DRAFT_HTML).guidance_topics}
    assert "Safeguarding Adults Reviews: findings of reviews concluded in the year" in found["sar-findings"]
    assert found["sars-ongoing"] == ["Safeguarding Adults Reviews: reviews ongoing at the end of the year"]
    assert "Safeguarding Adults Reviews: findings implemented: actions taken" in found["sar-actions"]
    assert (
        "Safeguarding Adults Reviews: findings not implemented, and the reasons for the decision"
        in found["sar-not-implemented"]
    )
    # Without the register the draft has no evidence of reviews ongoing at the year's end.
    view.reviews = None
    found = {t.key: [e.where for e in t.found] for t in build_collation_report(view, DRAFT_HTML).guidance_topics}
    assert found["sars-ongoing"] == []
