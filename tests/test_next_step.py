"""Each contribution keeps the day of its next ladder step, so the daily chase reads only what is due (issue 19).

The example's deadline is Monday 20 May 2019 (England): its reminders fall on Friday 3 May (14 days before is the
Early May bank holiday), Monday 13 May and Friday 17 May (2 days before is a Saturday); the first overdue notice
on Tuesday 21 May.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from models.cycle import Contribution
from models.store import contribution_for, find_agency
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle, due_cycle_ids
from tasks.desk.desk import extend
from tests.helpers import local
from tests.test_chase_mail import _open


def _chase(session: Session, cycle, day: str) -> None:  # type: ignore[no-untyped-def]
    s = get_settings()
    chase_cycle(
        session, cycle, at=local(day, "09:30"), actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir
    )
    session.commit()


def _next_steps(session: Session) -> set[dt.date | None]:
    return {c.next_step_on for c in session.exec(select(Contribution)).all()}


def test_the_chase_stores_each_contributions_next_step_and_the_sweep_finds_only_due_cycles(session: Session) -> None:
    cycle = _open(session)
    assert _next_steps(session) == {None}  # just asked: worked out by the first chase
    assert due_cycle_ids(session, local("2019-04-16", "09:30")) == {cycle.id}

    _chase(session, cycle, "2019-04-16")  # nothing due yet: each contribution's first reminder is 3 May
    assert _next_steps(session) == {dt.date(2019, 5, 3)}
    assert due_cycle_ids(session, local("2019-04-17", "09:30")) == set()
    assert due_cycle_ids(session, local("2019-05-02", "09:30")) == set()
    assert due_cycle_ids(session, local("2019-05-03", "09:30")) == {cycle.id}

    _chase(session, cycle, "2019-05-13")  # the 7-day reminder goes, the missed 3 May one is superseded
    assert _next_steps(session) == {dt.date(2019, 5, 17)}
    assert due_cycle_ids(session, local("2019-05-16", "09:30")) == set()


def test_a_moved_deadline_or_a_new_state_makes_the_next_step_unknown_until_the_next_chase(session: Session) -> None:
    s = get_settings()
    cycle = _open(session)
    _chase(session, cycle, "2019-05-13")
    nps = contribution_for(session, cycle, find_agency(session, cycle, "nps"))
    at = local("2019-05-14", "10:00")
    extend(
        session,
        cycle,
        nps,
        dt.date(2019, 6, 3),
        at=at,
        actor="t",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    assert nps.next_step_on is None
    assert due_cycle_ids(session, local("2019-05-14", "11:00")) == {cycle.id}  # looked at again at once

    _chase(session, cycle, "2019-05-15")
    session.refresh(nps)
    # its new ladder, from a deadline of Monday 3 June set on 14 May: 14 days before is Monday 20 May
    assert nps.next_step_on == dt.date(2019, 5, 20)
    others = {c.next_step_on for c in session.exec(select(Contribution).where(Contribution.id != nps.id)).all()}
    assert others == {dt.date(2019, 5, 17)}

    nps.status = "submitted"  # whatever moved it: no longer awaiting, and no longer counted as due
    session.commit()
    assert nps.next_step_on is None
    assert due_cycle_ids(session, local("2019-05-20", "09:30")) == {cycle.id}  # the others' 17 May step is past


def test_editing_a_running_cycles_reminders_makes_every_next_step_unknown(session: Session) -> None:
    cycle = _open(session)
    _chase(session, cycle, "2019-05-13")
    assert _next_steps(session) == {dt.date(2019, 5, 17)}
    cycle.reminder_policy = {**cycle.reminder_policy, "before_days": [14, 7, 3]}
    session.commit()
    assert _next_steps(session) == {None}
    _chase(session, cycle, "2019-05-14")
    assert _next_steps(session) == {dt.date(2019, 5, 17)}  # 3 days before 20 May is Friday 17 May too
