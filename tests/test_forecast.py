"""What will happen: the forecast of the ladder against a table written by hand from the example's policy and the
GB-ENG calendar, then against what the real chase queues when the clock moves day by day through the cycle; the
desk page over HTTP and in Chromium with axe."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlmodel import Session, col, select

from models.cycle import Contribution
from models.outbox import OutboundEmail
from models.partnership import Agency
from models.partnership_file import parse
from models.store import contribution_for, cycle_values, find_agency, find_cycle, load_partnership
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle
from tasks.asking.forecast import CHASE_TIME, LADDER_KINDS, OPEN_TIME, ForecastEmail, forecast
from tasks.contributions.working_copy import submit
from tests import test_review_desk_browser as in_browser
from tests import test_review_desk_http as base
from tests.conftest import EXAMPLE
from tests.helpers import LONDON, local, open_example_cycle
from tests.test_portal_browser import _axe
from tests.test_portal_http import _enter, _lead

app, chair, clock, links, manager = base.app, base.chair, base.clock, base.links, base.manager
browser, portal = in_browser.browser, in_browser.portal

MANAGER = "morgan.ellery@bscb.example.org"
BCC = ("harriet.lowe@bcc.example.org", "dev.anand-shaw@bcc.example.org")
NPS = ("gareth.millward@nps.example.org", "amira.latchford@nps.example.org")

# Worked out by hand from the example: deadline Monday 20 May 2019; reminders 14, 7 and 2 calendar days before,
# moved back to a working day (6 May is the Early May bank holiday, 18 May a Saturday); overdue notices from the
# first working day after, every 3 working days, until the final notice 10 working days after (the Spring bank
# holiday, 27 May, is not counted); the escalation to the senior contact 5 working days after. All at 09:00.
EXPECTED = {
    "bcc": [
        ("2019-04-15", "request", (BCC[1],), ()),
        ("2019-04-15", "request", (BCC[0],), ()),
        ("2019-05-03", "reminder", BCC, ()),
        ("2019-05-13", "reminder", BCC, ()),
        ("2019-05-17", "reminder", BCC, ()),
        ("2019-05-21", "overdue", BCC, ()),
        ("2019-05-24", "overdue", BCC, ()),
        ("2019-05-28", "escalation", ("graham.pettifer@bcc.example.org",), (MANAGER,)),
        ("2019-05-30", "overdue", BCC, ()),
        ("2019-06-04", "final_notice", BCC, (MANAGER,)),
    ],
    "nps": [
        ("2019-04-15", "request", (NPS[1],), ()),
        ("2019-04-15", "request", (NPS[0],), ()),
        ("2019-05-03", "reminder", NPS, ()),
        ("2019-05-13", "reminder", NPS, ()),
        ("2019-05-17", "reminder", NPS, ()),
        ("2019-05-21", "overdue", NPS, ()),
        ("2019-05-24", "overdue", NPS, ()),
        ("2019-05-28", "escalation", ("desmond.carraway@nps.example.org",), (MANAGER,)),
        ("2019-05-30", "overdue", NPS, ()),
        ("2019-06-04", "final_notice", NPS, (MANAGER,)),
    ],
}


def _table(emails: list[ForecastEmail], slug: str) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    return [(e.on.isoformat(), e.kind, e.to, e.cc) for e in emails if e.slug == slug]


def test_the_forecasts_clocks_are_the_deployments() -> None:
    from deployments.schedules import RECONCILE_MORNINGS, WORKING_MORNINGS

    assert WORKING_MORNINGS.split()[:2] == [str(CHASE_TIME.minute), str(CHASE_TIME.hour)]
    assert RECONCILE_MORNINGS.split()[:2] == [str(OPEN_TIME.minute), str(OPEN_TIME.hour)]


def test_a_planned_cycle_laid_out_by_hand(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    plan = forecast(session, find_cycle(session), at=local("2019-04-01", "12:00"))
    for slug, expected in EXPECTED.items():
        assert _table(plan.emails, slug) == expected
    assert {e.at for e in plan.emails} == {dt.time(9, 0)}
    assert {e.state for e in plan.emails} == {"to come"}
    # twelve agencies, eight chasers each; a request to each lead and deputy (the orthopaedic hospital has no deputy)
    assert len(plan.emails) == 12 * 8 + 11 * 2 + 1
    notes = {e.step: e.note for e in plan.emails if e.slug == "bcc"}
    assert notes["reminder-14d"] == "6 May is May Day: sent the working day before"
    assert notes["reminder-2d"] == "18 May is a Saturday: sent the working day before"
    assert [(s.name, s.on.isoformat()) for s in plan.stages] == [
        ("Requests sent", "2019-04-15"),
        ("Contributions due", "2019-05-20"),
        ("The Chair's review due", "2019-06-21"),
        ("Publish by", "2019-07-31"),
    ]
    assert [(d.on.isoformat(), d.name, d.stepped) for d in plan.days_off] == [
        ("2019-04-19", "Good Friday", ()),
        ("2019-04-22", "Easter Monday", ()),
        ("2019-05-06", "May Day", ("reminder-14d",)),
        ("2019-05-18", "Saturday", ("reminder-2d",)),
        ("2019-05-27", "Spring Bank Holiday", ("escalation", "final", "overdue-3")),
    ]


def test_a_run_whose_time_has_passed_waits_for_the_next(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    cycle = find_cycle(session)
    # Still planned at 10:00 on its requests date: the next opening run is Tuesday's, at 08:30.
    late = forecast(session, cycle, at=local("2019-04-15", "10:00"))
    assert {(e.on.isoformat(), f"{e.at:%H:%M}") for e in late.emails if e.kind == "request"} == {
        ("2019-04-16", "09:00")
    }
    # Looked at before 08:30 on Good Friday: the run opens it that morning, and the requests wait for the send
    # window of the next working day, Tuesday (Easter Monday is a bank holiday too).
    easter = forecast(session, cycle, at=local("2019-04-19", "08:00"))
    assert {e.on.isoformat() for e in easter.emails if e.kind == "request"} == {"2019-04-23"}
    assert (easter.stages[0].name, easter.stages[0].on.isoformat()) == ("Requests sent", "2019-04-23")
    assert easter.stages[0].note == "opened on Friday 19 April 2019"


def test_a_step_whose_chase_has_passed_goes_at_the_next_one(session: Session) -> None:
    open_example_cycle(session)
    # No chase ran on Friday 3 May (the 14-day reminder's day); looked at after 09:00 that day, it goes at the next
    # chase: Tuesday 7 May, Monday 6 May being a bank holiday.
    plan = forecast(session, find_cycle(session), at=local("2019-05-03", "10:00"))
    assert [(e.on.isoformat(), e.step) for e in plan.emails if e.slug == "bcc" and e.kind == "reminder"] == [
        ("2019-05-07", "reminder-14d"),
        ("2019-05-13", "reminder-7d"),
        ("2019-05-17", "reminder-2d"),
    ]


def _submit(session: Session, slug: str, at: dt.datetime) -> None:
    s = get_settings()
    cycle = find_cycle(session)
    agency = find_agency(session, cycle, slug)
    submit(
        session, cycle, agency, contribution_for(session, cycle, agency), in_browser.TEXT,
        brief=cycle_values(cycle)[0], at=at, actor="lead@example.org", base_url=s.public_base_url,
        templates_dir=s.templates_dir, figures={"staff-trained": "120"},
    )  # fmt: skip
    session.commit()


def _queued(session: Session) -> set[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]]:
    """(agency, kind, local day, local time, to, cc) of every ladder email the outbox holds."""
    slugs = {c.id: a.slug for c, a in session.exec(select(Contribution, Agency).join(Agency))}
    kinds = [str(k) for k in LADDER_KINDS]
    found = set()
    for row in session.exec(select(OutboundEmail).where(col(OutboundEmail.kind).in_(kinds))):
        when = row.next_attempt_at.astimezone(LONDON)
        to, cc = tuple(row.to_addrs), tuple(row.cc_addrs)
        found.add((slugs[row.contribution_id], row.kind, f"{when:%Y-%m-%d}", f"{when:%H:%M}", to, cc))
    return found


def _rows(emails: list[ForecastEmail]) -> set[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]]:
    return {(e.slug, e.kind, e.on.isoformat(), f"{e.at:%H:%M}", e.to, e.cc) for e in emails}


HALF_WAY = dt.date(2019, 5, 22)


def test_the_forecast_is_what_the_chase_then_does_and_a_submitted_agency_drops_out(session: Session) -> None:
    s = get_settings()
    open_example_cycle(session)
    cycle = find_cycle(session)
    before = forecast(session, cycle, at=local("2019-04-15", "10:00"))
    assert {e.state for e in before.emails if e.kind == "request"} == {"queued"}  # in the outbox, not yet sent
    assert _table(before.emails, "bcc") == EXPECTED["bcc"]
    submitted_on = dt.date(2019, 5, 8)
    day = dt.date(2019, 4, 16)
    while day <= dt.date(2019, 6, 14):
        chase_cycle(session, cycle, at=local(day.isoformat(), "09:00"), actor="t", base_url=s.public_base_url,
                    templates_dir=s.templates_dir)  # fmt: skip
        session.commit()
        if day == submitted_on:
            _submit(session, "wmp", local(day.isoformat(), "11:00"))
        if day == HALF_WAY:  # the forecast joins what went to what is still to come
            middle = forecast(session, cycle, at=local(day.isoformat(), "10:00"))
        day += dt.timedelta(days=1)
    reality = _queued(session)
    expected = {r for r in _rows(before.emails) if r[0] != "wmp" or r[2] <= submitted_on.isoformat()}
    assert reality == expected
    wmp = sorted((r[1], r[2]) for r in reality if r[0] == "wmp")
    assert wmp == [("reminder", "2019-05-03"), ("request", "2019-04-15"), ("request", "2019-04-15")]

    # Half way through: what went, and what was still to come, is what then happened; the submitted agency had no
    # more to come.
    assert _rows(middle.emails) == expected
    assert {e.state for e in middle.emails if e.on <= HALF_WAY} == {"queued"}  # queued: the test runs no dispatch
    assert {e.state for e in middle.emails if e.on > HALF_WAY} == {"to come"}
    assert not [e for e in middle.emails if e.slug == "wmp" and e.state == "to come"]


def test_an_extension_and_an_excusal_recompute_what_is_to_come(session: Session) -> None:
    from tasks.desk.desk import excuse, extend

    s = get_settings()
    open_example_cycle(session)
    cycle = find_cycle(session)
    bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    at = local("2019-05-01", "10:00")
    extend(session, cycle, bcc, dt.date(2019, 6, 10), at=at, actor="bm", base_url=s.public_base_url,
           templates_dir=s.templates_dir)  # fmt: skip
    roh = contribution_for(session, cycle, find_agency(session, cycle, "roh"))
    excuse(session, roh, at=at, actor="bm", reason="merged into another trust")
    session.commit()
    plan = forecast(session, cycle, at=at)
    # By hand: deadline Monday 10 June; 27 May (Spring bank holiday) and 8 June (a Saturday) move reminders back.
    assert [(e.on.isoformat(), e.step) for e in plan.emails if e.slug == "bcc" and e.state == "to come"] == [
        ("2019-05-24", "reminder-14d"),
        ("2019-06-03", "reminder-7d"),
        ("2019-06-07", "reminder-2d"),
        ("2019-06-11", "overdue-1"),
        ("2019-06-14", "overdue-2"),
        ("2019-06-17", "escalation"),
        ("2019-06-19", "overdue-3"),
        ("2019-06-24", "final"),
    ]
    assert [e.kind for e in plan.emails if e.slug == "roh"] == ["request"]  # what went; nothing to come


def _cells(html: str) -> list[list[str]]:
    """Each table row's cells as text."""
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', html, re.S)
    return [[unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


def test_the_desk_page_is_the_business_managers_alone(
    app: object, manager: TestClient, chair: TestClient, session: Session, links: dict[str, str]
) -> None:
    cid = find_cycle(session).id
    desk = manager.get(f"/desk/{cid}").text
    assert f'href="/desk/{cid}/plan">What will happen</a>' in desk
    response = manager.get(f"/desk/{cid}/plan")
    assert response.status_code == 200
    html = response.text
    assert "<h1" in html and "What will happen" in html
    final = [
        "Tuesday 4 June 2019, 09:00",
        "Birmingham City Council",
        "Final notice",
        "harriet.lowe@bcc.example.org, dev.anand-shaw@bcc.example.org (copy to morgan.ellery@bscb.example.org)",
        "To come",
    ]
    assert final in _cells(html)
    request = ["Monday 15 April 2019, 09:00", "Birmingham City Council", "Request", BCC[0], "Waiting to go"]
    assert request in _cells(html)  # opened: the request is in the outbox (the test runs no dispatch)
    assert "Spring Bank Holiday" in html and "Tuesday 21 May 2019, 09:00" in html
    assert "Monday 20 May 2019 (by 17:00)" in html
    assert chair.get(f"/desk/{cid}/plan").status_code == 403
    with base._client(app) as agency:
        _enter(agency, links[_lead("bcc")])
        assert agency.get(f"/desk/{cid}/plan").status_code == 403
    with base._client(app) as stranger:
        assert stranger.get(f"/desk/{cid}/plan").status_code == 403


@pytest.mark.once  # the HTTP tests above check this page's database work on both databases
def test_the_page_in_chromium_has_no_axe_violations(browser: Browser, portal: str, session: Session) -> None:
    page = browser.new_page()
    in_browser._open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    page.get_by_role("link", name="What will happen").click()
    page.wait_for_url(re.compile(r"/desk/\d+/plan$"))
    assert "Final notice" in page.locator("table").first.inner_text()
    assert _axe(page) == []


def test_the_command_prints_the_same_table(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from reportcycle.cli import app as cli
    from reportcycle.cli.common import console

    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    # Wide enough for every column whatever started the tests: the console reads COLUMNS once, when it is made,
    # and a pytest-xdist worker starts with COLUMNS=80.
    monkeypatch.setattr(console, "width", 250)
    result = CliRunner().invoke(cli, ["--at", "2019-04-02T10:00+01:00", "cycle", "plan", "--agency", "nps"])
    assert result.exit_code == 0, result.output
    both = ", ".join(NPS)
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert [line for line in lines if " nps " in f" {line} "] == [
        "Mon 15 Apr 2019 09:00 nps Request amira.latchford@nps.example.org to come",
        "Mon 15 Apr 2019 09:00 nps Request gareth.millward@nps.example.org to come",
        f"Fri 03 May 2019 09:00 nps Reminder {both} to come: 6 May is May Day: sent the working day before",
        f"Mon 13 May 2019 09:00 nps Reminder {both} to come",
        f"Fri 17 May 2019 09:00 nps Reminder {both} to come: 18 May is a Saturday: sent the working day before",
        f"Tue 21 May 2019 09:00 nps Overdue notice {both} to come",
        f"Fri 24 May 2019 09:00 nps Overdue notice {both} to come",
        f"Tue 28 May 2019 09:00 nps Escalation desmond.carraway@nps.example.org {MANAGER} to come",
        f"Thu 30 May 2019 09:00 nps Overdue notice {both} to come",
        f"Tue 04 Jun 2019 09:00 nps Final notice {both} {MANAGER} to come",
    ]
    assert "Spring Bank Holiday escalation, final, overdue-3" in " ".join(lines)
