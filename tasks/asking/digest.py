"""The business manager's digest: after a chase run that did something, the cycle at a glance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.ladder import Kind
from models.outbox import OutboundEmail, OutboxStatus
from models.status import cycle_status
from models.store import calendar_of, partnership_of
from tasks.mail.context import day_text, short_day_text
from tasks.mail.outbox import outbox_values, partnership_envelope
from tasks.mail.render import render_email


@dataclass(frozen=True)
class OutboxNews:
    """What the digest says of a cycle's outbox."""

    failed: list[OutboundEmail]  # a recipient refused for good
    waiting: list[OutboundEmail]  # refused for now by the relay, and tried again
    held: list[OutboundEmail]  # escalations waiting for the business manager's confirmation
    digest_queued: bool  # this run's digest is in the outbox already (a run again at the same instant)


def outbox_news(session: Session, cycle_id: int, digest_key: str | None = None) -> OutboxNews:
    """The cycle's undelivered and held emails, and whether the digest keyed `digest_key` is queued: one query."""
    tried_and_waiting = and_(
        col(OutboundEmail.status) == OutboxStatus.queued, col(OutboundEmail.first_attempt_at).is_not(None)
    )
    rows = session.exec(
        select(OutboundEmail)
        .where(
            OutboundEmail.cycle_id == cycle_id,
            or_(
                col(OutboundEmail.status).in_([OutboxStatus.failed, OutboxStatus.held]),
                col(OutboundEmail.refused) > 0,
                tried_and_waiting,
                col(OutboundEmail.idempotency_key) == digest_key,
            ),
        )
        .order_by(col(OutboundEmail.id))
    ).all()
    failed = [r for r in rows if r.status == OutboxStatus.failed or r.refused]
    waiting = [
        r for r in rows if r not in failed and r.status == OutboxStatus.queued and r.first_attempt_at is not None
    ]
    return OutboxNews(
        failed=failed,
        waiting=waiting,
        held=[r for r in rows if r.status == OutboxStatus.held],
        digest_queued=any(r.idempotency_key == digest_key for r in rows),
    )


def undelivered(session: Session, cycle_id: int) -> tuple[list[OutboundEmail], list[OutboundEmail]]:
    """(emails with a recipient refused for good, emails the relay has refused for now and will be tried again)."""
    news = outbox_news(session, cycle_id)
    return news.failed, news.waiting


def refused_text(row: OutboundEmail) -> str:
    """Who was refused, and the relay's words; who got it is said too, so nobody is chased for it twice."""
    refused = [f"{a}: {d['reply']}" for a, d in row.deliveries.items() if d.get("state") == "failed"]
    got = [a for a, d in row.deliveries.items() if d.get("state") == "sent"]
    text = "; ".join(refused) or row.last_error or ""
    return text + (f" (delivered to {', '.join(got)})" if got else "")


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
    key = f"cycle:{cycle.id}:digest:{at.isoformat()}"
    news = outbox_news(session, cycle.id or 0, key)
    if news.digest_queued:
        return False
    rows = cycle_status(session, cycle, at=at, with_activity=False)
    failed, waiting, held = news.failed, news.waiting, news.held
    today = calendar.local(at).date()
    overdue = sum(r.state == "overdue" for r in rows)
    context = {
        "partnership": {"name": partnership.name},
        "business_manager": {"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        "cycle": {"title": cycle.title, "label": cycle.label},
        "today": day_text(today),
        "today_short": short_day_text(today),
        "did": did,
        "overdue": overdue,
        "rows": [
            {
                "name": r.name,
                "state": r.state,
                "deadline": f"{r.deadline:%a %-d %b %H:%M}",
                "days": r.days_text,
                "chasers": r.chasers_sent,
                "failed": r.failed_emails,
            }
            for r in rows
        ],
        "failed": [{"kind": f.kind, "to": ", ".join(f.to_addrs), "error": refused_text(f)} for f in failed],
        "waiting": [
            {"kind": w.kind, "to": ", ".join(w.to_addrs), "error": w.last_error or "the relay could not be reached"}
            for w in waiting
        ],
        "held": [{"to": ", ".join(h.to_addrs), "subject": h.subject} for h in held],
    }
    envelope = partnership_envelope(
        partnership, key=key, kind=Kind.digest, to=[partnership.business_manager_email], cycle_id=cycle.id
    )
    # Not `enqueue`: the query above has looked for the key already.
    session.add(OutboundEmail(**outbox_values(envelope, render_email(templates_dir, Kind.digest, context), at=at)))
    return True


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
