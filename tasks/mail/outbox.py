"""Enqueue and dispatch: every email is a row first, sent at most once.

A row is claimed with a conditional UPDATE (status queued -> sending) and the
claim is committed before any SMTP traffic, so two dispatchers never send
the same row. Retries live on the row, against the clock; a send is never
retried blindly once the server may have accepted it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.audit import record
from models.db import session_scope
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Partnership
from tasks.mail.messages import build_message, message_id_for
from tasks.mail.render import RenderedEmail
from tasks.mail.smtp import SendResult, SmtpConfig, SmtpSender


@dataclass
class Envelope:
    """Who a message goes to and what it is, before it becomes a row."""

    key: str
    kind: str
    from_addr: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None  # the business manager: answers reach a person, not the system
    cycle_id: int | None = None
    contribution_id: int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


def partnership_envelope(partnership: Partnership, **fields: Any) -> Envelope:
    """An envelope from the partnership's address; replies go to the business manager unless `reply_to` says."""
    fields.setdefault("reply_to", partnership.business_manager_email)
    return Envelope(from_addr=partnership.from_address, **fields)


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
        reply_to=envelope.reply_to,
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
    reclaimed: int = 0  # rows a crashed dispatcher left "sending", queued again
    errors: list[str] = field(default_factory=list)


# A row claimed longer ago than this belongs to a dispatcher that died.
LEASE = dt.timedelta(minutes=15)


def reclaim_stale(session: Session, *, at: dt.datetime, worker: str, lease: dt.timedelta = LEASE) -> int:
    """Requeue rows left "sending" by a dispatcher that died (the documented crash policy).

    We cannot ask the SMTP server whether it took the message, so the row is sent
    again with the same Message-ID: at most one duplicate per crash, never a loss.
    Each reclaim is audited and counted, so the digest can say so.
    """
    stale = session.exec(
        select(OutboundEmail).where(
            OutboundEmail.status == OutboxStatus.sending, col(OutboundEmail.claimed_at) < at - lease
        )
    ).all()
    for row in stale:
        claimed_at = row.claimed_at or at
        row.last_error = f"reclaimed: left sending by {row.claimed_by} at {claimed_at:%Y-%m-%d %H:%M} UTC"
        row.status, row.next_attempt_at = OutboxStatus.queued, at
        session.add(row)
        record(
            session,
            at=at,
            actor=worker,
            action="email.reclaimed",
            subject=f"email:{row.id}",
            cycle_id=row.cycle_id,
            previous_worker=row.claimed_by,
            attempt=row.attempts,
        )
    return len(stale)


def claim_batch(session: Session, *, at: dt.datetime, worker: str, limit: int) -> list[int]:
    """Take up to `limit` due rows for this worker; committed by the caller before any SMTP traffic.

    On PostgreSQL the candidates are locked with SKIP LOCKED so two dispatchers
    take different rows; everywhere the UPDATE only moves rows still queued.
    """
    query = (
        select(OutboundEmail.id)
        .where(OutboundEmail.status == OutboxStatus.queued, col(OutboundEmail.next_attempt_at) <= at)
        .order_by(col(OutboundEmail.next_attempt_at), col(OutboundEmail.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    while True:
        candidates = [i for i in session.exec(query).all() if i is not None]
        if not candidates:
            return []
        result = session.execute(
            update(OutboundEmail)
            .where(col(OutboundEmail.id).in_(candidates), col(OutboundEmail.status) == OutboxStatus.queued)
            .values(status=OutboxStatus.sending, claimed_at=at, claimed_by=worker, attempts=OutboundEmail.attempts + 1)
            .returning(col(OutboundEmail.id))
        )
        claimed = sorted(row[0] for row in result)
        if claimed:
            return claimed
        # Another dispatcher took every candidate between our SELECT and UPDATE: look again.


def dispatch_due(
    database_url: str,
    *,
    at: dt.datetime,
    worker: str,
    smtp: SmtpConfig,
    max_attempts: int,
    batch: int = 20,
    limit: int | None = None,
    lease: dt.timedelta = LEASE,
    rng: random.Random | None = None,
    observe: Callable[[str, int], None] | None = None,
) -> DispatchReport:
    """Send every due row once, over one SMTP connection, recording each outcome on its row.

    `observe(phase, row_id)` is called after each claim and each send: a hook for
    crash tests and progress, never for control.
    """
    rng = rng or random.Random()
    report = DispatchReport()
    with session_scope(database_url) as session:
        report.reclaimed = reclaim_stale(session, at=at, worker=worker, lease=lease)
    with SmtpSender(smtp) as sender:
        while True:
            room = batch if limit is None else min(batch, limit - report.sent - report.retrying - report.failed)
            if room <= 0:
                break
            with session_scope(database_url) as session:
                claimed = claim_batch(session, at=at, worker=worker, limit=room)
            if not claimed:
                break
            with session_scope(database_url) as session:
                rows = session.exec(select(OutboundEmail).where(col(OutboundEmail.id).in_(claimed))).all()
                messages = {row.id or 0: build_message(row) for row in rows}
            for row_id in claimed:
                if observe:
                    observe("claimed", row_id)
                result = sender.send(messages[row_id])
                if observe:
                    observe("sent", row_id)
                with session_scope(database_url) as session:
                    _record_outcome(
                        session, row_id, result, at=at, worker=worker, max_attempts=max_attempts, rng=rng, report=report
                    )
    return report


PERSONAL_LINK = re.compile(r"/c/[A-Za-z0-9_-]{43}")


def redact_links(body: str) -> str:
    return PERSONAL_LINK.sub("/c/[personal link, sent and not kept]", body)


def _record_outcome(
    session: Session,
    row_id: int,
    result: SendResult,
    *,
    at: dt.datetime,
    worker: str,
    max_attempts: int,
    rng: random.Random,
    report: DispatchReport,
) -> None:
    row = session.get(OutboundEmail, row_id)
    assert row is not None
    row.smtp_reply = result.reply
    if result.ok:
        row.status, row.sent_at, row.last_error = OutboxStatus.sent, at, None
        # Once delivered, the personal link has done its job here: the stored copy keeps no usable token,
        # so a database dump or an export cannot open anyone's contribution.
        row.text_body, row.html_body = redact_links(row.text_body), redact_links(row.html_body)
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
