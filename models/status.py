"""The cycle at a glance: one row per agency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import Contribution, Cycle
from models.lifecycle import AWAITING, ContributionState
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency
from models.store import calendar_of, contributions, partnership_of

# States in which the agency still owes its contribution (and so has days left, or is late).
OWING = frozenset({*AWAITING, ContributionState.pending})
# The agency's own chasers; an escalation goes to its chief officer and is counted apart.
CHASERS = ("reminder", "overdue", "final_notice")


@dataclass(frozen=True)
class AgencyStatus:
    agency: str
    name: str
    state: str  # the stored state, or "overdue" when awaiting past the deadline
    deadline: dt.datetime  # aware, local time
    days_left: int | None  # negative when past the deadline; None when the agency owes nothing now
    chasers_sent: int
    failed_emails: int
    last_activity: dt.datetime | None

    @property
    def days_text(self) -> str:
        """ "3 days left", "due today", "6 days late", or nothing for an agency that has sent its contribution."""
        n = self.days_left
        if n is None:
            return ""
        if n == 0:
            return "due today"
        unit = "day" if abs(n) == 1 else "days"
        return f"{n} {unit} left" if n > 0 else f"{-n} {unit} late"


def cycle_status(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    read: list[tuple[Contribution, Agency]] | None = None,
    with_activity: bool = True,
) -> list[AgencyStatus]:
    """One row per agency; `read`: the cycle's contributions and agencies (`store.contributions`), when the caller
    has them already (the chase's digest), so they are not read again; `with_activity=False`: no last activity (the
    digest does not show it), and the audit log is not read for it."""
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    chasers: dict[int, int] = {}
    failed: dict[int, int] = {}
    for contribution_id, kind, status, n in session.exec(
        select(OutboundEmail.contribution_id, OutboundEmail.kind, OutboundEmail.status, func.count())
        .where(
            OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.status).in_([OutboxStatus.sent, OutboxStatus.failed])
        )
        .group_by(col(OutboundEmail.contribution_id), col(OutboundEmail.kind), col(OutboundEmail.status))
    ):
        key = contribution_id or 0
        if status == OutboxStatus.failed:  # any email about the contribution a person must look at
            failed[key] = failed.get(key, 0) + n
        elif kind in CHASERS:  # delivered chasers only: one queued this minute has not reached anyone yet
            chasers[key] = chasers.get(key, 0) + n
    last: dict[str, dt.datetime] = {}
    if with_activity:
        last = dict(
            session.exec(
                select(AuditEvent.subject, func.max(AuditEvent.at))
                .where(AuditEvent.cycle_id == cycle.id)
                .group_by(col(AuditEvent.subject))
            ).all()
        )
    rows = []
    for c, agency in contributions(session, cycle) if read is None else read:
        deadline = calendar.local(calendar.at_local(c.due_date, c.cut_off))
        overdue = c.status in AWAITING and at > deadline
        activity = last.get(f"contribution:{c.id}")
        rows.append(
            AgencyStatus(
                agency=agency.slug,
                name=agency.name,
                state="overdue" if overdue else c.status,
                deadline=deadline,
                days_left=(c.due_date - today).days if c.status in OWING else None,
                chasers_sent=chasers.get(c.id or 0, 0),
                failed_emails=failed.get(c.id or 0, 0),
                last_activity=activity.replace(tzinfo=dt.UTC) if activity and activity.tzinfo is None else activity,
            )
        )
    return rows
