"""The outbox over a real SMTP server: one row per key, one message per row, failures kept on the row."""

from __future__ import annotations

import datetime as dt
import random
import threading

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.outbox import OutboundEmail, OutboxStatus
from reportcycle.mailsink import MailSink, free_port
from tasks.mail.dispatch import backoff, dispatch_due
from tasks.mail.messages import message_id_for
from tasks.mail.outbox import Envelope, enqueue
from tasks.mail.render import RenderedEmail
from tasks.mail.smtp import SmtpConfig

AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)
TEXT = RenderedEmail(subject="Reminder", text="Please write.\n", html="<p>Please write.</p>")


def _enqueue(session: Session, key: str, to: str = "lead@bcc.example.org") -> OutboundEmail | None:
    envelope = Envelope(
        key=key, kind="reminder", from_addr="report@p.example.org", to=[to], reply_to="manager@p.example.org"
    )
    row = enqueue(session, envelope, TEXT, at=AT)
    session.commit()
    return row


def _dispatch(url: str, sink_port: int, at: dt.datetime = AT, worker: str = "w1", **kw):  # type: ignore[no-untyped-def]
    return dispatch_due(
        url,
        at=at,
        worker=worker,
        smtp=SmtpConfig("127.0.0.1", sink_port, timeout=5, envelope_from=kw.pop("bounce", None)),
        rng=random.Random(7),
        **kw,
    )


def test_same_key_twice_is_one_row_and_one_message(database_url: str, session: Session) -> None:
    assert _enqueue(session, "contribution:1:reminder-7d") is not None
    assert _enqueue(session, "contribution:1:reminder-7d") is None
    assert len(session.exec(select(OutboundEmail)).all()) == 1
    with MailSink() as sink:
        first = _dispatch(database_url, sink.port)
        second = _dispatch(database_url, sink.port)
    assert (first.sent, second.sent) == (1, 0)
    assert len(sink.received) == 1
    received = sink.received[0]
    assert received.message_id == message_id_for("contribution:1:reminder-7d", "report@p.example.org")
    assert received.message_id.endswith("@p.example.org>")
    row = session.exec(select(OutboundEmail)).one()
    session.refresh(row)
    assert (row.status, row.attempts, row.claimed_by) == (OutboxStatus.sent, 1, "w1")
    assert row.sent_at is not None and AT <= row.sent_at < AT + dt.timedelta(seconds=30)  # the run's clock moves on
    assert row.smtp_reply == "2.0.0 Message accepted"


def test_message_id_is_stable_and_distinct_per_key() -> None:
    a = message_id_for("contribution:1:request:contact:2", "x@p.example.org")
    assert a == message_id_for("contribution:1:request:contact:2", "x@p.example.org")
    assert a != message_id_for("contribution:1:request:contact:3", "x@p.example.org")


def test_refused_connection_is_retried_later_from_the_row(database_url: str, session: Session) -> None:
    _enqueue(session, "k1")
    dead_port = free_port()  # nothing listens here
    report = _dispatch(database_url, dead_port)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    row = session.exec(select(OutboundEmail)).one()
    session.refresh(row)
    assert row.status == OutboxStatus.queued and row.attempts == 1
    assert row.last_error and "Connect" in row.last_error
    wait = row.next_attempt_at - AT
    assert dt.timedelta(seconds=30) <= wait <= dt.timedelta(seconds=60)  # first backoff: 30-60 s
    # Not due yet: a dispatch a moment later leaves it alone; once due, it goes.
    with MailSink() as sink:
        assert _dispatch(database_url, sink.port, at=AT + dt.timedelta(seconds=10)).sent == 0
        assert _dispatch(database_url, sink.port, at=AT + dt.timedelta(minutes=2)).sent == 1
    assert len(sink.received) == 1


def test_a_temporary_failure_is_retried_for_the_queue_lifetime_then_failed(database_url: str, session: Session) -> None:
    _enqueue(session, "k1")
    dead_port = free_port()
    lifetime = dt.timedelta(hours=3)
    at = AT
    for _ in range(3):  # 0 h, 2 h: inside the lifetime, retried
        _dispatch(database_url, dead_port, at=at, lifetime=lifetime)
        row = session.exec(select(OutboundEmail)).one()
        session.refresh(row)
        assert row.status == (OutboxStatus.queued if at < AT + lifetime else OutboxStatus.failed)
        at += dt.timedelta(hours=2)
    assert (row.status, row.attempts) == (OutboxStatus.failed, 2)  # the third run found it past its lifetime
    assert row.first_attempt_at and row.first_attempt_at - AT < dt.timedelta(seconds=30)  # the lifetime's start
    assert row.last_error and "not delivered after 3 hours in the queue" in row.last_error


def test_refused_recipient_is_a_permanent_failure(database_url: str, session: Session) -> None:
    _enqueue(session, "k1", to="gone@bcc.example.org")
    with MailSink() as sink:
        sink.refuse.add("gone@bcc.example.org")
        report = _dispatch(database_url, sink.port)
    assert (report.sent, report.failed) == (0, 1)
    assert "gone@bcc.example.org: 550" in report.errors[0]
    row = session.exec(select(OutboundEmail)).one()
    session.refresh(row)
    assert row.status == OutboxStatus.failed and row.attempts == 1
    assert sink.received == []
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "email.failed")).one()
    assert audit.detail["to"] == ["gone@bcc.example.org"]


def test_two_dispatchers_at_once_send_each_row_once(database_url: str, session: Session) -> None:
    for n in range(20):
        _enqueue(session, f"key-{n}", to=f"lead{n}@bcc.example.org")
    with MailSink() as sink:
        threads = [
            threading.Thread(target=_dispatch, args=(database_url, sink.port), kwargs={"worker": name})
            for name in ("w1", "w2")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(f"lead{n}@bcc.example.org" for n in range(20))
    rows = session.exec(select(OutboundEmail)).all()
    assert all(r.status == OutboxStatus.sent and r.attempts == 1 for r in rows)


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    assert dt.timedelta(seconds=30) <= backoff(1, rng) <= dt.timedelta(seconds=60)
    assert dt.timedelta(seconds=120) <= backoff(3, rng) <= dt.timedelta(seconds=240)
    assert backoff(30, rng) <= dt.timedelta(hours=1)


def test_reply_to_is_the_business_manager_and_bounces_go_to_the_bounce_address(
    database_url: str, session: Session
) -> None:
    _enqueue(session, "k1")
    with MailSink() as sink:
        _dispatch(database_url, sink.port, bounce="bounces@p.example.org")
    (received,) = sink.received
    assert received.message["Reply-To"] == "manager@p.example.org"
    assert received.message["From"] == "report@p.example.org"
    assert received.mail_from == "bounces@p.example.org"
    assert received.message["Auto-Submitted"] == "auto-generated"


def test_451_then_250_is_retried_and_delivered_once(database_url: str, session: Session) -> None:
    _enqueue(session, "k1")
    with MailSink() as sink:
        sink.fail_next(1)  # 451 for the first attempt
        first = _dispatch(database_url, sink.port)
        assert (first.sent, first.retrying) == (0, 1)
        row = session.exec(select(OutboundEmail)).one()
        session.refresh(row)
        assert row.last_error and row.last_error.startswith("451")
        second = _dispatch(database_url, sink.port, at=AT + dt.timedelta(minutes=5))
    assert second.sent == 1 and len(sink.received) == 1
    session.refresh(row)
    assert (row.status, row.attempts) == (OutboxStatus.sent, 2)


def test_550_is_failed_at_once(database_url: str, session: Session) -> None:
    _enqueue(session, "k1")
    with MailSink() as sink:
        sink.fail_next(1, "550 5.7.1 Message rejected as spam")
        report = _dispatch(database_url, sink.port)
    assert (report.sent, report.failed, sink.received) == (0, 1, [])
    row = session.exec(select(OutboundEmail)).one()
    session.refresh(row)
    assert row.status == OutboxStatus.failed and row.last_error == "550 5.7.1 Message rejected as spam"


def test_server_down_for_the_first_part_of_a_run_then_up(database_url: str, session: Session) -> None:
    for n in range(30):
        _enqueue(session, f"key-{n}", to=f"lead{n}@bcc.example.org")
    port = free_port()
    down = _dispatch(database_url, port, limit=10)  # nothing listens: the first attempt fails, the run stops
    assert (down.sent, down.retrying, down.released) == (0, 1, 9) and down.unreachable
    rows = session.exec(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert [(r.status, r.attempts) for r in rows] == [("queued", 1)] + [("queued", 0)] * 29
    with MailSink(port=port) as sink:
        later = AT + dt.timedelta(hours=1)  # past every backoff
        up = _dispatch(database_url, port, at=later)
        assert _dispatch(database_url, port, at=later + dt.timedelta(hours=1)).sent == 0
    assert up.sent == 30
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(f"lead{n}@bcc.example.org" for n in range(30))


def test_a_row_left_sending_by_a_crash_is_reclaimed_after_the_lease(database_url: str, session: Session) -> None:
    from tasks.mail.dispatch import LEASE, claim_batch

    _enqueue(session, "k1")
    assert claim_batch(session, at=AT, worker="dead", limit=5) != []
    session.commit()  # the worker died here, after its claim, before or after the SMTP call
    with MailSink() as sink:
        early = _dispatch(database_url, sink.port, at=AT + LEASE - dt.timedelta(minutes=1))
        assert (early.reclaimed, early.sent) == (0, 0)  # still within the lease: not touched
        late = _dispatch(database_url, sink.port, at=AT + LEASE + dt.timedelta(minutes=1))
    assert (late.reclaimed, late.sent, len(sink.received)) == (1, 1, 1)
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "email.reclaimed")).one()
    assert audit.detail["previous_worker"] == "dead"


def test_a_sent_request_keeps_no_usable_link_but_the_agency_got_it(database_url: str, session: Session) -> None:
    import re

    from tasks.links.tokens import check_link
    from tests.helpers import local, open_example_cycle

    tokens = open_example_cycle(session)  # read from the queued rows, before sending
    at = local("2019-04-15", "09:05")
    with MailSink() as sink:
        dispatch_due(database_url, at=at, worker="t", smtp=SmtpConfig(sink.host, sink.port))
        delivered = {
            m.rcpt_tos[0]: m.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            for m in sink.received
        }
    session.expire_all()
    rows = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    assert rows and all(r.status == OutboxStatus.sent for r in rows)
    link = re.compile(r"/c/[A-Za-z0-9_-]{43}")
    for row in rows:
        assert not link.search(row.text_body) and not link.search(row.html_body)
        assert "/c/[personal link, sent and not kept]" in row.text_body
        address = row.to_addrs[0]
        # the person received the working link, and it still works
        assert f"/c/{tokens[address]}" in delivered[address]
        assert check_link(session, tokens[address], at=at).problem is None
