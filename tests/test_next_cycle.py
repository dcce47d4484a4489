"""Planning the next cycle: the working-day check on hand-written dates of the England and Wales calendar, then
the desk's pages over HTTP (create from this year's, a bank-holiday deadline refused with the working days
either side offered, one chosen, the calendar showing it, opening now), and who may reach them."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.calendar import WorkingCalendar
from models.cycle import Contribution, Cycle
from models.lifecycle import CycleState
from models.outbox import OutboundEmail
from models.store import find_cycle
from models.year_on import CycleDates
from reportcycle.clock import FixedClock
from tasks.desk.next_cycle import (
    NextCycleError,
    add_months,
    check_dates,
    day_off_text,
    nearest_working_days,
    set_dates,
)
from tests import test_review_desk_http as base

app, chair, clock, links, manager = base.app, base.chair, base.clock, base.links, base.manager
ENGLAND = WorkingCalendar()  # Europe/London, GB-ENG
D = dt.date
T = dt.time(16, 30)


def _dates(**changed: D) -> CycleDates:
    """A year of hand-picked working days: the 2026/27 cycle, each date on a Monday to Friday with no holiday."""
    dates = {
        "period_start": D(2026, 4, 1),
        "period_end": D(2027, 3, 31),
        "requests_on": D(2027, 4, 13),
        "contributions_due": D(2027, 5, 20),
        "review_due": D(2027, 6, 18),
        "publish_by": D(2027, 6, 30),
    }
    return CycleDates(**(dates | changed))


def _check(dates: CycleDates, kind: str | None = None) -> tuple[list[tuple[str, str, tuple[D, ...]]], list[str]]:
    problems, warnings = check_dates(dates, ENGLAND, kind=kind, today=D(2026, 12, 1))
    return [(p.field, p.message, p.instead) for p in problems], warnings


def test_easter_monday_a_saturday_and_christmas_are_refused_with_the_working_days_either_side() -> None:
    assert day_off_text(D(2026, 4, 6), ENGLAND) == "Monday 6 April 2026 is Easter Monday, a bank holiday"
    assert day_off_text(D(2026, 12, 25), ENGLAND) == "Friday 25 December 2026 is Christmas Day, a bank holiday"
    assert day_off_text(D(2027, 5, 22), ENGLAND) == "Saturday 22 May 2027 is at a weekend"
    assert day_off_text(D(2027, 5, 21), ENGLAND) is None
    # Good Friday (3 April) and Easter Monday (6 April) around the weekend: Thursday before, Tuesday after.
    assert nearest_working_days(D(2026, 4, 6), ENGLAND) == (D(2026, 4, 2), D(2026, 4, 7))
    # Christmas on a Friday, Boxing Day on the Saturday moves to Monday 28: Thursday 24, Tuesday 29.
    assert nearest_working_days(D(2026, 12, 25), ENGLAND) == (D(2026, 12, 24), D(2026, 12, 29))
    assert nearest_working_days(D(2027, 5, 22), ENGLAND) == (D(2027, 5, 21), D(2027, 5, 24))

    assert _check(_dates()) == ([], [])
    problems, _ = _check(_dates(contributions_due=D(2027, 5, 22), requests_on=D(2027, 3, 29)))
    assert problems == [
        (
            "requests_on",
            "Monday 29 March 2027 is Easter Monday, a bank holiday: choose a working day, like Thursday 25 March 2027 "
            "or Tuesday 30 March 2027",
            (D(2027, 3, 25), D(2027, 3, 30)),  # Good Friday 2027 is 26 March
        ),
        (
            "contributions_due",
            "Saturday 22 May 2027 is at a weekend: choose a working day, like Friday 21 May 2027 or Monday 24 May 2027",
            (D(2027, 5, 21), D(2027, 5, 24)),
        ),
    ]


def test_dates_out_of_order_in_the_past_or_late_for_the_framework() -> None:
    problems, _ = _check(_dates(review_due=D(2027, 5, 19)))
    assert problems == [
        (
            "review_due",
            "The day the Chair's review is due must be after the deadline for contributions, Thursday 20 May 2027",
            (),
        )
    ]
    problems, _ = _check(_dates(period_start=D(2026, 4, 1), period_end=D(2026, 3, 31)))
    assert problems == [
        (
            "period_end",
            "The last day of the year reported on must be after the first day of the year reported on, "
            "Wednesday 1 April 2026",
            (),
        )
    ]
    problems, _ = _check(_dates(requests_on=D(2026, 11, 30)))
    assert problems[0][:2] == (
        "requests_on",
        "The day requests go out must be today or later, not Monday 30 November 2026",
    )
    # A children's partnership plans to publish within 3 months of the year's end (a warning, as its data says);
    # an adults board's law says "as soon as feasible", so no month is counted.
    late = _dates(publish_by=D(2027, 7, 30))
    assert _check(late) == (
        [],
        [
            "Friday 30 July 2027 is more than 3 months after the year's end, the publication limit under Working "
            "Together to Safeguard Children (2018): publish by Wednesday 30 June 2027 to keep to it"
        ],
    )
    assert _check(late, "safeguarding-adults-board") == ([], [])
    assert add_months(D(2027, 3, 31), 3) == D(2027, 6, 30)
    assert add_months(D(2027, 1, 31), 1) == D(2027, 2, 28)
    assert add_months(D(2026, 11, 15), 3) == D(2027, 2, 15)


def test_an_open_cycles_dates_do_not_change_here(manager: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    with pytest.raises(NextCycleError) as refused:
        set_dates(session, cycle, title=cycle.title, dates=_dates(), at=base.NOW, actor="t")
    assert str(refused.value) == (
        "Annual Report 2018/19 is open: only a planned cycle's dates change here; move an agency's deadline "
        "from its page on that cycle's desk"
    )
    session.expire_all()
    assert find_cycle(session).contributions_due == D(2019, 5, 20)


def _csrf(html: str) -> str:
    return re.findall(r'name="csrf" value="([^"]+)"', html)[0]


def _form(html: str) -> dict[str, str]:
    """The date form's text fields as the page fills them."""
    found = {}
    for tag in re.findall(r'<input\b[^>]*class="govuk-input[^>]*type="text"[^>]*>', html):
        value = re.search(r'value="([^"]*)"', tag)
        found[re.findall(r'name="([a-z-]+)"', tag)[0]] = unescape(value.group(1)) if value else ""
    return found


def _cells_of(html: str, caption: str) -> str:
    """The text of the month table with this caption."""
    (table,) = re.findall(rf"<caption[^>]*>{caption}</caption>(.*?)</table>", html, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", table)).split())


def test_next_cycle_from_this_years_with_a_bank_holiday_deadline(manager: TestClient, session: Session) -> None:
    cid = find_cycle(session).id
    assert f'href="/desk/{cid}/next">Plan the next cycle</a>' in manager.get(f"/desk/{cid}").text
    page = manager.get(f"/desk/{cid}/next").text
    assert "None yet." in page
    unchosen = manager.post(f"/desk/{cid}/next", data={"csrf": _csrf(page)})
    assert unchosen.status_code == 422 and 'href="#start">Choose how to start the next cycle</a>' in unchosen.text

    made = manager.post(f"/desk/{cid}/next", data={"csrf": _csrf(page), "start": "copy"})
    assert made.status_code == 303
    nxt = session.exec(select(Cycle).where(Cycle.label == "2019/20")).one()
    assert made.headers["location"] == f"/desk/{cid}/next/{nxt.id}?done=created"
    html = manager.get(made.headers["location"]).text
    # The example's dates a year on; 21 June 2020 is a Sunday, so the review moves to Monday 22 June.
    assert _form(html) == {
        "title": "Annual Report 2019/20",
        "period-start-day": "1", "period-start-month": "4", "period-start-year": "2019",
        "period-end-day": "31", "period-end-month": "3", "period-end-year": "2020",
        "requests-on-day": "15", "requests-on-month": "4", "requests-on-year": "2020",
        "contributions-due-day": "20", "contributions-due-month": "5", "contributions-due-year": "2020",
        "cut-off": "17:00",
        "review-due-day": "22", "review-due-month": "6", "review-due-year": "2020",
        "publish-by-day": "31", "publish-by-month": "7", "publish-by-year": "2020",
    }  # fmt: skip
    assert "Requests will go out at 09:00 on Wednesday 15 April 2020." in html
    assert "It can be opened early from Tuesday 31 March 2020" in html and "Open it now instead" not in html
    assert "more than 3 months after the year&#39;s end" in html  # 31 July, as the example plans it
    # Again from the desk: the planned cycle is listed, and "from this year's" goes to it, creating nothing.
    assert "Annual Report 2019/20</a> (2019/20): Requests will go out at 09:00 on Wednesday 15 April 2020" in (
        manager.get(f"/desk/{cid}/next").text
    )
    again = manager.post(f"/desk/{cid}/next", data={"csrf": _csrf(page), "start": "copy"})
    assert again.headers["location"] == f"/desk/{cid}/next/{nxt.id}"

    # Spring bank holiday 2020 was Monday 25 May: refused, the working days either side offered.
    typed = _form(html) | {"contributions-due-day": "25", "csrf": _csrf(html)}
    refused = manager.post(f"/desk/{cid}/next/{nxt.id}", data=typed)
    assert refused.status_code == 422
    problem = (
        "Monday 25 May 2020 is Spring Bank Holiday, a bank holiday: choose a working day, like Friday 22 May 2020 "
        "or Tuesday 26 May 2020"
    )
    assert f'<a href="#contributions-due-day">{problem}</a>' in refused.text
    assert re.findall(r'name="contributions-due-instead" type="radio" value="([0-9-]+)"', refused.text) == [
        "2020-05-22",
        "2020-05-26",
    ]
    assert 'name="contributions-due-refused" value="2020-05-25"' in refused.text
    assert _form(refused.text)["contributions-due-day"] == "25"  # what was typed, kept
    session.expire_all()
    assert session.get(Cycle, nxt.id).contributions_due == D(2020, 5, 20)  # type: ignore[union-attr]

    chosen = typed | {"contributions-due-refused": "2020-05-25", "contributions-due-instead": "2020-05-26"}
    saved = manager.post(f"/desk/{cid}/next/{nxt.id}", data=chosen)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    session.expire_all()
    assert session.get(Cycle, nxt.id).contributions_due == D(2020, 5, 26)  # type: ignore[union-attr]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "cycle.plan")).one()
    assert event.detail["dates"]["contributions_due"] == "2020-05-26"

    plan = manager.get(f"/desk/{cid}/next/{nxt.id}/plan").text
    may = _cells_of(plan, "May 2020")
    assert "Monday 25 May 2020 25 Spring Bank Holiday" in may
    assert "Tuesday 26 May 2020 26 Contributions due (by 17:00)" in may
    assert "Friday 8 May 2020 8 May Day" in may  # the Early May bank holiday, moved for VE Day
    assert "09:00 Request to 12 agencies" in _cells_of(plan, "April 2020")
    early = manager.post(f"/desk/{cid}/next/{nxt.id}/open", data={"csrf": _csrf(html), "confirm": "yes"})
    assert early.status_code == 422
    assert "reports on a year that ends on Tuesday 31 March 2020: it can open from then, not before." in early.text


def test_a_blank_cycle_and_opening_it_now(manager: TestClient, session: Session, clock: FixedClock) -> None:
    cid = find_cycle(session).id
    page = manager.get(f"/desk/{cid}/next").text
    blank = manager.post(f"/desk/{cid}/next", data={"csrf": _csrf(page), "start": "blank"})
    assert blank.headers["location"] == f"/desk/{cid}/next/new"
    html = manager.get(blank.headers["location"]).text
    assert _form(html)["label"] == ""
    typed = {
        "csrf": _csrf(html), "label": "Spring 2019", "title": "Interim report, spring 2019",
        "period-start-day": "1", "period-start-month": "1", "period-start-year": "2019",
        "period-end-day": "31", "period-end-month": "3", "period-end-year": "2019",
        "requests-on-day": "4", "requests-on-month": "5", "requests-on-year": "2019",
        "contributions-due-day": "3", "contributions-due-month": "6", "contributions-due-year": "2019",
        "cut-off": "5pm",
        "review-due-day": "17", "review-due-month": "6", "review-due-year": "2019",
        "publish-by-day": "28", "publish-by-month": "6", "publish-by-year": "2019",
    }  # fmt: skip
    refused = manager.post(f"/desk/{cid}/next/new", data=typed)
    assert refused.status_code == 422
    assert (
        "Saturday 4 May 2019 is at a weekend: choose a working day, like Friday 3 May 2019 or Tuesday 7 May 2019"
        in (refused.text)
    )  # Monday 6 May 2019 was the Early May bank holiday
    assert 'href="#cut-off">Enter the cut-off time as hours and minutes on the 24-hour clock, like 17:00</a>' in (
        refused.text
    )
    taken = manager.post(f"/desk/{cid}/next/new", data=typed | {"label": "2018/19"})
    assert 'href="#label">There is already a cycle labelled 2018/19: choose another label</a>' in taken.text
    assert session.exec(select(Cycle).where(Cycle.label == "Spring 2019")).first() is None
    made = manager.post(f"/desk/{cid}/next/new", data=typed | {"requests-on-day": "2", "cut-off": "16.30"})
    assert made.status_code == 303, made.text
    spring = session.exec(select(Cycle).where(Cycle.label == "Spring 2019")).one()
    assert (spring.title, spring.requests_on, spring.cut_off) == ("Interim report, spring 2019", D(2019, 5, 2), T)
    assert spring.status == CycleState.planned

    # The clock says 1 May 2019: opening now moves the requests date to today and asks every agency.
    page = manager.get(f"/desk/{cid}/next/{spring.id}").text
    assert "Requests will go out at 09:00 on Thursday 2 May 2019." in page and "Open it now instead" in page
    asked = manager.post(f"/desk/{cid}/next/{spring.id}/open", data={"csrf": _csrf(page)})
    assert asked.status_code == 200 and "Open Interim report, spring 2019 now?" in asked.text
    assert session.exec(select(Contribution).where(Contribution.cycle_id == spring.id)).first() is None
    opened = manager.post(f"/desk/{cid}/next/{spring.id}/open", data={"csrf": _csrf(page), "confirm": "yes"})
    assert opened.status_code == 303
    session.expire_all()
    spring = session.get(Cycle, spring.id)  # type: ignore[assignment]
    assert (spring.status, spring.requests_on) == (CycleState.open, D(2019, 5, 1))
    assert len(session.exec(select(Contribution).where(Contribution.cycle_id == spring.id)).all()) == 12
    kinds = session.exec(select(OutboundEmail.kind).where(OutboundEmail.cycle_id == spring.id)).all()
    assert kinds.count("staff_link") == 1 and kinds.count("request") > 12
    shown = manager.get(f"/desk/{cid}/next/{spring.id}?done=opened").text
    assert "its dates no longer change here" in shown and 'name="contributions-due-day"' not in shown
    again = manager.post(f"/desk/{cid}/next/{spring.id}", data=typed | {"csrf": _csrf(page)})
    assert again.status_code == 422
    assert "Interim report, spring 2019 is open: only a planned cycle&#39;s dates change here" in again.text
    assert session.exec(select(OutboundEmail).where(col(OutboundEmail.kind) == "staff_link")).first() is not None


def test_only_the_business_manager_plans(app: object, manager: TestClient, chair: TestClient, session: Session) -> None:
    cid = find_cycle(session).id
    for path in (f"/desk/{cid}/next", f"/desk/{cid}/next/new", f"/desk/{cid}/next/{cid}/plan"):
        assert chair.get(path).status_code == 403
        with base._client(app) as stranger:
            assert stranger.get(path).status_code == 403
    assert chair.post(f"/desk/{cid}/next", data={"start": "copy"}).status_code == 403
    assert manager.get(f"/desk/{cid}/next/999999").status_code == 404
    page = manager.get(f"/desk/{cid}/next").text
    assert manager.post(f"/desk/{cid}/next", data={"csrf": "wrong", "start": "copy"}).status_code == 403
    assert session.exec(select(Cycle).where(Cycle.label == "2019/20")).first() is None
    assert _csrf(page)


def test_a_framework_whose_limit_is_the_laws_refuses_a_late_publish_by(monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks.desk.next_cycle as next_cycle

    children = next_cycle.framework_for("safeguarding-children-partnership")
    strict = children.model_copy(
        update={"publication": children.publication.model_copy(update={"beyond_limit": "refusal"})}
    )
    monkeypatch.setattr(next_cycle, "framework_for", lambda kind: strict)
    problems, warnings = _check(_dates(publish_by=D(2027, 7, 30)))
    assert warnings == []
    assert problems == [
        (
            "publish_by",
            "Friday 30 July 2027 is more than 3 months after the year's end, the publication limit under Working "
            "Together to Safeguard Children (2018): publish by Wednesday 30 June 2027 to keep to it",
            (),
        )
    ]


def test_the_calendar_counts_a_days_emails_and_names_its_bank_holidays() -> None:
    from tasks.asking.forecast import Forecast, ForecastEmail, Stage
    from tasks.asking.forecast_calendar import forecast_months

    nine = dt.time(9, 0)

    def email(on: D, agency: str, kind: str, state: str = "to come") -> ForecastEmail:
        return ForecastEmail(on, nine, agency, agency.lower(), kind, kind, (f"{agency}@x.org",), (), state)

    plan = Forecast("p", "open", "Europe/London", nine)
    plan.emails = [
        email(D(2020, 5, 13), "Police", "reminder"),
        email(D(2020, 5, 13), "Council", "reminder"),
        email(D(2020, 5, 13), "Trust", "reminder", "superseded"),  # never sent: not shown
        email(D(2020, 5, 13), "Trust", "overdue", "sent"),
        email(D(2020, 6, 2), "Police", "final_notice"),
    ]
    plan.stages = [Stage("Contributions due", D(2020, 5, 26), "by 17:00")]
    may, june = forecast_months(plan, ENGLAND)
    assert (may.title, june.title) == ("May 2020", "June 2020")
    # May 2020 began on a Friday and ended on a Sunday: five weeks, the first four days belong to April.
    assert len(may.weeks) == 5 and may.weeks[0][:4] == (None, None, None, None)
    days = {d.on: d for week in may.weeks for d in week if d is not None}
    assert days[D(2020, 5, 13)].emails == ("09:00 Overdue notice to Trust (sent)", "09:00 Reminder to 2 agencies")
    assert days[D(2020, 5, 26)].stages == ("Contributions due (by 17:00)",)
    assert (days[D(2020, 5, 25)].day_off, days[D(2020, 5, 8)].day_off) == ("Spring Bank Holiday", "May Day")
    assert not days[D(2020, 5, 14)].busy
    assert [d.emails for week in june.weeks for d in week if d and d.busy] == [("09:00 Final notice to Police",)]


def test_a_running_cycles_calendar_shows_what_went_and_what_is_to_come(manager: TestClient, session: Session) -> None:
    html = manager.get(f"/desk/{find_cycle(session).id}/plan").text
    april, may = _cells_of(html, "April 2019"), _cells_of(html, "May 2019")
    # Opened on 15 April (the test runs no dispatch, so the requests still wait in the outbox).
    assert "Monday 15 April 2019 15 Requests sent (the cycle opened) 09:00 Request to 12 agencies (waiting to go)" in (
        april
    )
    assert "Friday 19 April 2019 19 Good Friday" in april and "Monday 22 April 2019 22 Easter Monday" in april
    assert "Friday 3 May 2019 3 09:00 Reminder to 12 agencies Saturday" in may
    assert "Monday 20 May 2019 20 Contributions due (by 17:00) Tuesday" in may
