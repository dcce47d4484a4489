"""Priorities checked: the coverage rule with hand-written cases, then the rule where people see it (the
agency's check-your-answers page, the Chair's item page, the collation report)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models.report import Draft
from models.store import find_cycle
from models.values import Brief, BriefSection, Priority
from reportcycle.settings import get_settings
from tasks.contributions.priorities import priority_coverage, uncovered
from tasks.report.collate import collate
from tasks.report.findings import summary_lines
from tests import test_review_desk_http as base
from tests.agency_pages import summary_rows
from tests.helpers import local
from tests.test_portal_http import _enter, _lead, _save
from tests.test_review_desk_http import _client, _staff_token, _submit

# The fixtures of the review and desk tests: the example cycle, the app on a fixed clock.
app, clock, links = base.app, base.clock, base.links

PRIORITIES = [
    Priority(key="self-neglect", title="Responding to self-neglect"),
    Priority(key="exploitation", title="Financial abuse and exploitation"),
    Priority(key="p3", title="Making Safeguarding Personal"),
]
PER_PRIORITY = Brief(
    sections=(
        BriefSection(key="role", title="Our role"),
        BriefSection(key="member", title="What we did as a member", per_priority=True),
    )
)


@pytest.mark.parametrize(
    ("texts", "covered"),
    [
        # The title, whatever its case, punctuation and emphasis.
        ({"member": "Our work on **responding to Self-Neglect** grew."}, ["self-neglect"]),
        # The key read as words is a short form; "&" is "and".
        (
            {"member": "Self neglect panels met monthly. Financial abuse & exploitation: a new protocol."},
            ["self-neglect", "exploitation"],
        ),
        # A word inside another word is not the priority ("exploitations" is not "exploitation").
        ({"member": "Exploitations of the system were few."}, []),
        # Only the per-priority section counts when the brief has one.
        ({"role": "Making Safeguarding Personal is our role.", "member": "We audited cases."}, []),
        # Every title and short form at once; the key "p3" written as a word counts too.
        (
            {"member": "Self-neglect; exploitation; P3 (making safeguarding personal)."},
            ["self-neglect", "exploitation", "p3"],
        ),
        # An empty text covers nothing.
        ({"member": ""}, []),
    ],
)
def test_the_rule_on_a_per_priority_section(texts: dict[str, str], covered: list[str]) -> None:
    found = priority_coverage(PER_PRIORITY, PRIORITIES, texts)
    assert [c.key for c in found if c.covered] == covered
    assert [c.key for c in found] == ["self-neglect", "exploitation", "p3"]


def test_without_a_per_priority_section_the_whole_contribution_is_read_and_html_is_text() -> None:
    brief = Brief(sections=(BriefSection(key="a", title="A"), BriefSection(key="b", title="B")))
    texts = {
        "a": "<p>Our <strong>financial abuse</strong> and <em>exploitation</em> work</p>",
        "b": "<p>Self-<br>neglect</p>",
    }
    assert uncovered(brief, PRIORITIES, texts, is_html=True) == ["Making Safeguarding Personal"]
    # The same words as Markdown, read as Markdown.
    assert uncovered(brief, PRIORITIES, {"a": "making *safeguarding* personal"}) == [
        "Responding to self-neglect",
        "Financial abuse and exploitation",
    ]


# The worked example's priorities: "Strong Leadership and Strong Partnership" (leadership), "Continuous
# Improvement of Child Protection Practice" (child-protection), "Embedding Early Help and Early Intervention
# into mainstream partnership activity" (early-help); "Activity against each priority" is per priority.
TEXTS = {
    "statutory-role": "The council leads early help.",  # not the per-priority section: does not count
    "priority-activity": "Strong leadership and strong partnership: a new board. Early help hubs opened.",
    "looking-ahead": "More audits.",
}
CHILD_PROTECTION = "Continuous Improvement of Child Protection Practice"


def _tags(html: str) -> dict[str, str]:
    """The priorities' summary list: each priority's title and the words of its tag."""
    part = html.split('id="priorities"')[1].split("<h2")[0]
    return {key: re.sub(r"<[^>]+>", "", value).strip() for key, value in summary_rows(part)}


def test_check_your_answers_and_the_chair_see_the_uncovered_priority(
    app: object, session: Session, links: dict[str, str]
) -> None:
    with _client(app) as agency:
        path = _enter(agency, links[_lead("bcc")])
        for key, text in TEXTS.items():
            assert _save(agency, path, key, text).status_code == 303
        check = agency.get(f"{path}/check")
        assert check.status_code == 200
        assert _tags(check.text) == {
            "Strong Leadership and Strong Partnership": "Covered",
            CHILD_PROTECTION: "Not mentioned",
            "Embedding Early Help and Early Intervention into mainstream partnership activity": "Covered",
        }
        # A warning, not a refusal: the submit button is there and the submission goes through.
        assert f"Your contribution does not mention {CHILD_PROTECTION}. You can still submit" in check.text
        assert (
            f'href="{path}/section/priority-activity">Add<span class="govuk-visually-hidden"> {CHILD_PROTECTION}'
            in check.text
        )
        _submit(agency, path, TEXTS)
    cycle = find_cycle(session)
    with _client(app) as chair:
        assert chair.post(f"/c/{_staff_token(session, 'chair')}").status_code == 303
        item = chair.get(f"/review/{cycle.id}/bcc")
        assert item.status_code == 200
        assert "This contribution does not mention 1 of the 3 priorities." in item.text
        assert _tags(item.text) == {
            "Strong Leadership and Strong Partnership": "Covered",
            CHILD_PROTECTION: "Not mentioned",
            "Embedding Early Help and Early Intervention into mainstream partnership activity": "Covered",
        }


def test_the_collation_report_lists_each_agencys_uncovered_priorities(
    app: object, session: Session, links: dict[str, str], tmp_path: Path
) -> None:
    with _client(app) as agency:
        _submit(agency, _enter(agency, links[_lead("bcc")]), TEXTS)
    s = get_settings()
    cycle = find_cycle(session)
    result = collate(
        session, cycle, at=local("2019-06-03"), actor="bm", output_dir=tmp_path, templates_dir=s.templates_dir
    )
    session.commit()
    # Only agencies with a contribution are listed: the others are "no contribution received".
    assert session.exec(select(Draft)).one().summary["priorities_uncovered"] == [
        {"agency": "Birmingham City Council", "priorities": [CHILD_PROTECTION]}
    ]
    assert f"[bold]priorities not mentioned[/] by Birmingham City Council: {CHILD_PROTECTION}" in summary_lines(
        result.summary
    )
    page = Path(result.report_path).read_text(encoding="utf-8")
    assert f'<tr><th scope="row">Birmingham City Council</th><td>{CHILD_PROTECTION}</td></tr>' in page
