"""What an operator or the business manager does with the outbox: look, retry, cancel.

Plain functions taking the session and the time, so the command line and the business
manager's desk in the portal share them. Each change is a conditional UPDATE on the row's
status, so a dispatcher that claims the row at the same moment wins or loses cleanly, and
each change is audited with who asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from models.audit import record
from models.outbox import OutboundEmail, OutboxStatus
from tasks.mail.dispatch import LEASE

# Not a stored status: a row left "sending" longer than the lease, by a dispatcher that died.
STUCK = "stuck"
SHOWN_BY_DEFAULT = (OutboxStatus.queued, OutboxStatus.failed, STUCK)
KNOWN = (*[s.value for s in OutboxStatus], STUCK)
RETRYABLE = (OutboxStatus.failed, STUCK)
CANCELLABLE = (OutboxStatus.queued, OutboxStatus.failed, OutboxStatus.held, STUCK)


class OutboxAdminError(ValueError):
    """A request that makes no sense for this message; the text says why and what to do."""


@dataclass(frozen=True)
class OutboxLine:
    id: int
    state: str  # the stored status, or "stuck"
    kind: str
    to: list[str]
    cc: list[str]
    subject: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    claimed_by: str | None
    claimed_at: dt.datetime | None
    cycle_id: int | None


def state_of(row: OutboundEmail, *, at: dt.datetime, lease: dt.timedelta = LEASE) -> str:
    """The status an operator cares about: "sending" past its lease is "stuck"."""
    if row.status == OutboxStatus.sending and row.claimed_at is not None and row.claimed_at < at - lease:
        return STUCK
    return row.status


def _where_state(state: str, at: dt.datetime, lease: dt.timedelta) -> ColumnElement[bool]:
    status, claimed_at = col(OutboundEmail.status), col(OutboundEmail.claimed_at)
    if state == STUCK:
        return and_(status == OutboxStatus.sending, claimed_at < at - lease)
    if state == OutboxStatus.sending:  # in flight: claimed within the lease
        return and_(status == OutboxStatus.sending, or_(claimed_at.is_(None), claimed_at >= at - lease))
    return status == state


def list_outbox(
    session: Session,
    *,
    at: dt.datetime,
    states: Collection[str] = SHOWN_BY_DEFAULT,
    cycle_id: int | None = None,
    lease: dt.timedelta = LEASE,
) -> list[OutboxLine]:
    """Messages in the given states (default: queued, failed, stuck), the next to go first."""
    unknown = sorted(set(states) - set(KNOWN))
    if unknown:
        raise OutboxAdminError(f"unknown status {', '.join(unknown)}; choose from {', '.join(KNOWN)}")
    query = select(OutboundEmail).where(or_(*(_where_state(s, at, lease) for s in states)))
    if cycle_id is not None:
        query = query.where(OutboundEmail.cycle_id == cycle_id)
    rows = session.exec(query.order_by(col(OutboundEmail.next_attempt_at), col(OutboundEmail.id))).all()
    return [
        OutboxLine(
            id=r.id or 0,
            state=state_of(r, at=at, lease=lease),
            kind=r.kind,
            to=list(r.to_addrs),
            cc=list(r.cc_addrs),
            subject=r.subject,
            attempts=r.attempts,
            last_error=r.last_error,
            next_attempt_at=r.next_attempt_at,
            claimed_by=r.claimed_by,
            claimed_at=r.claimed_at,
            cycle_id=r.cycle_id,
        )
        for r in rows
    ]


def _why_not(row: OutboundEmail, state: str, verb: str, lease: dt.timedelta) -> str:
    """One line: the message's state, why `verb` makes no sense in it, and what to do instead."""
    name = f"email {row.id} ({row.kind} to {', '.join(row.to_addrs)})"
    sent_at = f"{row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else "an unknown time"
    claimed_at = row.claimed_at or row.created_at
    reasons: dict[str, str] = {
        OutboxStatus.sent: f"was sent at {sent_at}; to {verb} it now would "
        + ("send it twice" if verb == "retry" else "change nothing"),
        OutboxStatus.queued: f"is already queued for {row.next_attempt_at:%Y-%m-%d %H:%M} UTC; dispatch sends it then",
        OutboxStatus.sending: f"is being sent by {row.claimed_by} since {claimed_at:%H:%M} UTC; "
        f"if that dispatcher died, it counts as stuck after {claimed_at + lease:%Y-%m-%d %H:%M} UTC",
        OutboxStatus.held: "is an escalation held for the business manager; "
        "`reportcycle confirm-escalation AGENCY` releases it",
        OutboxStatus.superseded: "was superseded by a later step of the chase ladder and is never sent",
        OutboxStatus.cancelled: "was cancelled and is never sent",
    }
    return f"cannot {verb} {name}: it {reasons.get(state, 'is ' + state)}"


def _get(session: Session, email_id: int) -> OutboundEmail:
    row = session.get(OutboundEmail, email_id)
    if row is None:
        raise OutboxAdminError(f"no email {email_id} in the outbox; `reportcycle outbox` lists them with their ids")
    return row


def _move(session: Session, row: OutboundEmail, state: str, **values: Any) -> None:
    """Change the row only if it is still as we saw it; a dispatcher may have claimed it meanwhile."""
    seen = and_(col(OutboundEmail.id) == row.id, col(OutboundEmail.status) == row.status)
    if state == STUCK:
        seen = and_(seen, col(OutboundEmail.claimed_at) == row.claimed_at)
    moved = session.execute(update(OutboundEmail).where(seen).values(**values).returning(col(OutboundEmail.id)))
    if moved.first() is None:
        session.refresh(row)
        raise OutboxAdminError(f"email {row.id} changed while you asked (it is now {row.status}); look again")
    session.refresh(row)


def retry(
    session: Session, email_id: int, *, at: dt.datetime, actor: str, lease: dt.timedelta = LEASE
) -> OutboundEmail:
    """A failed or stuck message back to queued, due now, with a fresh queue lifetime.

    Only the recipients who did not get it are sent to again: those the relay accepted keep their "sent".
    """
    row = _get(session, email_id)
    state = state_of(row, at=at, lease=lease)
    if state not in RETRYABLE:
        raise OutboxAdminError(_why_not(row, state, "retry", lease))
    attempts_before = row.attempts
    again = {a: d for a, d in row.deliveries.items() if d.get("state") == "sent"}
    # A stuck row may have reached the SMTP server before its dispatcher died: like the
    # automatic reclaim, the resend keeps its Message-ID, so at most one duplicate.
    _move(
        session,
        row,
        state,
        status=OutboxStatus.queued,
        next_attempt_at=at,
        attempts=0,
        deliveries=again,
        refused=0,
        first_attempt_at=None,
    )
    record(
        session,
        at=at,
        actor=actor,
        action="email.retry",
        subject=f"email:{row.id}",
        cycle_id=row.cycle_id,
        was=state,
        kind=row.kind,
        to=row.to_addrs,
        attempts_before=attempts_before,
        last_error=row.last_error,
    )
    return row


def retry_failed(
    session: Session, *, at: dt.datetime, actor: str, since: dt.datetime | None = None, cycle_id: int | None = None
) -> list[OutboundEmail]:
    """Every failed message (whose last outcome came at or after `since`) back in the queue: one audited retry
    each, so recovering from a long outage is one command, not one per email."""
    query = select(OutboundEmail).where(OutboundEmail.status == OutboxStatus.failed)
    if cycle_id is not None:
        query = query.where(OutboundEmail.cycle_id == cycle_id)
    rows = session.exec(query.order_by(col(OutboundEmail.id))).all()

    def last_outcome(row: OutboundEmail) -> dt.datetime:
        times = [dt.datetime.fromisoformat(d["at"]) for d in row.deliveries.values() if d.get("at")]
        return max(times, default=row.first_attempt_at or row.created_at)

    return [
        retry(session, row.id or 0, at=at, actor=actor) for row in rows if since is None or last_outcome(row) >= since
    ]


def cancel(
    session: Session, email_id: int, *, at: dt.datetime, actor: str, reason: str = "", lease: dt.timedelta = LEASE
) -> OutboundEmail:
    """Stop a message that has not gone from ever being sent (queued, failed, held or stuck)."""
    row = _get(session, email_id)
    state = state_of(row, at=at, lease=lease)
    if state not in CANCELLABLE:
        raise OutboxAdminError(_why_not(row, state, "cancel", lease))
    _move(session, row, state, status=OutboxStatus.cancelled)
    record(
        session,
        at=at,
        actor=actor,
        action="email.cancel",
        subject=f"email:{row.id}",
        cycle_id=row.cycle_id,
        was=state,
        kind=row.kind,
        to=row.to_addrs,
        reason=reason,
    )
    return row
