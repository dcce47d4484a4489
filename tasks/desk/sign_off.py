"""Publication is a deliberate act: the board signs the report off, and the business manager chooses the day.

Nothing publishes a cycle by itself when its last item is approved. The business manager records who
agreed the report and when (the desk or `reportcycle publish --signed-off-by`), and the day to publish:
today publishes at once; a later working day is left to the morning run of the annual-cycle deployment.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from models.audit import record
from models.cycle import Cycle
from models.lifecycle import CycleState
from models.report import Publication
from models.store import calendar_of, find_cycle, partnership_of
from tasks.mail.context import day_text
from tasks.report.publish import unsettled

RUNNING = (CycleState.open, CycleState.in_review)
MAX_WHO = 300


class SignOffRefused(ValueError):
    """One field of the sign-off is wrong: `field` names it (who, agreed, publish-on), the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def ready_to_publish(session: Session, cycle: Cycle) -> bool:
    """Everything approved or excused and nothing published yet: the desk then offers the sign-off."""
    if cycle.status not in RUNNING:
        return False
    published = session.exec(select(Publication.id).where(Publication.cycle_id == cycle.id)).first()
    return published is None and not unsettled(session, cycle)


def publication_due(session: Session, cycle: Cycle, *, at: dt.datetime) -> bool:
    """The sign-off is recorded and its chosen day has come (in the partnership's time zone)."""
    if cycle.board_signed_off_by is None or cycle.publish_on is None:
        return False
    return calendar_of(partnership_of(session, cycle)).local(at).date() >= cycle.publish_on


def record_sign_off(
    session: Session,
    cycle: Cycle,
    *,
    signed_off_by: str,
    signed_off_on: dt.date,
    publish_on: dt.date,
    at: dt.datetime,
    actor: str,
) -> None:
    """Record the board's sign-off and the day to publish; a second call replaces both (until it is published).

    Refused, with the field at fault, when the report is not ready, nobody is named, the agreement is dated in
    the future, or the day to publish is in the past or not a working day.
    """
    if cycle.status not in RUNNING or not ready_to_publish(session, cycle):
        if cycle.status in (CycleState.published, CycleState.closed):
            raise SignOffRefused("who", f"{cycle.title} is already published")
        problems = unsettled(session, cycle) if cycle.status in RUNNING else [f"the cycle is {cycle.status}"]
        raise SignOffRefused("who", "The report is not ready to publish: still open: " + "; ".join(problems))
    who = " ".join(signed_off_by.split())
    if not who:
        raise SignOffRefused("who", "Enter who signed the report off, like the Board at its meeting on 12 June")
    if len(who) > MAX_WHO:
        raise SignOffRefused("who", f"Who signed the report off must be {MAX_WHO} characters or fewer")
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    if signed_off_on > today:
        when = day_text(signed_off_on)
        raise SignOffRefused("agreed", f"The date the board agreed the report must be today or in the past, not {when}")
    if publish_on < today:
        raise SignOffRefused("publish-on", f"The day to publish must be today or later, not {day_text(publish_on)}")
    if not calendar.is_working_day(publish_on):
        before = calendar.on_or_before(publish_on - dt.timedelta(days=1))
        after = calendar.add_working_days(publish_on, 1)
        nearest = day_text(after) if before < today else f"{day_text(before)} or {day_text(after)}"
        name = calendar.holiday_name(publish_on)
        what = f"a bank holiday ({name})" if name else "at a weekend"
        raise SignOffRefused("publish-on", f"{day_text(publish_on)} is {what}: choose a working day, like {nearest}")
    cycle.board_signed_off_by, cycle.board_signed_off_on, cycle.publish_on = who, signed_off_on, publish_on
    session.add(cycle)
    record(
        session,
        at=at,
        actor=actor,
        action="cycle.sign_off",
        subject=f"cycle:{cycle.id}",
        cycle_id=cycle.id,
        signed_off_by=who,
        signed_off_on=signed_off_on.isoformat(),
        publish_on=publish_on.isoformat(),
    )


def sign_off_if_ready(session: Session, partnership: str, label: str, who: str, at: dt.datetime) -> bool:
    """The demo's business manager: the board agreed the report today and it is published today, if it is ready."""
    cycle = find_cycle(session, partnership, label)
    if not ready_to_publish(session, cycle):
        return False
    today = calendar_of(partnership_of(session, cycle)).local(at).date()
    manager = partnership_of(session, cycle).business_manager_email
    record_sign_off(session, cycle, signed_off_by=who, signed_off_on=today, publish_on=today, at=at, actor=manager)
    return True
