"""Enqueue and dispatch: every email is a row first, sent at most once.

A row is claimed with a conditional UPDATE (status queued -> sending) and the
claim is committed before any SMTP traffic, so two dispatchers never send
the same row. Retries live on the row, against the clock; a send is never
retried blindly once the server may have accepted it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.audit import record
from models.db import session_scope
from models.outbox import OutboundEmail, OutboxStatus
from tasks.messages import build_message, message_id_for
from tasks.render import RenderedEmail
from tasks.smtp import send


@dataclass
class Envelope:
    """Who a message goes to and what it is, before it becomes a row."""

    key: str
    kind: str
    from_addr: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    cycle_id: int | None = None
    contribution_id: int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


def already_queued(session: Session, key: str) -> bool:
    return session.exec(select(OutboundEmail.id).where(OutboundEmail.idempotency_key == key)).first() is not None


def enqueue(
    session: Session,
    envelope: Envelope,
    rendered: RenderedEmail,
    *,
    at: dt.datetime,
    send_after: dt.datetime | None = None,
    status: OutboxStatus = OutboxStatus.queued,
) -> OutboundEmail | None:
    """Add the row unless its key is already there; return it, or None when it was."""
    if already_queued(session, envelope.key):
        return None
    row = OutboundEmail(
        idempotency_key=envelope.key,
        message_id=message_id_for(envelope.key, envelope.from_addr),
        kind=envelope.kind,
        cycle_id=envelope.cycle_id,
        contribution_id=envelope.contribution_id,
        from_addr=envelope.from_addr,
        to_addrs=envelope.to,
        cc_addrs=envelope.cc,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        attachments=envelope.attachments,
        status=status,
        created_at=at,
        next_attempt_at=send_after or at,
    )
    session.add(row)
    session.flush()
    return row


def backoff(attempts: int, rng: random.Random) -> dt.timedelta:
    """Exponential from one minute, capped at an hour, with full jitter on the top half."""
    base = min(60 * 2 ** (attempts - 1), 3600)
    return dt.timedelta(seconds=base / 2 + rng.uniform(0, base / 2))


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def claim(session: Session, row_id: int, *, at: dt.datetime, worker: str) -> bool:
    result = session.execute(
        update(OutboundEmail)
        .where(col(OutboundEmail.id) == row_id, col(OutboundEmail.status) == OutboxStatus.queued)
        .values(status=OutboxStatus.sending, claimed_at=at, claimed_by=worker, attempts=OutboundEmail.attempts + 1)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def dispatch_due(
    database_url: str,
    *,
    at: dt.datetime,
    worker: str,
    smtp_host: str,
    smtp_port: int,
    smtp_timeout: float,
    max_attempts: int,
    limit: int = 500,
    rng: random.Random | None = None,
) -> DispatchReport:
    rng = rng or random.Random()
    report = DispatchReport()
    with session_scope(database_url) as session:
        due = session.exec(
            select(OutboundEmail.id)
            .where(OutboundEmail.status == OutboxStatus.queued, col(OutboundEmail.next_attempt_at) <= at)
            .order_by(col(OutboundEmail.next_attempt_at), col(OutboundEmail.id))
            .limit(limit)
        ).all()
    for row_id in due:
        assert row_id is not None
        with session_scope(database_url) as session:
            if not claim(session, row_id, at=at, worker=worker):
                continue  # another dispatcher took it
        with session_scope(database_url) as session:
            row = session.get(OutboundEmail, row_id)
            assert row is not None
            message = build_message(row)
        result = send(message, host=smtp_host, port=smtp_port, timeout=smtp_timeout)
        with session_scope(database_url) as session:
            row = session.get(OutboundEmail, row_id)
            assert row is not None
            row.smtp_reply = result.reply
            if result.ok:
                row.status, row.sent_at, row.last_error = OutboxStatus.sent, at, None
                report.sent += 1
            elif result.permanent or row.attempts >= max_attempts:
                row.status, row.last_error = OutboxStatus.failed, result.reply
                report.failed += 1
                report.errors.append(f"{row.kind} to {', '.join(row.to_addrs)}: {result.reply}")
            else:
                row.status, row.last_error = OutboxStatus.queued, result.reply
                row.next_attempt_at = at + backoff(row.attempts, rng)
                report.retrying += 1
            session.add(row)
            record(
                session,
                at=at,
                actor=worker,
                action=f"email.{row.status}",
                subject=f"email:{row.id}",
                cycle_id=row.cycle_id,
                kind=row.kind,
                to=row.to_addrs,
                reply=result.reply,
                attempt=row.attempts,
            )
    return report
