"""The business manager's digest: after a chase run that did something, the cycle at a glance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.ladder import Kind
from models.outbox import OutboundEmail, OutboxStatus
from models.status import cycle_status
from models.store import calendar_of, partnership_of
from tasks.mail.context import day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


def enqueue_digest(
    session: Session,
    cycle: Cycle,
    *,
    did: list[str],
    at: dt.datetime,
    templates_dir: Path,
) -> bool:
    """One digest per chase run (keyed by its instant); `did` says what the run did, a line each."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    rows = cycle_status(session, cycle, at=at)
    failed = session.exec(
        select(OutboundEmail).where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.status == OutboxStatus.failed)
    ).all()
    held = session.exec(
        select(OutboundEmail).where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.status == OutboxStatus.held)
    ).all()
    today = calendar.local(at).date()
    overdue = sum(r.state == "overdue" for r in rows)
    context = {
        "partnership": {"name": partnership.name},
        "business_manager": {"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        "cycle": {"title": cycle.title, "label": cycle.label},
        "today": day_text(today),
        "did": did,
        "overdue": overdue,
        "rows": [
            {
                "name": r.name,
                "state": r.state,
                "deadline": f"{r.deadline:%a %-d %b %H:%M}",
                "days": r.days_left,
                "chasers": r.chasers_sent,
                "failed": r.failed_emails,
            }
            for r in rows
        ],
        "failed": [{"kind": f.kind, "to": ", ".join(f.to_addrs), "error": f.last_error or ""} for f in failed],
        "held": [{"to": ", ".join(h.to_addrs), "subject": h.subject} for h in held],
    }
    row = enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"cycle:{cycle.id}:digest:{at.isoformat()}",
            kind=Kind.digest,
            to=[partnership.business_manager_email],
            cycle_id=cycle.id,
        ),
        render_email(templates_dir, Kind.digest, context),
        at=at,
    )
    return row is not None


def held_escalations(session: Session, contribution_id: int) -> list[OutboundEmail]:
    return list(
        session.exec(
            select(OutboundEmail).where(
                OutboundEmail.contribution_id == contribution_id,
                OutboundEmail.status == OutboxStatus.held,
                col(OutboundEmail.kind) == Kind.escalation,
            )
        )
    )
