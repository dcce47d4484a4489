"""The made-up second partnership through the same flows, with a chase outage."""

from __future__ import annotations

from sqlmodel import Session, select

from flows.chase import chase_flow
from flows.open_cycle import open_cycle_flow
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership_file import parse
from models.store import load_partnership
from reportcycle.mailsink import MailSink
from tests.conftest import SECOND
from tests.helpers import expand, local, received_table

# contacts live at these domains (the part before .example.net)
AGENCIES = "rbc riverside-police riverside-ambulance riverside-housing riverside-icb"


def test_riverside_after_an_outage_sends_only_the_latest_step(
    prefect: None, database_url: str, mail: MailSink, session: Session
) -> None:
    # Riverside: deadline Friday 5 June 2026 at 12:00; reminders 10 and 3 days before; window 08:30-16:30.
    load_partnership(session, parse(SECOND), at=local("2026-04-01"), actor="test")
    session.commit()
    opened = open_cycle_flow(at=local("2026-04-20", "08:45"))
    assert opened.warnings == []
    # 08:45 is inside Riverside's window (it opens at 08:30), so requests go at once.
    # The chase did not run between 20 April and 3 June: the 10-day reminder (26 May) was missed.
    report = chase_flow(at=local("2026-06-03", "08:40"))
    assert sorted(e.note for e in report.emails) == ["reminder-3d"] * 5
    assert sorted(e.note for e in report.superseded) == ["reminder-10d"] * 5
    # Before the window opens, nothing goes.
    early = chase_flow(at=local("2026-06-08", "08:00"))
    assert early.skipped_because == "08:00 is outside the send window 08:30-16:30"
    chase_flow(at=local("2026-06-08", "09:00"))  # first working day after the deadline

    assert received_table(mail) == expand(
        [
            ("2026-04-20", "request", " ".join(f"{a}*2" for a in AGENCIES.split())),
            ("2026-06-03", "reminder", AGENCIES),
            ("2026-06-08", "overdue", AGENCIES),
            ("2026-06-03", "digest", "riverside-sab"),
            ("2026-06-08", "digest", "riverside-sab"),
        ]
    )
    superseded = session.exec(select(OutboundEmail).where(OutboundEmail.status == OutboxStatus.superseded)).all()
    assert len(superseded) == 5 and all(r.attempts == 0 and r.sent_at is None for r in superseded)
    # The brief's own section names reach the request email.
    request = next(r for r in mail.received if r.kind == "request")
    body = request.message.get_body(("plain",)).get_content()
    assert "What we did as a member" in body and "Our commitments for next year" in body
    assert "12:00 on Friday 5 June 2026" in body
