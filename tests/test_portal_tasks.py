"""The contribution as a task list over HTTP: each task's status, autosave, the pages around the contribution
with their errors on their fields, posts without a session, and last year's text as a starting point."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.cycle import Contribution
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.portal import ExtensionRequest, WorkingCopy
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.asking.cycle_open import open_cycle
from tests.agency_pages import error_links, form_fields, summary_rows
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle
from tests.test_portal_http import NOW, _enter, _form, _lead, _save

PICTURE = "/images/" + "a" * 64 + ".png"
NOT_READY = "Not ready yet"
DATE_FIELD_WRONG = r'class="govuk-input govuk-date-input__input [^"]*govuk-input--error"[^>]*name="until-(\w+)"'
# which of the date input's fields each case marks as wrong
MARKED = {
    ("", "", ""): ["day", "month", "year"],
    ("3", "", "2019"): ["month"],
    ("", "", "2019"): ["day", "month"],
    ("31", "6", "2019"): ["day", "month", "year"],
    ("3", "6", "19"): ["year"],
    ("3", "June", "2019"): ["month"],
    ("1", "8", "2019"): ["day", "month", "year"],
}


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), FixedClock(NOW)), follow_redirects=False) as c:
        yield c


def task_rows(html: str) -> list[tuple[str, str, str]]:
    """The task list's rows as (title, hint, status), in plain text."""
    rows = []
    for item in re.findall(r'<li class="govuk-task-list__item.*?</li>', html, re.S):
        parts = re.findall(
            r'<(?:a|div)[^>]*class="[^"]*govuk-task-list__(link|hint|status)[^"]*"[^>]*>(.*?)</(?:a|div)>', item, re.S
        )
        found = {kind: " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split()) for kind, text in parts}
        rows.append((found.get("link", ""), found.get("hint", ""), found.get("status", "")))
    return rows


def test_each_task_says_honestly_where_it_stands(client: TestClient, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("uhb")])
    summary = client.get(path).text
    assert 'class="govuk-caption-l">University Hospitals Birmingham' in summary
    assert summary_rows(summary) == [
        ("Due", "17:00 on Monday 20 May 2019"),
        ("State", '<strong class="govuk-tag govuk-tag--blue">\n        Waiting for you\n      </strong>'),
        ("Signed in as", "Helena Brightwater"),
    ]
    assert task_rows(summary) == [
        ("Statutory role", "0 words of 300", "Not started"),
        ("Activity against each priority", "0 words of 900", "Not started"),
        ("Performance and impact", "0 words of 400 (optional)", "Not started"),
        ("Looking ahead", "0 words of 300", "Not started"),
        ("Key figures for the year", "", "Not started"),
        (
            "Check your answers and submit",
            "See it as the report will show it, then send it to the Chair",
            "Not ready yet",
        ),
    ]
    _save(client, path, "statutory-role", "We run the hospitals.")
    _save(client, path, "priority-activity", "word " * 901)
    _save(client, path, "looking-ahead", f"More plans. ![]({PICTURE})")  # a picture still to describe
    figures = client.post(f"{path}/figures", data={**_form(client, path), "figure-audits": "12"})
    assert figures.status_code == 303
    later = client.get(path).text
    assert task_rows(later)[:5] == [
        ("Statutory role", "4 words of 300", "Completed"),
        ("Activity against each priority", "901 words of 900", "Over the word limit"),
        ("Performance and impact", "0 words of 400 (optional)", "Not started"),  # never "completed" when empty
        ("Looking ahead", "2 words of 300", "In progress"),
        ("Key figures for the year", "", "Completed"),
    ]
    _save(client, path, "priority-activity", "Done.")
    _save(client, path, "looking-ahead", "More plans.")
    assert task_rows(client.get(path).text)[-1][2] == "Ready to submit"
    # completed is plain text, the rest are tags (the Design System's task list), the state's first
    assert re.findall(r'<strong class="govuk-tag ([^"]+)">\s*([^<]*?)\s*</strong>', later) == [
        ("govuk-tag--blue", "Waiting for you"),
        ("govuk-tag--red", "Over the word limit"),
        ("govuk-tag--blue", "Not started"),
        ("govuk-tag--light-blue", "In progress"),
    ]


def test_autosave_saves_one_section_and_says_when(client: TestClient, session: Session, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    _save(client, path, "looking-ahead", "Kept as it was.")
    fields = _form(client, path)
    assert fields["version"] == "1"
    saved = client.post(f"{path}/draft", data={**fields, "section-statutory-role": "Typed, not yet saved by hand."})
    assert saved.status_code == 200
    assert saved.json() == {"version": 2, "words": 6, "saved_at": "10:00"}  # local time (UTC+1 in May)
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.sections == {"looking-ahead": "Kept as it was.", "statutory-role": "Typed, not yet saved by hand."}
    # a page loaded before that draft clashes with it and is told so: nothing is overwritten
    stale = client.post(f"{path}/draft", data={**fields, "section-looking-ahead": "From an older tab."})
    assert stale.status_code == 409 and stale.json()["version"] == 2
    session.expire_all()
    assert session.exec(select(WorkingCopy)).one().sections["looking-ahead"] == "Kept as it was."
    # no session, or a forged token: 403 and nothing saved
    anonymous = TestClient(client.app, follow_redirects=False)
    assert (
        anonymous.post(f"{path}/draft", data={**fields, "version": "2", "section-looking-ahead": "x"}).status_code
        == 403
    )
    forged = client.post(f"{path}/draft", data={"csrf": "forged", "version": "2", "section-looking-ahead": "x"})
    assert forged.status_code == 403 and "error" in forged.json()
    two = client.post(
        f"{path}/draft", data={**fields, "version": "2", "section-looking-ahead": "a", "section-performance": "b"}
    )
    assert two.status_code == 400
    session.expire_all()
    assert session.exec(select(WorkingCopy)).one().version == 2


def test_the_extension_page_says_what_is_wrong_with_the_date_on_its_fields(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("wmp")])
    page = client.get(f"{path}/extension").text
    assert 'name="until-day"' in page and 'name="until-month"' in page and 'name="until-year"' in page
    csrf = _form(client, path)["csrf"]
    cases = [
        (
            ("", "", ""),
            "Needed.",
            [("#until-day", "Enter the date you ask for as a day, month and year, like 27 3 2026")],
        ),
        (("3", "", "2019"), "Needed.", [("#until-month", "The date you ask for must include a month")]),
        (("", "", "2019"), "Needed.", [("#until-day", "The date you ask for must include a day and a month")]),
        (("31", "6", "2019"), "Needed.", [("#until-day", "The date you ask for must be a real date")]),
        (("3", "6", "19"), "Needed.", [("#until-year", "The year must include 4 numbers, like 2026")]),
        (
            ("3", "June", "2019"),
            "",
            [
                ("#until-month", "The date you ask for must be a real date: the month is not a number"),
                ("#reason", "Say why you need more time: the business manager decides on the reason"),
            ],
        ),
        (
            ("1", "8", "2019"),
            "Needed.",
            [
                (
                    "#until-day",
                    "Ask for a date before Wednesday 31 July 2019, when the report must be published; "
                    "if you cannot, say so to the business manager.",
                )
            ],
        ),
    ]
    for (day, month, year), reason, expected in cases:
        data = {"csrf": csrf, "until-day": day, "until-month": month, "until-year": year, "reason": reason}
        response = client.post(f"{path}/extension", data=data)
        assert response.status_code == 422 and error_links(response.text) == expected, (day, month, year)
        marked = re.findall(
            r'class="govuk-input govuk-date-input__input [^"]*govuk-input--error"[^>]*name="until-(\w+)"', response.text
        )
        assert marked == MARKED[(day, month, year)]  # only the fields to put right, or all three for the date
        # and the same fields, no others, announced as invalid to screen readers
        assert re.findall(r'<input aria-invalid="true"[^>]*name="until-(\w+)"', response.text) == marked
        assert response.text.count('aria-invalid="true"') == len(marked) + (0 if reason.strip() else 1)  # + reason
        assert form_fields(response.text)["until-month"] == month  # what was typed comes back
        assert 'aria-describedby="until-hint until-error"' in response.text
    assert session.exec(select(ExtensionRequest)).all() == []


def test_hand_over_and_sign_off_pages_want_each_field(client: TestClient, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("wmp")])
    csrf = _form(client, path)["csrf"]
    empty = client.post(f"{path}/handover", data={"csrf": csrf, "name": " ", "email": ""})
    assert empty.status_code == 422 and error_links(empty.text) == [
        ("#name", "Enter your colleague&#39;s name"),
        ("#email", "Enter your colleague&#39;s work email address"),
    ]
    assert 'aria-describedby="email-error"' in empty.text
    half = client.post(f"{path}/signoff", data={"csrf": csrf, "name": "Dr A Chief", "role": ""})
    assert half.status_code == 422
    assert error_links(half.text) == [("#role", "Enter their role, like Director of Children&#39;s Services")]
    assert form_fields(half.text)["name"] == "Dr A Chief"


def test_a_post_without_a_session_keeps_the_text_and_writes_nothing(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    from models.portal import KeptPost

    path = _enter(client, links[_lead("bcc")])
    fields = {**_form(client, path), "section-statutory-role": "Typed overnight."}
    expired = TestClient(client.app, follow_redirects=False)  # the session cookie is gone
    for page in ("", "/section/statutory-role", "/figures", "/submit", "/extension", "/handover", "/signoff"):
        response = expired.post(f"{path}{page}", data=fields)
        assert response.status_code == 403 and "your text is kept" in response.text, page
    assert session.exec(select(WorkingCopy)).all() == []  # nothing written to the contribution while signed out
    (kept,) = session.exec(select(KeptPost)).all()
    assert kept.sections == {"statutory-role": "Typed overnight."}


def test_a_closed_contribution_offers_nothing_to_edit(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bcc")])
    contribution = session.get(Contribution, int(path.rsplit("/", 1)[1]))
    assert contribution is not None
    contribution.status = "excused"
    session.add(contribution)
    session.commit()
    page = client.get(path).text
    assert "This contribution is excused this year. Thank you: there is nothing more to do." in page
    assert "govuk-task-list" not in page and "/check" not in page
    for where in ("/check", "/section/statutory-role", "/figures", "/extension", "/word", "/picture"):
        assert client.get(f"{path}{where}").headers["location"] == path, where


def test_last_years_text_is_offered_as_a_starting_point(session: Session, database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """2018/19 has bcc's approved text; in 2019/20 the page offers it and fills only the empty fields."""
    from models.revisions import add_revision
    from tasks.contributions.submission import split_sections

    s = get_settings()
    spec = parse(EXAMPLE)
    load_partnership(session, spec, at=local("2019-04-01"), actor="t")
    old = find_cycle(session, "bscb", "2018/19")
    open_cycle(
        session,
        old,
        at=local("2019-04-15", "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=120,
        templates_dir=s.templates_dir,
    )
    bcc = find_agency(session, old, "bcc")
    sections = split_sections(EXAMPLE.with_suffix("") / "contributions" / "bcc.md", spec.brief)
    add_revision(
        session,
        contribution_for(session, old, bcc),
        sections,
        brief=spec.brief,
        source="t",
        at=local("2019-05-01"),
        actor="t",
    )
    text = EXAMPLE.read_text(encoding="utf-8")
    for a, b in (
        ('label = "2018/19"', 'label = "2019/20"'),
        ("2018-04-01", "2019-04-01"),
        ("2019-03-31", "2020-03-31"),
        ("2019-04-15", "2020-04-15"),
        ("2019-05-20", "2020-05-20"),
        ("2019-06-21", "2020-06-21"),
        ("2019-07-31", "2020-07-31"),
    ):
        text = text.replace(a, b)
    next_year = tmp_path / "next.toml"
    next_year.write_text(text, encoding="utf-8")
    (tmp_path / "bscb-logo.svg").write_bytes((EXAMPLE.parent / "bscb-logo.svg").read_bytes())  # read beside it
    load_partnership(session, parse(next_year), at=local("2020-04-01"), actor="t")
    new = find_cycle(session, "bscb", "2019/20")
    open_cycle(
        session,
        new,
        at=local("2020-04-15", "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=120,
        templates_dir=s.templates_dir,
    )
    session.commit()
    requests = session.exec(
        select(OutboundEmail).where(OutboundEmail.kind == "request", OutboundEmail.cycle_id == new.id)
    ).all()
    request = next(r for r in requests if r.to_addrs == [_lead("bcc")])
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", request.text_body)
    with TestClient(create_app(s, FixedClock(local("2020-04-20", "10:00"))), follow_redirects=False) as client:
        path = _enter(client, token)
        page = unescape(client.get(f"{path}/section/statutory-role").text)
        assert "Start from last year's text" in page and "Last year's text for “Statutory role”" in page
        fields = {**_form(client, path), "section-statutory-role": "Our own new words.", "action": "last-year"}
        filled = client.post(f"{path}/section/statutory-role", data=fields)
        assert filled.status_code == 200 and "nothing is saved yet" in filled.text
        assert "Our own new words.\n\nBirmingham City Council" in unescape(filled.text)  # what was typed stays, first
        assert "Birmingham City Council (BCC) has responsibility for a wide range of services" in filled.text
        assert session.exec(select(WorkingCopy)).all() == []


def test_the_chairs_return_keeps_its_paragraphs(client: TestClient, session: Session, links: dict[str, str]) -> None:
    from models.cycle import ReviewDecision

    path = _enter(client, links[_lead("bct")])
    contribution = session.get(Contribution, int(path.rsplit("/", 1)[1]))
    assert contribution is not None and contribution.id is not None
    contribution.status = "returned"
    session.add(contribution)
    session.add(
        ReviewDecision(
            cycle_id=contribution.cycle_id,
            contribution_id=contribution.id,
            content_hash="0" * 64,
            decision="return",
            comments="Say more about early help.\r\n\r\nAnd <b>name</b> the hubs.",
            brief_section="priority-activity",
            decided_by="chair@example.org",
            decided_at=NOW,
        )
    )
    session.commit()
    page = client.get(path).text
    inset = page.split('class="govuk-inset-text"')[1].split("</div>")[0]
    assert re.findall(r'<p class="govuk-body">(.*?)</p>', inset) == [
        "About “Activity against each priority”:",
        "Say more about early help.",
        "And &lt;b&gt;name&lt;/b&gt; the hubs.",
    ]
    assert "Returned to you for changes" in page


def test_a_clash_on_the_key_figures_keeps_the_figures_typed(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bchc")])
    tab_one, tab_two = _form(client, path), _form(client, path)
    assert client.post(f"{path}/figures", data={**tab_one, "figure-audits": "7"}).status_code == 303
    clash = client.post(f"{path}/figures", data={**tab_two, "figure-audits": "9", "figure-staff-trained": "40"})
    assert clash.status_code == 409 and "Someone else saved this contribution" in clash.text
    cells = re.findall(r'<td class="govuk-table__cell">([^<]*)</td>', clash.text)
    assert cells == ["40", "", "9", "7"]  # each figure that differs: mine, then the saved one
    keep = form_fields(clash.text)
    assert client.post(path, data=keep).status_code == 303
    session.expire_all()
    assert session.exec(select(WorkingCopy)).one().figures == {"staff-trained": "40", "audits": "9"}


def test_an_overdue_contribution_says_so(session: Session, links: dict[str, str], database_url: str) -> None:
    late = FixedClock(local("2019-05-21", "09:00"))  # the morning after the deadline
    with TestClient(create_app(get_settings(), late), follow_redirects=False) as client:
        path = _enter(client, links[_lead("wmp")])
        page = client.get(path).text
        assert summary_rows(page)[:2] == [
            ("Due", "17:00 on Monday 20 May 2019 (overdue)"),
            ("State", '<strong class="govuk-tag govuk-tag--red">\n        Waiting for you (overdue)\n      </strong>'),
        ]
        # nothing submitted yet: the confirmation page sends the person back to the summary
        assert client.get(f"{path}/submitted?revision=3").headers["location"] == path
