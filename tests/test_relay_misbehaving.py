"""The outbox against a relay that misbehaves as real ones do: a recipient refused for good or for now, a relay
down for hours or days, one that accepts the connection and never answers, a run slower than the lease, and a
dispatcher stopped mid-run. Every case is a real SMTP conversation with an aiosmtpd handler of its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.outbox import OutboundEmail, OutboxStatus
from reportcycle.cli import app
from reportcycle.mailsink import free_port
from reportcycle.settings import get_settings
from tasks.asking.digest import refused_text, undelivered
from tasks.mail.dispatch import LEASE, DispatchReport, dispatch_due
from tasks.mail.outbox import Envelope, enqueue
from tasks.mail.outbox_admin import list_outbox
from tasks.mail.render import RenderedEmail
from tasks.mail.smtp import SmtpConfig
from tasks.ops.health import outbox_waiting

AT = dt.datetime(2026, 6, 3, 8, 0, tzinfo=dt.UTC)  # a Wednesday, 09:00 in London
TEXT = RenderedEmail(subject="Reminder", text="Please write.\n", html="<p>Please write.</p>")
WORKER = Path(__file__).parent / "dispatch_worker.py"


class Relay:
    """An SMTP relay on loopback whose answers a test sets: per recipient, a list of replies to give at RCPT
    in turn before accepting ("550 ..." forever is a list that never runs out), and a delay before each DATA
    reply (a slow relay). It counts what each address received, by Message-ID."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.replies: dict[str, list[str]] = {}
        self.forever: dict[str, str] = {}
        self.delay = 0.0
        self.received: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        with self._lock:
            if address in self.forever:
                return self.forever[address]
            queue = self.replies.get(address)
            if queue:
                return queue.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.extend((r, str(message["Message-ID"])) for r in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted"

    def count(self) -> Counter[str]:
        with self._lock:
            return Counter(r for r, _ in self.received)

    def __enter__(self) -> Relay:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class Silent:
    """A relay that accepts the TCP connection and never says a word (not even its greeting)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def __enter__(self) -> Silent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _queue(session: Session, n: int, *, to: Callable[[int], list[str]] | None = None) -> list[int]:
    ids = []
    for i in range(n):
        addresses = to(i) if to else [f"lead{i}@agency{i}.example.org"]
        envelope = Envelope(key=f"k{i}", kind="reminder", from_addr="report@p.example.org", to=addresses)
        row = enqueue(session, envelope, TEXT, at=AT)
        assert row is not None and row.id is not None
        ids.append(row.id)
    session.commit()
    return ids


def _dispatch(url: str, port: int, at: dt.datetime, **kw: Any) -> DispatchReport:
    timeout = kw.pop("timeout", 5)
    return dispatch_due(
        url,
        at=at,
        worker=kw.pop("worker", "w1"),
        smtp=SmtpConfig("127.0.0.1", port, timeout=timeout),
        rng=random.Random(3),
        **kw,
    )


def _rows(session: Session) -> list[OutboundEmail]:
    session.expire_all()
    return list(session.exec(select(OutboundEmail).order_by(col(OutboundEmail.id))).all())


def test_one_of_two_recipients_refused_for_good_is_failed_alone_and_reported(
    database_url: str, session: Session
) -> None:
    _queue(session, 1, to=lambda i: ["lead@police.example.org", "gone@police.example.org"])
    with Relay() as relay:
        relay.forever["gone@police.example.org"] = "550 5.1.1 <gone@police.example.org>: user unknown"
        report = _dispatch(database_url, relay.port, AT)
        again = _dispatch(database_url, relay.port, AT + dt.timedelta(days=1))
    assert relay.count() == Counter({"lead@police.example.org": 1})
    assert (report.sent, report.failed, again.sent + again.failed + again.retrying) == (0, 1, 0)
    assert report.refused == ["gone@police.example.org: 550 5.1.1 <gone@police.example.org>: user unknown"]
    (row,) = _rows(session)
    assert (row.status, row.refused) == (OutboxStatus.failed, 1)
    assert {a: d["state"] for a, d in row.deliveries.items()} == {
        "lead@police.example.org": "sent",
        "gone@police.example.org": "failed",
    }
    # what the digest and the desk say of it: the address, the relay's words, and who did get it
    assert refused_text(row) == (
        "gone@police.example.org: 550 5.1.1 <gone@police.example.org>: user unknown "
        "(delivered to lead@police.example.org)"
    )


def test_a_recipient_refused_for_now_is_retried_alone_until_it_is_taken(database_url: str, session: Session) -> None:
    _queue(session, 1, to=lambda i: ["lead@nhs.example.org", "chief@nhs.example.org"])
    at = AT
    with Relay() as relay:
        relay.replies["chief@nhs.example.org"] = ["451 4.7.1 greylisted, try again later"] * 3
        states = []
        for _ in range(6):
            report = _dispatch(database_url, relay.port, at)
            states.append((report.sent, report.retrying))
            at += dt.timedelta(hours=1)  # past any backoff
    assert relay.count() == Counter({"lead@nhs.example.org": 1, "chief@nhs.example.org": 1})
    assert states == [(0, 1), (0, 1), (0, 1), (1, 0), (0, 0), (0, 0)]
    (row,) = _rows(session)
    assert (row.status, row.attempts) == (OutboxStatus.sent, 4)


def test_six_hours_down_across_eight_runs_then_up_delivers_each_once(database_url: str, session: Session) -> None:
    _queue(session, 23)
    port = free_port()  # nothing listens: the relay is down
    at = AT
    alerts = []
    for _ in range(8):
        down = _dispatch(database_url, port, at)
        # one connection attempt a run: the first row waits again, the rest keep their place
        assert (down.sent, down.retrying, down.failed) == (0, 1, 0) and down.unreachable
        assert all(r.status == OutboxStatus.queued for r in _rows(session))
        found, alert = outbox_waiting(get_settings(), at + dt.timedelta(minutes=5))
        assert (found["waiting"], found["failed"]) == (23, 0) and "Connect call failed" in str(found["why"])
        alerts.append(alert)
        at += dt.timedelta(minutes=45)
    # a Wednesday: from the run an hour and a half in, the operator is told the relay is down
    assert [a is not None for a in alerts] == [False, False, True, True, True, True, True, True]
    assert str(alerts[2]).startswith("23 emails waiting for the SMTP relay for 1.6 hours (since 2026-06-03 08:00 UTC")
    assert sum(r.attempts for r in _rows(session)) == 8
    with Relay(port=port) as relay:
        up = _dispatch(database_url, port, AT + dt.timedelta(hours=8))
        later = _dispatch(database_url, port, AT + dt.timedelta(hours=10))
    assert (up.sent, up.failed, later.sent) == (23, 0, 0)
    assert relay.count() == Counter({f"lead{i}@agency{i}.example.org": 1 for i in range(23)})


def test_four_days_down_fails_after_the_lifetime_and_one_command_requeues_them(
    database_url: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue(session, 23)
    port = free_port()
    at = AT
    while at < AT + dt.timedelta(days=4):
        _dispatch(database_url, port, at)
        at += dt.timedelta(hours=6)
    rows = _rows(session)
    assert {r.status for r in rows} == {OutboxStatus.failed}
    assert all("not delivered after 72 hours in the queue" in (r.last_error or "") for r in rows)
    listed = list_outbox(session, at=at, states=["failed"])
    assert len(listed) == 23
    failed_events = session.exec(select(AuditEvent).where(AuditEvent.action == "email.failed")).all()
    assert len(failed_events) == 23

    result = CliRunner().invoke(app, ["--at", at.isoformat(), "outbox", "retry", "--failed"])
    assert result.exit_code == 0, result.output
    assert "23 failed emails queued again" in result.output
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "email.retry")).all()) == 23
    with Relay(port=port) as relay:
        up = _dispatch(database_url, port, at + dt.timedelta(minutes=1))
    assert up.sent == 23
    assert relay.count() == Counter({f"lead{i}@agency{i}.example.org": 1 for i in range(23)})


def test_retry_failed_refuses_an_id_and_the_flag_together(database_url: str) -> None:
    result = CliRunner().invoke(app, ["outbox", "retry", "3", "--failed"])
    assert result.exit_code == 1
    assert "give one message's ID, or --failed for every failed message (not both)" in result.output
    assert "Traceback" not in result.output


def test_a_run_slower_than_the_lease_keeps_its_rows_from_a_second_run(database_url: str, session: Session) -> None:
    _queue(session, 12)
    began = time.perf_counter()

    def fast() -> dt.datetime:  # ten minutes of the run's clock for each real second
        return AT + dt.timedelta(seconds=(time.perf_counter() - began) * 600)

    with Relay() as relay:
        relay.delay = 0.25  # twelve messages: three seconds, half an hour on the run's clock
        first: list[DispatchReport] = []
        slow = threading.Thread(target=lambda: first.append(_dispatch(database_url, relay.port, AT, clock=fast)))
        slow.start()
        while fast() < AT + LEASE + dt.timedelta(minutes=2):  # the first run is past its lease...
            time.sleep(0.05)
        assert slow.is_alive() and len(relay.received) < 12
        second = _dispatch(database_url, relay.port, fast(), worker="w2")  # ...when the next one starts
        slow.join(timeout=60)
    assert (second.reclaimed, second.sent) == (0, 0)
    assert first[0].sent == 12
    assert relay.count() == Counter({f"lead{i}@agency{i}.example.org": 1 for i in range(12)})


def test_a_relay_that_never_answers_costs_one_timeout_per_run(database_url: str, session: Session) -> None:
    _queue(session, 200)
    with Silent() as silent:
        started = time.perf_counter()
        report = _dispatch(database_url, silent.port, AT, timeout=1, deadline=60)
        took = time.perf_counter() - started
    assert took < 15, f"{took:.1f} s for one run against a silent relay"
    assert report.unreachable and (report.retrying, report.released) == (1, 19)
    rows = _rows(session)
    assert {r.status for r in rows} == {OutboxStatus.queued}
    assert sum(r.attempts for r in rows) == 1


def test_sigterm_mid_run_finishes_the_message_in_flight_and_releases_the_rest(
    database_url: str, session: Session
) -> None:
    _queue(session, 20)
    with Relay() as relay:
        relay.delay = 0.3
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), database_url, str(relay.port), AT.isoformat(), "w1", "--graceful"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(relay.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert '"stopped": "signal"' in out
        rows = _rows(session)
        assert not [r for r in rows if r.status == OutboxStatus.sending]
        delivered = relay.count()
        assert sum(r.status == OutboxStatus.sent for r in rows) == sum(delivered.values()) < 20
        relay.delay = 0
        _dispatch(database_url, relay.port, AT + dt.timedelta(minutes=1))
    assert relay.count() == Counter({f"lead{i}@agency{i}.example.org": 1 for i in range(20)})
    assert {r.status for r in _rows(session)} == {OutboxStatus.sent}


def test_the_next_chaser_goes_to_the_other_contacts_and_the_digest_names_the_refused_one(
    database_url: str, session: Session
) -> None:
    from models.store import find_cycle
    from reportcycle.settings import get_settings
    from tasks.asking.chase import chase_cycle
    from tests.helpers import flat, local, open_example_cycle

    s = get_settings()
    open_example_cycle(session)
    cycle = find_cycle(session)
    deputy = "dev.anand-shaw@bcc.example.org"  # the council's deputy has left: their mailbox is gone
    with Relay() as relay:
        relay.forever[deputy] = "550 5.1.1 mailbox unavailable"
        _dispatch(database_url, relay.port, local("2019-04-15", "09:05"))
        chase_cycle(
            session, cycle, at=local("2019-05-13"), actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir
        )
        session.commit()
        _dispatch(database_url, relay.port, local("2019-05-13", "09:35"))
    to_council = [
        (r.to_addrs, r.status)
        for r in session.exec(select(OutboundEmail).where(OutboundEmail.kind == "reminder"))
        if r.contribution_id and "harriet.lowe@bcc.example.org" in r.to_addrs
    ]
    # the 14-day reminder is superseded by the 7-day one (the run is late), which goes to the lead alone
    assert sorted(to_council) == [
        (["harriet.lowe@bcc.example.org"], "sent"),
        (["harriet.lowe@bcc.example.org"], "superseded"),
    ]
    assert relay.count()[deputy] == 0
    failed, waiting = undelivered(session, cycle.id or 0)
    assert ([r.to_addrs for r in failed], waiting) == ([[deputy]], [])
    digest = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "digest")).one()
    assert f"request to {deputy}: {deputy}: 550 5.1.1 mailbox unavailable" in flat(digest.text_body)
