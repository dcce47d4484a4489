"""The outbox for operators: what shows as stuck when, retry and cancel, each audited; a retried email really goes."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.db import engine_for
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership_file import parse
from models.store import find_cycle, load_partnership
from reportcycle.mailsink import MailSink
from tasks.mail.dispatch import claim_batch, dispatch_due
from tasks.mail.messages import message_id_for
from tasks.mail.outbox import Envelope, enqueue
from tasks.mail.outbox_admin import OutboxAdminError, cancel, list_outbox, retry
from tasks.mail.render import RenderedEmail
from tasks.mail.smtp import SmtpConfig
from tests.conftest import EXAMPLE

AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
FROM = "report@p.example.org"
TEXT = RenderedEmail(subject="Reminder", text="Please write.\n", html="<p>Please write.</p>")


def _dispatch(url: str, port: int, at: dt.datetime) -> tuple[int, int]:
    report = dispatch_due(url, at=at, worker="w1", smtp=SmtpConfig("127.0.0.1", port, timeout=5), rng=random.Random(7))
    return report.sent, report.failed


def _enqueue(session: Session, key: str, **kw: object) -> int:
    status = kw.pop("status", OutboxStatus.queued)
    envelope = Envelope(key=key, kind="reminder", from_addr=FROM, to=[f"{key}@bcc.example.org"], **kw)  # type: ignore[arg-type]
    row = enqueue(session, envelope, TEXT, at=AT, status=status)  # type: ignore[arg-type]
    session.commit()
    assert row is not None and row.id is not None
    return row.id


@pytest.fixture
def outbox(database_url: str, session: Session) -> dict[str, int]:
    """Seven messages, one per state, made by the real paths: dispatch, claims, the chase's statuses.

    k4 failed (550) and k5 sent at 08:30; k2 claimed at 08:30 by a dispatcher that died; k3 claimed
    at 08:40 by one still working; k1 queued, for the example cycle; k6 held; k7 superseded.
    """
    load_partnership(session, parse(EXAMPLE), at=AT, actor="t")
    session.commit()
    ids = {"k4": _enqueue(session, "k4"), "k5": _enqueue(session, "k5")}
    with MailSink() as sink:
        sink.refuse.add("k4@bcc.example.org")
        assert _dispatch(database_url, sink.port, AT) == (1, 1)
    ids["k2"] = _enqueue(session, "k2")
    assert claim_batch(session, at=AT, worker="dead", limit=1) == [ids["k2"]]
    session.commit()
    ids["k3"] = _enqueue(session, "k3")
    assert claim_batch(session, at=AT + 10 * MINUTE, worker="alive", limit=1) == [ids["k3"]]
    session.commit()
    ids["k1"] = _enqueue(session, "k1", cycle_id=find_cycle(session).id)
    ids["k6"] = _enqueue(session, "k6", status=OutboxStatus.held)
    ids["k7"] = _enqueue(session, "k7", status=OutboxStatus.superseded)
    return ids


def _listed(session: Session, ids: dict[str, int], at: dt.datetime, **kw: object) -> list[tuple[str, str]]:
    key_of = {v: k for k, v in ids.items()}
    return [(key_of[line.id], line.state) for line in list_outbox(session, at=at, **kw)]  # type: ignore[arg-type]


def _row(session: Session, email_id: int) -> OutboundEmail:
    session.expire_all()
    row = session.get(OutboundEmail, email_id)
    assert row is not None
    return row


def _admin_audit(session: Session) -> list[tuple[str, str, str, str]]:
    session.expire_all()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action.in_(["email.retry", "email.cancel"])).order_by(AuditEvent.id)  # type: ignore[attr-defined]
    ).all()
    return [(e.actor, e.action, e.subject, e.detail["was"]) for e in events]


def test_stuck_means_sending_past_the_lease(session: Session, outbox: dict[str, int]) -> None:
    # 08:50: k2's claim (08:30) is 20 minutes old, past the 15-minute lease; k3's (08:40) is 10.
    assert _listed(session, outbox, AT + 20 * MINUTE) == [("k4", "failed"), ("k2", "stuck"), ("k1", "queued")]
    assert _listed(session, outbox, AT + 20 * MINUTE, states=["sending"]) == [("k3", "sending")]
    # 08:56: k3's claim is 16 minutes old: stuck too.
    assert _listed(session, outbox, AT + 26 * MINUTE) == [
        ("k4", "failed"),
        ("k2", "stuck"),
        ("k3", "stuck"),
        ("k1", "queued"),
    ]
    assert _listed(session, outbox, AT + 26 * MINUTE, states=["sending"]) == []
    assert _listed(session, outbox, AT, states=["held", "superseded", "sent"]) == [
        ("k5", "sent"),
        ("k6", "held"),
        ("k7", "superseded"),
    ]
    assert _listed(session, outbox, AT + 20 * MINUTE, cycle_id=find_cycle(session).id) == [("k1", "queued")]
    with pytest.raises(OutboxAdminError, match="unknown status lost; choose from queued, sending, sent, failed"):
        list_outbox(session, at=AT, states=["failed", "lost"])


def test_retry_puts_failed_and_stuck_back_and_they_really_go(
    database_url: str, session: Session, outbox: dict[str, int]
) -> None:
    at = AT + 20 * MINUTE
    retry(session, outbox["k4"], at=at, actor="cli:ann")
    retry(session, outbox["k2"], at=at, actor="manager@p.example.org")
    session.commit()
    k4 = _row(session, outbox["k4"])
    assert (k4.status, k4.attempts, k4.next_attempt_at) == ("queued", 0, at)
    assert (_row(session, outbox["k2"]).status, _row(session, outbox["k2"]).attempts) == ("queued", 0)
    assert _admin_audit(session) == [
        ("cli:ann", "email.retry", f"email:{outbox['k4']}", "failed"),
        ("manager@p.example.org", "email.retry", f"email:{outbox['k2']}", "stuck"),
    ]
    event = session.exec(select(AuditEvent).where(AuditEvent.subject == f"email:{outbox['k4']}")).all()[-1]
    assert event.detail["attempts_before"] == 1
    assert event.detail["last_error"] == "k4@bcc.example.org: 550 5.1.1 mailbox unavailable"

    with MailSink() as sink:  # the recipient is accepted now
        assert _dispatch(database_url, sink.port, at) == (3, 0)
    assert sorted(r.message_id for r in sink.received) == sorted(message_id_for(k, FROM) for k in ("k1", "k2", "k4"))
    assert _row(session, outbox["k4"]).status == "sent"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("k1", r"cannot retry email \d+ \(reminder to k1@bcc.example.org\): it is already queued for 2019-05-13 08:30"),
        ("k5", "it was sent at 2019-05-13 08:30 UTC; to retry it now would send it twice"),
        ("k3", "it is being sent by alive since 08:40 UTC; .* counts as stuck after 2019-05-13 08:55 UTC"),
        ("k6", "it is an escalation held for the business manager; `reportcycle confirm-escalation AGENCY`"),
        ("k7", "it was superseded by a later step of the chase ladder and is never sent"),
    ],
)
def test_retry_refused_where_it_makes_no_sense(
    session: Session, outbox: dict[str, int], key: str, message: str
) -> None:
    before = _row(session, outbox[key]).status
    with pytest.raises(OutboxAdminError, match=message):
        retry(session, outbox[key], at=AT + 20 * MINUTE, actor="cli:ann")
    session.commit()
    assert _row(session, outbox[key]).status == before
    assert _admin_audit(session) == []


def test_unknown_id_is_refused(session: Session, outbox: dict[str, int]) -> None:
    for action in (retry, cancel):
        with pytest.raises(OutboxAdminError, match="no email 999 in the outbox; `reportcycle outbox` lists them"):
            action(session, 999, at=AT, actor="cli:ann")


def test_cancel_stops_a_message_for_good(database_url: str, session: Session, outbox: dict[str, int]) -> None:
    at = AT + 20 * MINUTE
    cancel(session, outbox["k1"], at=at, actor="cli:ann", reason="the agency left the partnership")
    cancel(session, outbox["k6"], at=at, actor="cli:ann")
    session.commit()
    assert (_row(session, outbox["k1"]).status, _row(session, outbox["k6"]).status) == ("cancelled", "cancelled")
    assert _admin_audit(session) == [
        ("cli:ann", "email.cancel", f"email:{outbox['k1']}", "queued"),
        ("cli:ann", "email.cancel", f"email:{outbox['k6']}", "held"),
    ]
    for key, message in [
        ("k1", "it was cancelled and is never sent"),
        ("k5", "cannot cancel .*: it was sent at 2019-05-13 08:30 UTC; to cancel it now would change nothing"),
        ("k3", "cannot cancel .*: it is being sent by alive"),
    ]:
        with pytest.raises(OutboxAdminError, match=message):
            cancel(session, outbox[key], at=at, actor="cli:ann")
    with pytest.raises(OutboxAdminError, match="it was cancelled and is never sent"):
        retry(session, outbox["k1"], at=at, actor="cli:ann")
    with MailSink() as sink:  # k1 was due; only k2, stuck since 08:30, is reclaimed and goes
        assert _dispatch(database_url, sink.port, at) == (1, 0)
    assert [r.message_id for r in sink.received] == [message_id_for("k2", FROM)]


def test_a_message_claimed_meanwhile_is_not_changed(
    database_url: str, session: Session, outbox: dict[str, int]
) -> None:
    retry_session = Session(engine_for(database_url), expire_on_commit=False)
    seen = retry_session.get(OutboundEmail, outbox["k1"])  # the desk read it as queued, and holds it
    assert seen is not None and seen.status == "queued"
    retry_session.commit()
    assert claim_batch(session, at=AT + 20 * MINUTE, worker="w2", limit=5) == [outbox["k1"]]
    session.commit()  # meanwhile a dispatcher claimed it
    with pytest.raises(OutboxAdminError, match=r"email \d+ changed while you asked \(it is now sending\)"):
        cancel(retry_session, outbox["k1"], at=AT + 20 * MINUTE, actor="cli:ann")
    retry_session.rollback()
    retry_session.close()
    assert _row(session, outbox["k1"]).status == "sending"
