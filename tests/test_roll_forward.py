"""`cycle create --from`: next year's planned cycle from this year's, a year on, refused clearly when it cannot be."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.calendar import WorkingCalendar
from models.cycle import Cycle
from models.partnership import Agency, Contact
from models.partnership_file import parse
from models.report import CentralSection
from models.revisions import add_revision
from models.store import contribution_for, cycle_values, find_agency, find_cycle, load_partnership
from models.year_on import CycleDates, move_dates, move_years
from reportcycle.cli import app
from tasks.contributions.content import markdown_to_html
from tasks.contributions.working_copy import last_year
from tasks.years.roll_forward import RollForwardError, roll_forward
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle

AT = local("2019-09-02", "10:00")


def _count(session: Session, table: type) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(table)).one()


def test_the_new_cycle_is_the_old_one_a_year_on(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    report = roll_forward(session, partnership_slug="bscb", previous_label="2018/19", at=AT, actor="t")
    session.commit()

    new = find_cycle(session, "bscb", "2019/20")
    old = find_cycle(session, "bscb", "2018/19")
    assert (new.label, new.title, new.status) == ("2019/20", "Annual Report 2019/20", "planned")
    assert (new.period_start, new.period_end) == (dt.date(2019, 4, 1), dt.date(2020, 3, 31))
    assert new.requests_on == dt.date(2020, 4, 15)  # a Wednesday
    assert new.contributions_due == dt.date(2020, 5, 20)  # a Wednesday
    assert new.review_due == dt.date(2020, 6, 22)  # 21 June 2020 is a Sunday: the Monday after
    assert new.publish_by == dt.date(2020, 7, 31)  # a Friday
    assert new.cut_off == dt.time(17, 0)
    assert [(m.field, m.to) for m in report.moved] == [("review_due", dt.date(2020, 6, 22))]

    brief, priorities, policy, recipients, chair = cycle_values(new)
    assert [s.key for s in brief.sections] == ["statutory-role", "priority-activity", "performance", "looking-ahead"]
    assert [p.key for p in priorities] == ["leadership", "child-protection", "early-help"]
    assert policy.before_days == (14, 7, 2)
    assert len(recipients) == 7 and recipients[0].role == "Chief Executive of Birmingham City Council"
    assert str(chair.email) == "independent.chair@bscb.example.org"
    assert new.report["contributions_after"] == "governance"
    assert (new.brief, new.priorities, new.recipients) == (old.brief, old.priorities, old.recipients)

    sections = session.exec(
        select(CentralSection).where(CentralSection.cycle_id == new.id).order_by(col(CentralSection.position))
    ).all()
    assert [s.key for s in sections] == [
        "foreword",
        "introduction",
        "context",
        "effectiveness",
        "governance",
        "conclusion",
        "glossary",
    ]
    assert {(s.status, s.body_md) for s in sections} == {("draft", "")}

    # agencies and contacts are the partnership's: nothing is duplicated
    assert (_count(session, Agency), _count(session, Contact)) == (12, 35)
    assert report.agencies == 12
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "cycle.create")).one()
    assert (event.cycle_id, event.actor, event.detail["previous"], event.detail["label"]) == (
        new.id,
        "t",
        "2018/19",
        "2019/20",
    )
    assert report.warnings == [
        "2018/19 is still planned: commands that act on one cycle now need --cycle '2018/19' or --cycle '2019/20'"
    ]


def test_each_agency_is_offered_last_years_text_in_the_new_cycle(session: Session) -> None:
    open_example_cycle(session)
    old = find_cycle(session, "bscb", "2018/19")
    brief = cycle_values(old)[0]
    wmp = find_agency(session, old, "wmp")
    add_revision(
        session,
        contribution_for(session, old, wmp),
        {
            "statutory-role": markdown_to_html("We police the **whole** region."),
            "priority-activity": markdown_to_html("- Operation One\n- Operation Two"),
            "looking-ahead": markdown_to_html("More of the same."),
        },
        brief=brief,
        source="portal",
        at=local("2019-05-01"),
        actor="t",
    )
    session.commit()
    roll_forward(session, partnership_slug="bscb", previous_label="2018/19", at=AT, actor="t")
    session.commit()

    new = find_cycle(session, "bscb", "2019/20")
    assert last_year(session, new, wmp) == {
        "statutory-role": "We police the **whole** region.",
        "priority-activity": "- Operation One\n- Operation Two",
        "looking-ahead": "More of the same.",
    }
    assert last_year(session, new, find_agency(session, new, "bcc")) == {}  # bcc wrote nothing in 2018/19
    assert last_year(session, old, wmp) == {}  # and nothing comes before 2018/19


def test_dates_on_a_leap_day_a_weekend_or_a_bank_holiday() -> None:
    dates = CycleDates(
        period_start=dt.date(2019, 3, 1),
        period_end=dt.date(2020, 2, 29),
        requests_on=dt.date(2020, 2, 29),
        contributions_due=dt.date(2020, 5, 26),
        review_due=dt.date(2020, 12, 25),
        publish_by=dt.date(2021, 2, 27),
    )
    moved, notes = move_dates(dates, 1, WorkingCalendar())
    assert moved == CycleDates(
        period_start=dt.date(2020, 3, 1),
        period_end=dt.date(2021, 2, 28),  # the last day of February stays the last day of February
        requests_on=dt.date(2021, 3, 1),  # no 29 February in 2021: the day after, a Monday
        contributions_due=dt.date(2021, 5, 26),  # a Wednesday: unchanged
        review_due=dt.date(2021, 12, 29),  # Sat 25 Dec; Mon 27 and Tue 28 are the Christmas bank holidays
        publish_by=dt.date(2022, 2, 25),  # Sun 27 Feb: the statutory limit moves back, to the Friday
    )
    assert [n.why for n in notes] == [
        "2021 has no 29 February: Monday 1 March 2021 instead",
        "Saturday 25 December 2021 is a bank holiday (Christmas Day): Wednesday 29 December 2021 instead",
        "Sunday 27 February 2022 falls at a weekend: Friday 25 February 2022 instead",
    ]
    back, _ = move_dates(moved, -1, WorkingCalendar())
    assert (back.period_start, back.period_end) == (dt.date(2019, 3, 1), dt.date(2020, 2, 29))


@pytest.mark.parametrize(
    ("text", "on", "back"),
    [
        ("2018/19", "2019/20", "2017/18"),
        ("2018-19", "2019-20", "2017-18"),
        ("2018/2019", "2019/2020", "2017/2018"),
        ("1999/00", "2000/01", "1998/99"),
        ("Annual Report 2018/19", "Annual Report 2019/20", "Annual Report 2017/18"),
        ("Annual Report 2019 (founded 1998)", "Annual Report 2020 (founded 1998)", "Annual Report 2018 (founded 1998)"),
        ("Report for 2018 to 2019", "Report for 2019 to 2020", "Report for 2017 to 2018"),
        ("2018/20", None, None),  # not consecutive years: not a label we can move
        ("Spring report", None, None),
    ],
)
def test_labels_and_titles_move_their_years(text: str, on: str | None, back: str | None) -> None:
    assert move_years(text, 1, {2018, 2019}) == on
    assert move_years(text, -1, {2018, 2019}) == back


def test_a_label_without_years_needs_label_and_title(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    old = find_cycle(session, "bscb", "2018/19")
    old.label, old.title = "first", "Our first report"
    session.commit()
    with pytest.raises(RollForwardError, match=r"cannot tell next year's label from 'first'.*give it with --label"):
        roll_forward(session, partnership_slug="bscb", previous_label="first", at=AT, actor="t")
    with pytest.raises(RollForwardError, match=r"cannot move the title 'Our first report'.*--title"):
        roll_forward(session, partnership_slug="bscb", previous_label="first", at=AT, actor="t", label="second")
    report = roll_forward(
        session,
        partnership_slug="bscb",
        previous_label="first",
        at=AT,
        actor="t",
        label="second",
        title="Our second report",
    )
    assert (report.label, report.title, report.dates.period_end) == (
        "second",
        "Our second report",
        dt.date(2020, 3, 31),
    )


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps a table's cells to the terminal's width; wide enough, each note stays on one line."""
    from rich.console import Console

    from reportcycle.cli import common as cli

    monkeypatch.setattr(cli, "console", Console(width=200))


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--at", "2019-09-02T10:00+01:00", "--partnership", "bscb", *args])
    assert "Traceback" not in result.output
    return result.exit_code, " ".join(result.output.split())


def test_cli_creates_the_cycle_then_refuses_to_create_it_again(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()

    code, out = _cli("cycle", "create", "--from", "2018/19")
    assert code == 0, out
    assert "bscb 2019/20: Annual Report 2019/20 (planned, from 2018/19)" in out
    assert "Mon 22 Jun 2020" in out and "Sunday 21 June 2020 falls at a weekend" in out
    assert _count(session, Cycle) == 2
    events = _count(session, AuditEvent)

    code, out = _cli("cycle", "create", "--from", "2018/19")
    assert code == 1
    assert "error: bscb already has a cycle '2019/20' (planned); nothing was created" in out
    assert "--label" in out
    assert (_count(session, Cycle), _count(session, AuditEvent)) == (2, events)


def test_cli_refuses_an_unknown_previous_cycle_naming_those_there_are(session: Session) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    code, out = _cli("cycle", "create", "--from", "2017/18")
    assert code == 1
    assert "error: no cycle '2017/18' in bscb; the cycles are: 2018/19 (planned)" in out
    assert _count(session, Cycle) == 1

    code, out = _cli("cycle", "create", "--from", "2018/19", "--label", "2018/19")
    assert code == 1
    assert "bscb already has a cycle '2018/19' (planned)" in out
    assert _count(session, Cycle) == 1
