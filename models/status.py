"""The cycle at a glance: one row per agency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import Cycle
from models.lifecycle import AWAITING
from models.outbox import OutboundEmail, OutboxStatus
from models.store import calendar_of, contributions, partnership_of

CHASERS = ("reminder", "overdue", "final_notice", "escalation")


@dataclass(frozen=True)
class AgencyStatus:
    agency: str
    name: str
    state: str  # the stored state, or "overdue" when awaiting past the deadline
    deadline: dt.datetime  # aware, local time
    days_left: int  # negative when past the deadline
    chasers_sent: int
    failed_emails: int
    last_activity: dt.datetime | None


def cycle_status(session: Session, cycle: Cycle, *, at: dt.datetime) -> list[AgencyStatus]:
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    counts: dict[tuple[int, str], int] = {}
    for contribution_id, status, n in session.exec(
        select(OutboundEmail.contribution_id, OutboundEmail.status, func.count())
        .where(OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.kind).in_(CHASERS))
        .group_by(col(OutboundEmail.contribution_id), col(OutboundEmail.status))
    ):
        counts[(contribution_id or 0, status)] = n
    last = dict(
        session.exec(
            select(AuditEvent.subject, func.max(AuditEvent.at))
            .where(AuditEvent.cycle_id == cycle.id)
            .group_by(col(AuditEvent.subject))
        ).all()
    )
    rows = []
    for c, agency in contributions(session, cycle):
        deadline = calendar.local(calendar.at_local(c.due_date, c.cut_off))
        overdue = c.status in AWAITING and at > deadline
        activity = last.get(f"contribution:{c.id}")
        rows.append(
            AgencyStatus(
                agency=agency.slug,
                name=agency.name,
                state="overdue" if overdue else c.status,
                deadline=deadline,
                days_left=(c.due_date - today).days,
                chasers_sent=counts.get((c.id or 0, OutboxStatus.sent), 0),
                failed_emails=counts.get((c.id or 0, OutboxStatus.failed), 0),
                last_activity=activity.replace(tzinfo=dt.UTC) if activity and activity.tzinfo is None else activity,
            )
        )
    return rows
