"""The business manager's weekly summary: where the cycle stands, once a week, whatever the chase did.

The digest follows a chase run that did something; a quiet week sends no digest,
so this summary is what says "nothing moved". Keyed by the ISO week, it goes on
the first working day of the week the flow runs on (a bank-holiday Monday moves it
to Tuesday) and never twice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.ladder import Kind
from models.outbox import OutboundEmail, OutboxStatus
from models.status import cycle_status
from models.store import calendar_of, partnership_of
from tasks.mail.context import day_text, short_day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


@dataclass(frozen=True)
class SummaryResult:
    cycle: str
    week: str  # ISO week, e.g. 2019-W20
    queued: bool
    skipped_because: str | None = None


def week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def enqueue_weekly_summary(session: Session, cycle: Cycle, *, at: dt.datetime, templates_dir: Path) -> SummaryResult:
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    today = calendar.local(at).date()
    name, week = f"{partnership.slug} {cycle.label}", week_key(today)
    if not calendar.is_working_day(today):
        return SummaryResult(name, week, False, f"{day_text(today)} is not a working day")
    rows = cycle_status(session, cycle, at=at)
    states = Counter(r.state for r in rows)
    week_ago = at - dt.timedelta(days=7)
    sent_this_week = session.exec(
        select(func.count()).where(
            OutboundEmail.cycle_id == cycle.id,
            OutboundEmail.status == OutboxStatus.sent,
            col(OutboundEmail.sent_at) >= week_ago,
        )
    ).one()
    failed = session.exec(
        select(func.count()).where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.status == OutboxStatus.failed)
    ).one()
    held = session.exec(
        select(func.count()).where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.status == OutboxStatus.held)
    ).one()
    dates = [
        ("Contributions due", cycle.contributions_due),
        ("Chair's review due", cycle.review_due),
        ("Publish by", cycle.publish_by),
    ]
    context = {
        "partnership": {"name": partnership.name},
        "business_manager": {"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        "cycle": {"title": cycle.title, "label": cycle.label, "status": cycle.status},
        "week": week,
        "today": day_text(today),
        "today_short": short_day_text(today),
        "states": sorted(states.items()),
        "agencies": len(rows),
        "overdue": [r.name for r in rows if r.state == "overdue"],
        "active": [r.name for r in rows if r.last_activity is not None and r.last_activity >= week_ago],
        "sent_this_week": sent_this_week,
        "failed": failed,
        "held": held,
        "dates": [{"what": what, "day": day_text(day), "days": (day - today).days} for what, day in dates],
        "rows": [
            {"name": r.name, "state": r.state, "deadline": f"{r.deadline:%a %-d %b %H:%M}", "days": r.days_text}
            for r in rows
        ],
    }
    row = enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"cycle:{cycle.id}:weekly-summary:{week}",
            kind=Kind.weekly_summary,
            to=[partnership.business_manager_email],
            cycle_id=cycle.id,
        ),
        render_email(templates_dir, Kind.weekly_summary, context),
        at=at,
    )
    return SummaryResult(name, week, row is not None, None if row is not None else f"already queued for {week}")
