"""Working days, the send window and the chase ladder, on hand-written dates."""

import datetime as dt

import pytest

from models.calendar import WorkingCalendar
from models.ladder import Kind, due_now, ladder
from models.values import Calendar, ReminderPolicy

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

D = dt.date
LONDON = WorkingCalendar(Calendar())
POLICY = ReminderPolicy()  # 14, 7, 2 days before; overdue every 3 working days; escalate at 5; final at 10


def dates(deadline: dt.date) -> dict[str, dt.date]:
    return {s.name: s.due_on for s in ladder(POLICY, deadline, LONDON)}


def test_ladder_around_the_may_bank_holidays_2019() -> None:
    # Deadline Monday 20 May 2019. 6 May (early May) and 27 May (spring) are bank holidays.
    assert dates(D(2019, 5, 20)) == {
        "reminder-14d": D(2019, 5, 3),  # 6 May is a bank holiday: the Friday before
        "reminder-7d": D(2019, 5, 13),
        "reminder-2d": D(2019, 5, 17),  # Saturday 18th: the Friday before
        "overdue-1": D(2019, 5, 21),
        "overdue-2": D(2019, 5, 24),
        "escalation": D(2019, 5, 28),  # 5 working days, skipping the 27 May bank holiday
        "overdue-3": D(2019, 5, 30),
        "final": D(2019, 6, 4),
    }


def test_ladder_over_easter_2019() -> None:
    got = dates(D(2019, 4, 26))
    assert got["reminder-14d"] == D(2019, 4, 12)
    assert got["reminder-7d"] == D(2019, 4, 18)  # 19 April is Good Friday
    assert got["reminder-2d"] == D(2019, 4, 24)
    assert got["overdue-1"] == D(2019, 4, 29)
    assert got["escalation"] == D(2019, 5, 3)


def test_ladder_over_christmas_2021_with_substitute_holidays() -> None:
    # 25 and 26 Dec 2021 fall at the weekend: Mon 27 and Tue 28 are substitute bank holidays,
    # and 1 Jan 2022 (a Saturday) gives a substitute on Mon 3 Jan.
    assert not LONDON.is_working_day(D(2021, 12, 27))
    assert not LONDON.is_working_day(D(2021, 12, 28))
    assert not LONDON.is_working_day(D(2022, 1, 3))
    got = dates(D(2022, 1, 4))
    assert got["reminder-14d"] == D(2021, 12, 21)
    assert got["reminder-7d"] == D(2021, 12, 24)  # 28th, 27th, 26th, 25th are all off
    assert got["reminder-2d"] == D(2021, 12, 31)  # 2 Jan is a Sunday
    assert got["overdue-1"] == D(2022, 1, 5)


@pytest.mark.parametrize(
    ("utc", "inside"),
    [
        (dt.datetime(2019, 3, 29, 8, 30, tzinfo=dt.UTC), False),  # 08:30 GMT, before the window
        (dt.datetime(2019, 4, 1, 8, 30, tzinfo=dt.UTC), True),  # 09:30 BST after the March change
        (dt.datetime(2019, 10, 25, 15, 30, tzinfo=dt.UTC), True),  # 16:30 BST, still inside
        (dt.datetime(2019, 10, 25, 16, 30, tzinfo=dt.UTC), False),  # 17:30 BST, after the window
        (dt.datetime(2019, 10, 28, 8, 30, tzinfo=dt.UTC), False),  # 08:30 GMT after the October change
        (dt.datetime(2019, 10, 28, 9, 0, tzinfo=dt.UTC), True),  # 09:00 GMT
        (dt.datetime(2019, 4, 19, 10, 0, tzinfo=dt.UTC), False),  # Good Friday
        (dt.datetime(2019, 5, 25, 10, 0, tzinfo=dt.UTC), False),  # a Saturday
    ],
)
def test_send_window_across_clock_changes(utc: dt.datetime, inside: bool) -> None:
    assert LONDON.in_send_window(utc) is inside


def test_cut_off_instant_follows_the_clock_change() -> None:
    assert LONDON.at_local(D(2019, 3, 29), dt.time(17)) == dt.datetime(2019, 3, 29, 17, tzinfo=dt.UTC)
    assert LONDON.at_local(D(2019, 4, 1), dt.time(17)) == dt.datetime(2019, 4, 1, 16, tzinfo=dt.UTC)
    assert LONDON.at_local(D(2019, 10, 28), dt.time(17)) == dt.datetime(2019, 10, 28, 17, tzinfo=dt.UTC)


def test_next_send_time_skips_a_bank_holiday_weekend() -> None:
    friday_evening = dt.datetime(2019, 5, 3, 17, 0, tzinfo=dt.UTC)  # 18:00 BST
    assert LONDON.next_send_time(friday_evening) == dt.datetime(2019, 5, 7, 8, 0, tzinfo=dt.UTC)
    inside = dt.datetime(2019, 5, 7, 10, 0, tzinfo=dt.UTC)
    assert LONDON.next_send_time(inside) == inside


def test_after_an_outage_only_the_latest_step_is_sent() -> None:
    steps = ladder(POLICY, D(2019, 5, 20), LONDON)
    send, superseded = due_now(steps, D(2019, 5, 24), D(2019, 4, 15), {"reminder-14d"})
    assert [s.name for s in send] == ["overdue-2"]
    assert [s.name for s in superseded] == ["reminder-7d", "reminder-2d", "overdue-1"]


def test_escalation_runs_beside_the_agency_ladder() -> None:
    steps = ladder(POLICY, D(2019, 5, 20), LONDON)
    done = {"reminder-14d", "reminder-7d", "reminder-2d", "overdue-1", "overdue-2"}
    send, superseded = due_now(steps, D(2019, 5, 28), D(2019, 4, 15), done)
    assert [(s.name, s.kind) for s in send] == [("escalation", Kind.escalation)]
    assert superseded == []


def test_steps_before_the_deadline_was_set_never_apply() -> None:
    # An extension granted on 14 May to 3 June: the new ladder starts from the 14th.
    steps = ladder(POLICY, D(2019, 6, 3), LONDON)
    assert due_now(steps, D(2019, 5, 14), D(2019, 5, 14), set()) == ([], [])
    send, _ = due_now(steps, D(2019, 5, 20), D(2019, 5, 14), set())
    assert [s.name for s in send] == ["reminder-14d"]


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="before_days must be positive"):
        ReminderPolicy(before_days=(7, 0))
    with pytest.raises(ValueError, match="final_after_working_days must not come before"):
        ReminderPolicy(escalate_after_working_days=8, final_after_working_days=4)
