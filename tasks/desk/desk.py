"""The business manager's actions on a contribution: extend its deadline, excuse the agency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, col, select

from models.audit import AuditEvent, record
from models.cycle import Contribution, Cycle
from models.ladder import Kind
from models.outbox import OutboxStatus
from models.partnership import Agency
from models.portal import ExtensionRequest
from models.store import calendar_of, partnership_of, transition
from tasks.asking.deadline_notice import notify_new_deadline
from tasks.asking.digest import held_escalations
from tasks.mail.context import day_text


def deadline_warnings(
    session: Session, cycle: Cycle, contribution: Contribution, new_date: dt.date, *, at: dt.datetime
) -> list[str]:
    """What the business manager should know before moving a deadline to `new_date` (allowed, but unusual):
    not a working day, earlier than the deadline the agency has, after the report must be published.
    A date that cannot be a deadline at all (today or before, or the same one) raises ValueError."""
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    if new_date <= today:
        raise ValueError(f"the new deadline {new_date} is not after today ({today}); give a later date")
    if new_date == contribution.due_date:
        raise ValueError(f"the deadline is already {day_text(new_date)}")
    warnings = []
    if not calendar.is_working_day(new_date):
        warnings.append(f"{day_text(new_date)} is not a working day")
    if new_date < contribution.due_date:
        warnings.append(f"{day_text(new_date)} is earlier than the current deadline, {day_text(contribution.due_date)}")
    if new_date > cycle.publish_by:
        warnings.append(f"{day_text(new_date)} is after the report must be published, {day_text(cycle.publish_by)}")
    return warnings


def extend(
    session: Session,
    cycle: Cycle,
    contribution: Contribution,
    new_date: dt.date,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> list[str]:
    """Move the agency's deadline and tell it (with an updated calendar entry); its reminders follow."""
    warnings = deadline_warnings(session, cycle, contribution, new_date, at=at)
    today = calendar_of(partnership_of(session, cycle)).local(at).date()
    old = contribution.due_date
    transition(session, contribution, "extend", at=at, actor=actor, old_due=str(old), new_due=str(new_date))
    contribution.due_date = new_date
    contribution.deadline_set_on = today
    session.add(contribution)
    for pending in session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.contribution_id == contribution.id, ExtensionRequest.status == "pending"
        )
    ):
        pending.status, pending.decided_by, pending.decided_at = "granted", actor, at
        session.add(pending)
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    notify_new_deadline(
        session,
        cycle,
        agency,
        contribution,
        kind=Kind.extension,
        key=f"contribution:{contribution.id}:extension:{new_date.isoformat()}",
        at=at,
        base_url=base_url,
        templates_dir=templates_dir,
        old_deadline_text=day_text(old),
    )
    return warnings


def excuse(session: Session, contribution: Contribution, *, at: dt.datetime, actor: str, reason: str) -> None:
    transition(session, contribution, "excuse", at=at, actor=actor, reason=reason)


def unexcuse(session: Session, contribution: Contribution, *, at: dt.datetime, actor: str, reason: str = "") -> str:
    """Undo an excusal: the contribution goes back to the state it was excused from, and the chase picks up its
    ladder where it stands (steps that fell due meanwhile: the latest is sent, the others superseded)."""
    excusal = session.exec(
        select(AuditEvent)
        .where(AuditEvent.subject == f"contribution:{contribution.id}", AuditEvent.action == "contribution.excuse")
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    ).first()
    before = str(excusal.detail.get("before", "")) if excusal else ""
    if contribution.status != "excused" or before not in ("pending", "requested", "returned"):
        raise ValueError(f"the agency is not excused (it is {contribution.status}); there is nothing to undo")
    transition(session, contribution, f"unexcuse_to_{before}", at=at, actor=actor, reason=reason)
    return before


def confirm_escalation(
    session: Session, cycle: Cycle, contribution: Contribution, *, at: dt.datetime, actor: str
) -> int:
    """Release the escalations held for the business manager's confirmation; they go in the send window."""
    calendar = calendar_of(partnership_of(session, cycle))
    rows = held_escalations(session, contribution.id or 0)
    if not rows:
        raise ValueError("there is no escalation waiting for confirmation for this agency")
    for row in rows:
        row.status = OutboxStatus.queued
        row.next_attempt_at = calendar.next_send_time(at)
        session.add(row)
        record(
            session,
            at=at,
            actor=actor,
            action="escalation.confirm",
            subject=f"email:{row.id}",
            cycle_id=cycle.id,
            to=row.to_addrs,
        )
    return len(rows)
