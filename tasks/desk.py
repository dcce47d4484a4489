"""The business manager's actions on a contribution: extend its deadline, excuse the agency."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.store import calendar_of, partnership_of, transition
from tasks.context import day_text


def extend(
    session: Session, cycle: Cycle, contribution: Contribution, new_date: dt.date, *, at: dt.datetime, actor: str
) -> list[str]:
    """Move the agency's deadline; its reminders are derived from it, so they move too."""
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    if new_date <= today:
        raise ValueError(f"the new deadline {new_date} is not after today ({today}); give a later date")
    if new_date == contribution.due_date:
        raise ValueError(f"the deadline is already {day_text(new_date)}")
    warnings = []
    if not calendar.is_working_day(new_date):
        warnings.append(f"{day_text(new_date)} is not a working day")
    old = contribution.due_date
    transition(session, contribution, "extend", at=at, actor=actor, old_due=str(old), new_due=str(new_date))
    contribution.due_date = new_date
    contribution.deadline_set_on = today
    session.add(contribution)
    return warnings


def excuse(session: Session, contribution: Contribution, *, at: dt.datetime, actor: str, reason: str) -> None:
    transition(session, contribution, "excuse", at=at, actor=actor, reason=reason)
