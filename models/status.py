"""The cycle at a glance: one row per agency, and the cycle a command means.

Read with SQLAlchemy Core over the few columns it needs, not the ORM: `reportcycle status` then answers
without importing the ORM, SQLModel or a single table class, about half of its time before (issue 15).
`db` is a Connection or a Session; a Session writes what it holds before each query, as its own would.
`tests/test_status_light.py` checks these columns against the tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Date, String, Time, column, func, select, table

from models.calendar import WorkingCalendar, working_calendar
from models.errors import NotFound
from models.lifecycle import AWAITING, ContributionState, CycleState, OutboxStatus
from models.types import UTCDateTime

# States in which the agency still owes its contribution (and so has days left, or is late).
OWING = frozenset({*AWAITING, ContributionState.pending})
# The agency's own chasers; an escalation goes to its chief officer and is counted apart.
CHASERS = ("reminder", "overdue", "final_notice")

partnership_t = table(
    "partnership",
    column("id"),
    column("slug", String),
    column("timezone", String),
    column("holidays", String),
    column("send_window_start", String),
    column("send_window_end", String),
)
cycle_t = table(
    "cycle", column("id"), column("partnership_id"), column("label", String), column("title", String), column("status")
)
agency_t = table("agency", column("id"), column("slug", String), column("name", String))
contribution_t = table(
    "contribution",
    column("id"),
    column("cycle_id"),
    column("agency_id"),
    column("status", String),
    column("due_date", Date),
    column("cut_off", Time),
)
outbound_email_t = table(
    "outbound_email",
    column("cycle_id"),
    column("contribution_id"),
    column("kind", String),
    column("status", String),
    column("first_attempt_at", UTCDateTime),
    column("next_attempt_at", UTCDateTime),
    column("last_error", String),
)
audit_event_t = table("audit_event", column("cycle_id"), column("subject", String), column("at", UTCDateTime))
LIGHT_TABLES = (partnership_t, cycle_t, agency_t, contribution_t, outbound_email_t, audit_event_t)


class CycleKeys(Protocol):
    """A cycle row or table object: what the status needs of it."""

    @property
    def id(self) -> int | None: ...

    @property
    def partnership_id(self) -> int: ...


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


def find_cycle_row(db: Any, partnership_slug: str | None = None, label: str | None = None) -> Any:
    """The cycle asked for (a row: id, partnership_id, label, title, status), or the only one still running when
    none is named; NotFound, saying which cycles there are, otherwise."""
    query = select(*cycle_t.c, partnership_t.c.slug).join(partnership_t, cycle_t.c.partnership_id == partnership_t.c.id)
    if partnership_slug:
        query = query.where(partnership_t.c.slug == partnership_slug)
    query = query.where(cycle_t.c.label == label) if label else query.where(cycle_t.c.status != CycleState.closed)
    rows = db.execute(query.order_by(cycle_t.c.id)).all()
    what = " ".join(x for x in (partnership_slug, label) if x) or "running"
    if not rows:
        raise NotFound(f"no {what} cycle found; {_cycles_there_are(db)}")
    if len(rows) > 1:
        names = ", ".join(f"{r.slug} {r.label}" for r in rows)
        raise NotFound(f"more than one cycle matches ({names}); name one with --partnership and --cycle")
    return rows[0]


def _cycles_there_are(db: Any) -> str:
    """What exists, so a mistyped name is fixed from the message alone."""
    rows = db.execute(
        select(partnership_t.c.slug, cycle_t.c.label, cycle_t.c.status)
        .join(partnership_t, cycle_t.c.partnership_id == partnership_t.c.id)
        .order_by(cycle_t.c.id)
    ).all()
    if not rows:
        return "load a partnership file first (reportcycle partnership load FILE)"
    names = ", ".join(f"{r.slug} {r.label} ({r.status})" for r in rows)
    return f"the cycles are: {names}; name one with --partnership and --cycle"


def calendar_for(db: Any, partnership_id: int) -> WorkingCalendar:
    row = db.execute(select(partnership_t).where(partnership_t.c.id == partnership_id)).one()
    return working_calendar(row)


def running_calendars(db: Any) -> list[WorkingCalendar]:
    """The calendar of each cycle with contributions in play (open or in review), oldest first."""
    rows = db.execute(
        select(partnership_t)
        .join(cycle_t, cycle_t.c.partnership_id == partnership_t.c.id)
        .where(cycle_t.c.status.in_([CycleState.open, CycleState.in_review]))
        .order_by(cycle_t.c.id)
    ).all()
    return [working_calendar(row) for row in rows]


def cycle_status(db: Any, cycle: CycleKeys, *, at: dt.datetime, with_activity: bool = True) -> list[AgencyStatus]:
    """One row per agency; `with_activity=False`: no last activity (the chase's digest does not show it), and the
    audit log is not read for it."""
    calendar = calendar_for(db, cycle.partnership_id)
    today = calendar.local(at).date()
    chasers: dict[int, int] = {}
    failed: dict[int, int] = {}
    mail = outbound_email_t.c
    for contribution_id, kind, status, n in db.execute(
        select(mail.contribution_id, mail.kind, mail.status, func.count())
        .where(mail.cycle_id == cycle.id, mail.status.in_([OutboxStatus.sent, OutboxStatus.failed]))
        .group_by(mail.contribution_id, mail.kind, mail.status)
    ):
        key = contribution_id or 0
        if status == OutboxStatus.failed:  # any email about the contribution a person must look at
            failed[key] = failed.get(key, 0) + n
        elif kind in CHASERS:  # delivered chasers only: one queued this minute has not reached anyone yet
            chasers[key] = chasers.get(key, 0) + n
    audit = audit_event_t.c
    last: dict[str, Any] = {}
    if with_activity:
        last = dict(
            db.execute(
                select(audit.subject, func.max(audit.at)).where(audit.cycle_id == cycle.id).group_by(audit.subject)
            ).all()
        )
    c, a = contribution_t.c, agency_t.c
    rows = []
    for contribution in db.execute(
        select(c.id, c.status, c.due_date, c.cut_off, a.slug, a.name)
        .join(agency_t, c.agency_id == a.id)
        .where(c.cycle_id == cycle.id)
        .order_by(a.id)
    ):
        deadline = calendar.local(calendar.at_local(contribution.due_date, contribution.cut_off))
        overdue = contribution.status in AWAITING and at > deadline
        activity = last.get(f"contribution:{contribution.id}")
        rows.append(
            AgencyStatus(
                agency=contribution.slug,
                name=contribution.name,
                state="overdue" if overdue else contribution.status,
                deadline=deadline,
                days_left=(contribution.due_date - today).days if contribution.status in OWING else None,
                chasers_sent=chasers.get(contribution.id or 0, 0),
                failed_emails=failed.get(contribution.id or 0, 0),
                last_activity=activity.replace(tzinfo=dt.UTC) if activity and activity.tzinfo is None else activity,
            )
        )
    return rows
