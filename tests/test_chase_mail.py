"""The calendar entry (.ics), the business manager's digest, held escalations, the emails' wording."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import icalendar
from sqlmodel import Session, select

from models.outbox import OutboundEmail, OutboxStatus
from models.partnership_file import parse
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle
from tasks.asking.cycle_open import open_cycle
from tasks.desk.desk import confirm_escalation, extend
from tasks.mail.dispatch import dispatch_due
from tasks.mail.smtp import SmtpConfig
from tests.conftest import EXAMPLE, SECOND
from tests.helpers import flat, local

LONDON = ZoneInfo("Europe/London")


def _open(session: Session, path=EXAMPLE, day: str = "2019-04-15"):  # type: ignore[no-untyped-def]
    s = get_settings()
    load_partnership(session, parse(path), at=local(day, "08:00"), actor="t")
    cycle = find_cycle(session)
    open_cycle(
        session,
        cycle,
        at=local(day, "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=30,
        templates_dir=s.templates_dir,
    )
    session.commit()
    return cycle


def _ics(row: OutboundEmail) -> icalendar.Calendar:
    (attachment,) = row.attachments
    assert attachment["filename"] == "deadline.ics" and attachment["method"] == "REQUEST"
    return icalendar.Calendar.from_ical(attachment["content"])


def test_request_carries_a_calendar_entry_and_an_extension_updates_it(session: Session) -> None:
    cycle = _open(session)
    agency = find_agency(session, cycle, "nps")
    contribution = contribution_for(session, cycle, agency)
    requests = session.exec(
        select(OutboundEmail).where(OutboundEmail.contribution_id == contribution.id, OutboundEmail.kind == "request")
    ).all()
    assert len(requests) == 2  # lead and deputy
    cal = _ics(requests[0])
    assert cal["METHOD"] == "REQUEST"
    (tz,) = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Europe/London"
    assert {c.name for c in tz.subcomponents} == {"STANDARD", "DAYLIGHT"}
    (event,) = cal.walk("VEVENT")
    uid = f"contribution-{contribution.id}-cycle-{cycle.id}@bscb.example.org"
    assert str(event["UID"]) == uid
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTEND") == dt.datetime(2019, 5, 20, 17, 0, tzinfo=LONDON)
    assert event["DTEND"].params["TZID"] == "Europe/London"
    spec = parse(EXAMPLE)
    # the organizer is the sender, as calendar clients check before they update an entry
    assert str(event["ORGANIZER"]) == f"mailto:{spec.partnership.from_address}"
    assert event["ORGANIZER"].params["CN"] == "Birmingham Safeguarding Children Board"
    assert requests[0].from_addr == "Birmingham Safeguarding Children Board <annual-report@bscb.example.org>"
    assert str(event["ATTENDEE"]) == f"mailto:{requests[0].to_addrs[0]}"
    assert event.decoded("DTSTAMP") == local("2019-04-15", "09:00")

    s = get_settings()
    extend(
        session,
        cycle,
        contribution,
        dt.date(2019, 6, 3),
        at=local("2019-05-14", "10:00"),
        actor="bm",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    update = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "extension")).one()
    assert len(update.to_addrs) == 2
    assert update.subject == "Extension agreed: your Annual Report 2018/19 contribution is now due Mon 3 Jun"
    assert "now due by 17:00 on Monday 3 June 2019 (it was due on Monday 20 May 2019)" in flat(update.text_body)
    (event,) = _ics(update).walk("VEVENT")
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTEND") == dt.datetime(2019, 6, 3, 17, 0, tzinfo=LONDON)
    assert len(event["ATTENDEE"]) == 2


def test_reminder_subject_says_when(session: Session) -> None:
    cycle = _open(session)
    s = get_settings()
    chase_cycle(
        session, cycle, at=local("2019-05-13"), actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir
    )
    subjects = {r.subject for r in session.exec(select(OutboundEmail).where(OutboundEmail.kind == "reminder"))}
    # what and when first, under 80 characters; the agency is the reader, so its name is not repeated
    assert subjects == {"Reminder: your Annual Report 2018/19 contribution is due Mon 20 May"}


def test_held_escalation_waits_for_the_business_manager_and_the_digest_says_so(session: Session) -> None:
    s = get_settings()
    cycle = _open(session, SECOND, "2026-04-20")
    cycle.reminder_policy = {**cycle.reminder_policy, "escalation_needs_confirmation": True}
    session.add(cycle)
    session.commit()
    rha = find_agency(session, cycle, "rha")
    with MailSink() as sink:
        smtp = SmtpConfig(sink.host, sink.port)
        sink.refuse.add("piotr.zawadzki@riverside-housing.example.net")  # rha's deputy: refused for good

        def run(day: str) -> None:
            chase_cycle(
                session, cycle, at=local(day), actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir
            )
            session.commit()
            dispatch_due(s.database_url, at=local(day), worker="w", smtp=smtp, rng=random.Random(1))

        run("2026-04-20")  # the requests
        run("2026-06-11")  # 4 working days after Friday 5 June: escalation day
        escalations = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "escalation")).all()
        assert {r.status for r in escalations} == {OutboxStatus.held}
        assert not any(r.kind == "escalation" for r in sink.received)
        digest = next(r for r in sink.received if r.kind == "digest" and "2026-06-11" in _day(r))
        body = digest.message.get_body(("plain",)).get_content()
        assert "Escalations waiting for your confirmation" in body
        assert "Emails that could not be delivered" in body and "piotr.zawadzki" in body
        assert "Riverside Housing Association: overdue, due Fri 5 Jun 12:00 (6 days late), 0 chasers sent" in flat(
            body
        )  # this run's are not sent yet
        assert (
            str(digest.message["Subject"])
            == "Chase, Thu 11 Jun: 25 actions, 5 overdue, 1 email failed, 5 escalations held"
        )

        confirm_escalation(
            session, cycle, contribution_for(session, cycle, rha), at=local("2026-06-11", "11:00"), actor="bm"
        )
        session.commit()
        dispatch_due(s.database_url, at=local("2026-06-11", "11:00"), worker="w", smtp=smtp)
    sent = [r for r in sink.received if r.kind == "escalation"]
    assert [str(r.message["To"]) for r in sent] == ["marian.goodhew@riverside-housing.example.net"]


def _day(received) -> str:  # type: ignore[no-untyped-def]
    from tests.helpers import local_date

    return local_date(received)


def test_opening_warns_when_the_deadline_is_not_a_working_day(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = SECOND.read_text(encoding="utf-8").replace(
        "contributions_due = 2026-06-05", "contributions_due = 2026-05-25"
    )
    path = tmp_path / "holiday.toml"
    path.write_text(text, encoding="utf-8")
    s = get_settings()
    load_partnership(session, parse(path), at=local("2026-04-01"), actor="t")
    report = open_cycle(
        session,
        find_cycle(session),
        at=local("2026-04-20", "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=30,
        templates_dir=s.templates_dir,
    )
    assert report.warnings == [
        "the deadline Monday 25 May 2026 is not a working day (Spring Bank Holiday); "
        "consider moving it to a working day"
    ]
