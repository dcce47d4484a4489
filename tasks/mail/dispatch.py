"""Dispatch: send what is due in the outbox, each recipient once, against a relay that misbehaves.

A run claims rows (a conditional UPDATE queued -> sending, on PostgreSQL after SELECT ... FOR UPDATE SKIP
LOCKED) and commits the claim before any SMTP traffic, so two dispatchers never send the same row. Each
claim is stamped with the time it was made, and renewed while the run is alive, so a long run's rows are
never taken over as if its dispatcher had died. The run stops early, releasing what it claimed and did
not send, when the relay cannot be reached (one timeout per run, not one per row), when its deadline
passes, or when it is asked to stop (SIGTERM, Ctrl-C): the message in flight is finished and recorded.

Outcomes are recorded per recipient: a recipient refused for now (4xx) is retried alone, one refused for
good (5xx) is failed alone, and the row is "sent" only when every recipient took it. Temporary failures
are retried with capped exponential backoff for the queue lifetime, then failed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import Session, col, select

from models.audit import record
from models.db import engine_for, session_scope
from models.outbox import OutboundEmail, OutboxStatus, is_permanent, pending, recipients, refused_for_good
from tasks.mail.messages import build_message, reply_address
from tasks.mail.outbox import redact_links
from tasks.mail.smtp import SendResult, SmtpConfig, SmtpSender

# A row claimed longer ago than this, and not renewed, belongs to a dispatcher that died.
LEASE = dt.timedelta(minutes=15)
# How long a temporarily refused email is retried (Postfix keeps mail for 5 days; 3 is enough to be told).
QUEUE_LIFETIME = dt.timedelta(days=3)


# Set by SIGTERM or SIGINT while a dispatch runs: the message in flight is finished and recorded, the rest of
# the run's claimed rows go back to the queue, and the run returns.
STOP = threading.Event()


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """In the main thread, SIGTERM and SIGINT ask a dispatch to stop cleanly instead of killing it mid-message;
    a second signal goes to the previous handler (the default one ends the process). Off the main thread
    signals cannot be caught: a run killed there is covered by the lease, like a crash."""
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    previous: dict[signal.Signals, Any] = {}

    def ask(signum: int, frame: Any) -> None:
        if STOP.is_set():
            handler = previous.get(signal.Signals(signum))
            if callable(handler):
                handler(signum, frame)
            else:  # the default action: give it back and let the signal do what it does
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        STOP.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, ask)
    try:
        yield STOP
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        STOP.clear()


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
    released: int = 0  # rows this run claimed and gave back unsent (relay down, deadline, stop)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "address: reply" for each recipient refused for good
    unreachable: str | None = None  # why the relay could not be reached, when it could not
    stopped: str | None = None  # "deadline" or "signal" when the run stopped before the queue was empty

    @property
    def summary(self) -> str:
        line = f"sent {self.sent}, retrying later {self.retrying}, failed {self.failed}"
        if self.released:
            line += f", {self.released} left queued"
        if self.unreachable:
            line += f"; the relay could not be reached ({self.unreachable})"
        if self.stopped:
            line += f"; stopped early ({self.stopped})"
        return line


def moving_clock(start: dt.datetime) -> Callable[[], dt.datetime]:
    """The run's start from the injected clock, plus the time the run has taken: a long run sees time pass."""
    began = time.perf_counter()
    return lambda: start + dt.timedelta(seconds=time.perf_counter() - began)


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


def expire(session: Session, *, at: dt.datetime, worker: str, lifetime: dt.timedelta) -> int:
    """Fail what has waited longer than the queue lifetime without reaching everyone (a long outage): the
    business manager is told and a person decides (`reportcycle outbox retry --failed` once it is fixed)."""
    rows = session.exec(
        select(OutboundEmail).where(
            OutboundEmail.status == OutboxStatus.queued, col(OutboundEmail.first_attempt_at) <= at - lifetime
        )
    ).all()
    for row in rows:
        _give_up(row, at=at, lifetime=lifetime)
        session.add(row)
        record(
            session,
            at=at,
            actor=worker,
            action="email.failed",
            subject=f"email:{row.id}",
            cycle_id=row.cycle_id,
            kind=row.kind,
            to=row.to_addrs,
            reply=row.last_error,
            attempt=row.attempts,
        )
    return len(rows)


def _give_up(row: OutboundEmail, *, at: dt.datetime, lifetime: dt.timedelta) -> None:
    deliveries = dict(row.deliveries)
    for address in pending(row):
        last = deliveries.get(address, {}).get("reply") or row.last_error or "the relay could not be reached"
        reply = f"not delivered after {lifetime.total_seconds() / 3600:g} hours in the queue; last reply: {last}"
        deliveries[address] = {"state": "failed", "reply": reply, "at": at.isoformat()}
    row.deliveries = deliveries
    failed = {a: d["reply"] for a, d in deliveries.items() if d["state"] == "failed"}
    row.status, row.refused = OutboxStatus.failed, len(refused_for_good(deliveries))
    row.last_error = "; ".join(f"{a}: {reply}" for a, reply in failed.items())


def waiting_for_relay(session: Session, *, at: dt.datetime) -> None:
    """The relay could not be reached: every due email that was never tried starts its queue lifetime now,
    so a long outage ends in a clear "failed" for each, not an endless wait for the ones at the back."""
    session.execute(
        update(OutboundEmail)
        .where(
            col(OutboundEmail.status) == OutboxStatus.queued,
            col(OutboundEmail.next_attempt_at) <= at,
            col(OutboundEmail.first_attempt_at).is_(None),
        )
        .values(first_attempt_at=at)
    )


def claim_batch(session: Session, *, at: dt.datetime, worker: str, limit: int) -> list[int]:
    """Take up to `limit` due rows for this worker, stamped `at` (the moment of this claim); committed by the
    caller before any SMTP traffic. The attempt is counted when the relay is asked, not here."""
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
            .values(status=OutboxStatus.sending, claimed_at=at, claimed_by=worker)
            .returning(col(OutboundEmail.id))
        )
        claimed = sorted(row[0] for row in result)
        if claimed:
            return claimed
        # Another dispatcher took every candidate between our SELECT and UPDATE: look again.


def _still_ours(ids: list[int], worker: str) -> ColumnElement[bool]:
    return and_(
        col(OutboundEmail.id).in_(ids),
        col(OutboundEmail.status) == OutboxStatus.sending,
        col(OutboundEmail.claimed_by) == worker,
    )


def renew(session: Session, ids: list[int], *, at: dt.datetime, worker: str) -> None:
    """This run is alive: its claims are as fresh as now."""
    if ids:
        session.execute(update(OutboundEmail).where(_still_ours(ids, worker)).values(claimed_at=at))


def release(session: Session, ids: list[int], *, worker: str) -> int:
    """Give claimed rows back to the queue untouched: they keep their place and their attempt count."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboundEmail)
        .where(_still_ours(ids, worker))
        .values(status=OutboxStatus.queued, claimed_at=None)
        .returning(col(OutboundEmail.id))
    )
    return len(result.all())


def dispatch_due(
    database_url: str,
    *,
    at: dt.datetime,
    worker: str,
    smtp: SmtpConfig,
    lifetime: dt.timedelta = QUEUE_LIFETIME,
    deadline: float | None = None,
    batch: int = 20,
    limit: int | None = None,
    lease: dt.timedelta = LEASE,
    clock: Callable[[], dt.datetime] | None = None,
    stop: threading.Event | None = None,
    rng: random.Random | None = None,
    observe: Callable[[str, int], None] | None = None,
) -> DispatchReport:
    """Send every due row once, over one SMTP connection, recording each recipient's outcome on its row.

    `at` is the run's start (the injected clock); `clock` gives the time as the run goes on (by default
    `at` plus the time taken). `deadline` is in seconds of real time. `observe(phase, row_id)` is called
    after each claim and each send: a hook for crash tests and progress, never for control.
    """
    rng = rng or random.Random()
    clock = clock or moving_clock(at)
    began = time.perf_counter()
    report = DispatchReport()
    with session_scope(database_url) as session:
        report.reclaimed = reclaim_stale(session, at=clock(), worker=worker, lease=lease)
        report.failed += expire(session, at=clock(), worker=worker, lifetime=lifetime)
    renewed = clock()
    unsent: list[int] = []  # claimed by this run, not yet handed to the relay
    # One session for the run's outcomes, committed after each message: the rows it loads to build the messages
    # are the ones it records on, with no connection or SELECT a message.
    records = Session(engine_for(database_url), expire_on_commit=False)
    with SmtpSender(smtp) as sender, records:
        try:
            while report.unreachable is None and report.stopped is None:
                done = report.sent + report.retrying + report.failed
                room = batch if limit is None else min(batch, limit - done)
                if room <= 0:
                    break
                if deadline is not None and time.perf_counter() - began > deadline:
                    report.stopped = "deadline"
                    break
                with session_scope(database_url) as session:
                    unsent = claim_batch(session, at=clock(), worker=worker, limit=room)
                if not unsent:
                    break
                rows = records.exec(select(OutboundEmail).where(col(OutboundEmail.id).in_(unsent))).all()
                mailbox = smtp.reply_mailbox
                work = {
                    row.id or 0: (build_message(row, mailbox), pending(row), reply_address(row, mailbox))
                    for row in rows
                }
                records.commit()
                while unsent:
                    if stop is not None and stop.is_set():
                        report.stopped = "signal"
                        break
                    if deadline is not None and time.perf_counter() - began > deadline:
                        report.stopped = "deadline"
                        break
                    row_id = unsent[0]
                    if observe:
                        observe("claimed", row_id)
                    message, to, bounce_to = work[row_id]
                    result = sender.send(message, to, bounce_to)
                    if observe:
                        observe("sent", row_id)
                    try:
                        _record(records, row_id, to, result, at=clock(), worker=worker, lifetime=lifetime, rng=rng)
                        if clock() - renewed > lease / 5:  # well inside the lease, however long a send takes
                            renewed = clock()
                            renew(records, unsent[1:], at=renewed, worker=worker)
                        records.commit()
                    except BaseException:
                        records.rollback()
                        raise
                    unsent.pop(0)
                    _count(report, records.get(OutboundEmail, row_id), result)
                    if result.unreachable:
                        report.unreachable = result.reply
                        break
        finally:
            # Whatever ended the run (the relay, the deadline, a stop, an exception), what it claimed and did
            # not hand to the relay goes back to the queue now, not after the lease.
            with session_scope(database_url) as session:
                report.released += release(session, unsent, worker=worker)
                if report.unreachable:
                    waiting_for_relay(session, at=clock())
    return report


def _count(report: DispatchReport, row: OutboundEmail | None, result: SendResult) -> None:
    assert row is not None
    for address, reply in result.refused.items():
        if is_permanent(reply):
            report.refused.append(f"{address}: {reply}")
    if row.status == OutboxStatus.sent:
        report.sent += 1
    elif row.status == OutboxStatus.failed:
        report.failed += 1
        report.errors.append(f"{row.kind} to {', '.join(recipients(row))}: {row.last_error}")
    else:
        report.retrying += 1


def _record(
    session: Session,
    row_id: int,
    attempted: list[str],
    result: SendResult,
    *,
    at: dt.datetime,
    worker: str,
    lifetime: dt.timedelta,
    rng: random.Random,
) -> None:
    """Each attempted recipient's outcome on the row, then the row's: sent, failed, or queued for later."""
    row = session.get(OutboundEmail, row_id)
    assert row is not None
    row.attempts += 1
    row.first_attempt_at = row.first_attempt_at or at
    row.smtp_reply = result.reply
    when = at.isoformat()
    deliveries = dict(row.deliveries)
    for address in attempted:
        if address in result.accepted:
            deliveries[address] = {"state": "sent", "reply": result.reply, "at": when}
            continue
        reply = result.refused.get(address) or result.failure or result.reply
        deliveries[address] = {"state": "failed" if is_permanent(reply) else "retry", "reply": reply, "at": when}
    row.deliveries = deliveries
    waiting = pending(row)
    expired = at - row.first_attempt_at >= lifetime
    if waiting and expired:
        _give_up(row, at=at, lifetime=lifetime)
        deliveries, waiting = row.deliveries, []
    failed = {a: d["reply"] for a, d in deliveries.items() if d["state"] == "failed"}
    row.refused = len(refused_for_good(deliveries))
    if waiting:
        row.status, row.next_attempt_at = OutboxStatus.queued, at + backoff(row.attempts, rng)
        row.last_error = result.failure or "; ".join(f"{a}: {deliveries[a]['reply']}" for a in waiting)
    elif failed:
        row.status = OutboxStatus.failed
        # The relay's own words when it refused the whole message; else who was refused, and why.
        row.last_error = result.failure if result.failure and not expired else None
        row.last_error = row.last_error or "; ".join(f"{a}: {reply}" for a, reply in failed.items())
    else:
        row.status, row.sent_at, row.last_error = OutboxStatus.sent, at, None
    if row.status == OutboxStatus.sent:
        # Once delivered, the personal link has done its job here: the stored copy keeps no usable token,
        # so a database dump or an export cannot open anyone's contribution.
        row.text_body, row.html_body = redact_links(row.text_body), redact_links(row.html_body)
    row.claimed_at = None if row.status == OutboxStatus.queued else row.claimed_at
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
        attempted=attempted,
        refused={a: r for a, r in result.refused.items()},
    )
