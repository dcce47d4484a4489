"""Distribution: when each recipient's publication notice was sent, and the national bodies' deadline tracked
in the business manager's digest every working day until it is met."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from models.outbox import OutboundEmail
from models.report import Publication
from models.store import find_cycle
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tasks.mail.dispatch import dispatch_due
from tasks.mail.outbox_admin import retry
from tasks.mail.smtp import SmtpConfig
from tasks.report.distribution import distribution, track_all, track_distribution
from tasks.report.publish import _notify
from tests.helpers import flat, local, open_example_cycle

PANEL = "panel@cspr-panel.example.org"
WHAT_WORKS = "reports@whatworks-csc.example.org"


def _digests(session: Session) -> list[str]:
    rows = session.exec(
        select(OutboundEmail).where(OutboundEmail.kind == "digest").order_by(col(OutboundEmail.id))
    ).all()
    return [r.text_body for r in rows]


def test_national_bodies_are_chased_in_the_digest_until_they_have_the_report(session: Session) -> None:
    s = get_settings()
    open_example_cycle(session)
    cycle = find_cycle(session)
    published = local("2019-07-01", "10:00")  # a Monday
    publication = Publication(cycle_id=cycle.id or 0, draft_number=1, files=[], frozen_at=published)
    session.add(publication)
    session.flush()
    _notify(session, cycle, publication, at=published, templates_dir=s.templates_dir, site_url="https://x.org/site")
    session.commit()

    with MailSink() as sink:
        sink.refuse.add(WHAT_WORKS)
        dispatch_due(
            s.database_url,
            at=local("2019-07-01", "10:05"),
            worker="t",
            smtp=_smtp(sink),
        )
    session.expire_all()
    found = distribution(session, cycle)
    assert (found.published_on, found.national_due) == (dt.date(2019, 7, 1), dt.date(2019, 7, 8))
    national = {d.email: (d.status, d.sent_at is not None) for d in found.deliveries if d.national}
    assert national == {PANEL: ("sent", True), WHAT_WORKS: ("failed", False)}
    statutory = [d.email for d in found.deliveries if d.role != "partner"]
    assert len(statutory) == 7 and all(d.status == "sent" for d in found.deliveries if d.email != WHAT_WORKS)

    # Tuesday: one digest, however often the day's run happens
    tuesday = local("2019-07-02", "09:30")
    lines = track_distribution(session, cycle, at=tuesday, templates_dir=s.templates_dir)
    track_distribution(session, cycle, at=local("2019-07-02", "15:00"), templates_dir=s.templates_dir)
    session.commit()
    assert lines == [
        "The report must reach the national bodies by Monday 8 July 2019; still waiting: What Works Centre for "
        "Children's Social Care (failed: reports@whatworks-csc.example.org: 550 5.1.1 mailbox "
        "unavailable). Sent: Child Safeguarding Practice "
        "Review Panel (1 Jul)."
    ]
    assert len(_digests(session)) == 1 and "still waiting: What Works Centre" in flat(_digests(session)[0])
    # Wednesday, through the sweep the daily chase runs over every published cycle
    cycle.status = "published"
    session.add(cycle)
    wednesday = track_all(session, at=local("2019-07-03", "09:30"), templates_dir=s.templates_dir)
    session.commit()
    assert list(wednesday) == ["bscb 2018/19"] and wednesday["bscb 2018/19"] == lines
    assert len(_digests(session)) == 2
    # Saturday: no digest
    assert track_distribution(session, cycle, at=local("2019-07-06", "09:30"), templates_dir=s.templates_dir) == []

    # the operator retries the failed notice; once it is sent, the digest stops
    row = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "published")).all()
    failed = next(r for r in row if r.to_addrs == [WHAT_WORKS])
    retry(session, failed.id or 0, at=local("2019-07-08", "09:00"), actor="bm")
    session.commit()
    with MailSink() as sink:
        dispatch_due(s.database_url, at=local("2019-07-08", "09:01"), worker="t", smtp=_smtp(sink))
        # Tuesday's digest to the business manager goes too
        bm = ("morgan.ellery@bscb.example.org",)
        assert sorted(m.rcpt_tos for m in sink.received) == [bm, bm, (WHAT_WORKS,)]
    session.expire_all()
    assert distribution(session, cycle).national_met
    assert track_distribution(session, cycle, at=local("2019-07-08", "09:30"), templates_dir=s.templates_dir) == []
    assert track_all(session, at=local("2019-07-09", "09:30"), templates_dir=s.templates_dir) == {}
    assert len(_digests(session)) == 2


def _smtp(sink: MailSink) -> SmtpConfig:
    return SmtpConfig(sink.host, sink.port)
