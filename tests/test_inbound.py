"""Issue 17: agencies answer by replying. Realistic messages put in a real IMAP server (dovecot) with APPEND,
read by `read_mailbox`, each ending in its effect; reading the mailbox again changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.inbound import InboundMessage
from models.outbox import OutboundEmail
from models.partnership import Contact
from models.store import find_cycle
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle, next_due
from tasks.inbound.read import InboundReport, read_mailbox
from tasks.mail.messages import tagged_address
from tests import inbound_messages as m
from tests.dovecot import Dovecot
from tests.helpers import flat, local, open_example_cycle

LEAD, DEPUTY = "gareth.millward@nps.example.org", "amira.latchford@nps.example.org"
MAILBOX = "annual-report@bscb.example.org"
READ_AT = local("2019-05-14", "10:30")


def _request(session: Session, to: str) -> OutboundEmail:
    row = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    (found,) = [r for r in row if r.to_addrs == [to]]
    return found


def _read(database_url: str, at: dt.datetime = READ_AT, **kw) -> InboundReport:  # type: ignore[no-untyped-def]
    s = get_settings()
    config = s.inbound_config()
    assert config is not None
    return read_mailbox(
        database_url, config, at=at, actor="inbound", templates_dir=s.templates_dir, base_url=s.public_base_url, **kw
    )


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _contact(session: Session, email: str) -> Contact:
    contact = session.exec(select(Contact).where(Contact.email == email)).one()
    session.refresh(contact)
    return contact


@pytest.fixture
def opened(database_url: str, session: Session, imap: Dovecot) -> tuple[OutboundEmail, OutboundEmail]:
    """The example cycle opened: the NPS lead's and deputy's requests, each with its tag."""
    open_example_cycle(session)
    return _request(session, LEAD), _request(session, DEPUTY)


def test_a_plain_reply_reaches_the_timeline_and_the_business_manager_without_its_quoted_history(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    imap.deliver(m.outlook_plain_reply(reply_to, lead_request.message_id, LEAD, "Gareth Millward"))

    report = _read(database_url)

    assert (report.applied, report.needs_person, report.already) == (1, 0, 0)
    assert report.lines == ["National Probation Service: reply from gareth.millward@nps.example.org forwarded to "
                            "the business manager"]  # fmt: skip
    (event,) = _events(session, "inbound.reply")
    assert event.detail["text"] == "We will send it on Friday – it is with our Chief Officer for sign-off.\n\nGareth"
    assert event.subject == f"contribution:{lead_request.contribution_id}"
    forward = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).one()
    assert forward.to_addrs == ["morgan.ellery@bscb.example.org"]
    assert forward.reply_to == LEAD and forward.reply_tag is None  # the manager's answer goes to the agency
    # what and when first; the email they answered is named in the text
    assert forward.subject == "National Probation Service replied (requested, due Monday 20 May 2019)"
    assert "We will send it on Friday" in forward.text_body and "Sent: 13 May 2019" not in forward.text_body
    assert imap.uids("INBOX") == [] and len(imap.uids("Processed")) == 1

    again = _read(database_url)  # the mailbox read twice changes nothing
    assert (again.applied, again.needs_person, again.already) == (0, 0, 0)
    assert len(_events(session, "inbound.reply")) == 1
    assert len(session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).all()) == 1


def _chase_next(session: Session, after: dt.date) -> tuple[dt.date, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    """Run the chase on the next day something is due: (that day, the NPS chasers' (To, Cc))."""
    s = get_settings()
    cycle = find_cycle(session)
    day = next_due(session, cycle, after)
    assert day is not None
    report = chase_cycle(
        session,
        cycle,
        at=local(day.isoformat(), "09:30"),
        actor="t",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    return day, [(e.to, e.cc) for e in report.emails if e.agency == "nps"]


def test_a_postfix_bounce_marks_the_address_undeliverable_and_the_next_chaser_goes_to_the_deputy(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    imap.deliver(m.postfix_dsn(tagged_address(MAILBOX, lead_request.reply_tag or ""), lead_request.message_id, LEAD))

    report = _read(database_url)

    assert (report.applied, report.needs_person) == (1, 0)
    words = (
        "550 5.1.1 <gareth.millward@nps.example.org>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    assert report.lines == [f"National Probation Service: {LEAD} ({words}) bounced; marked undeliverable"]
    session.refresh(lead_request)
    assert lead_request.deliveries[LEAD] == {
        "state": "failed",
        "reply": f"{words} (returned by their mail server after our relay took it)",
        "at": READ_AT.isoformat(),
    }
    assert lead_request.refused == 1
    assert _contact(session, LEAD).undeliverable == f"bounced on Tuesday 14 May 2019: {words}"
    assert _contact(session, DEPUTY).undeliverable is None
    (event,) = _events(session, "inbound.bounce")
    assert event.subject == f"contribution:{lead_request.contribution_id}" and event.detail["addresses"] == [LEAD]

    _, chasers = _chase_next(session, READ_AT.date())
    assert chasers == [((DEPUTY,), ())]
    digest = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "digest")).one()
    assert flat(
        f"Emails that could not be delivered:\n- request to {LEAD}: {LEAD}: {words} (returned by their mail server "
        "after our relay took it)"
    ) in flat(digest.text_body)  # the business manager's digest says so
    assert _read(database_url).applied == 0 and len(_events(session, "inbound.bounce")) == 1


def test_an_exchange_automatic_reply_with_a_return_date_puts_the_deputy_first_until_then(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    imap.deliver(m.exchange_automatic_reply(reply_to, lead_request.message_id, LEAD, "Gareth Millward"))

    report = _read(database_url)

    assert report.lines == [
        "National Probation Service: gareth.millward@nps.example.org is away until Monday 20 May 2019"
    ]
    assert _contact(session, LEAD).away_until == dt.date(2019, 5, 20)
    (event,) = _events(session, "inbound.auto_reply")
    assert event.detail["until"] == "2019-05-20" and event.actor == LEAD
    assert session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).all() == []  # no answer
    _, chasers = _chase_next(session, READ_AT.date())
    assert chasers == [((DEPUTY,), (LEAD,))]


def test_a_gmail_vacation_reply_without_a_date_counts_as_a_week_away(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    _, deputy_request = opened
    imap.deliver(m.gmail_vacation_reply(tagged_address(MAILBOX, deputy_request.reply_tag or ""), DEPUTY, "Amira"))

    report = _read(database_url)

    assert report.lines == [
        "National Probation Service: amira.latchford@nps.example.org is away until Tuesday 21 May 2019"
    ]
    assert _contact(session, DEPUTY).away_until == dt.date(2019, 5, 21)
    assert _contact(session, LEAD).away_until is None


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("forged", "it comes from gareth.millward@nps-example.net, who is not a contact of National Probation Service"),
        ("unrelated", "it answers none of our emails"),
    ],
)
def test_forged_or_unmatched_mail_goes_to_a_person_and_changes_nothing(
    database_url: str,
    session: Session,
    imap: Dovecot,
    opened: tuple[OutboundEmail, OutboundEmail],
    message: str,
    why: str,
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    raw = m.forged_reply(reply_to, lead_request.message_id) if message == "forged" else m.unrelated(MAILBOX)
    imap.deliver(raw)
    emails_before = len(session.exec(select(OutboundEmail)).all())

    report = _read(database_url)

    assert (report.applied, report.needs_person) == (0, 1)
    assert report.lines == [f"for a person: {why}"]
    (row,) = session.exec(select(InboundMessage)).all()
    assert (row.outcome, row.why) == ("needs_person", why)
    assert len(session.exec(select(OutboundEmail)).all()) == emails_before
    assert _events(session, "inbound.reply") == []
    assert imap.uids("INBOX") == [] and imap.uids("Processed") == [] and len(imap.uids("Needs a person")) == 1


def test_a_crash_between_the_record_and_the_filing_acts_once(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    imap.deliver(m.outlook_plain_reply(reply_to, lead_request.message_id, LEAD, "Gareth Millward"))

    def crash(phase: str, uid: int) -> None:
        if phase == "recorded":
            raise KeyboardInterrupt("killed after the commit, before the message was filed")

    with pytest.raises(KeyboardInterrupt):
        _read(database_url, observe=crash)
    assert len(imap.uids("INBOX")) == 1  # still there

    again = _read(database_url)

    assert (again.applied, again.already) == (0, 1)
    assert imap.uids("INBOX") == [] and len(imap.uids("Processed")) == 1
    assert len(session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).all()) == 1


def test_the_same_message_delivered_twice_is_acted_on_once(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    raw = m.outlook_plain_reply(reply_to, lead_request.message_id, LEAD, "Gareth Millward")
    imap.deliver(raw)
    imap.deliver(raw)

    report = _read(database_url)

    assert (report.applied, report.already) == (1, 1)
    assert len(_events(session, "inbound.reply")) == 1


def test_a_reply_in_the_thread_but_without_the_tag_is_matched_by_in_reply_to(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    imap.deliver(m.outlook_plain_reply(MAILBOX, lead_request.message_id, LEAD, "Gareth Millward"))

    assert _read(database_url).applied == 1
    (row,) = session.exec(select(InboundMessage)).all()
    assert (row.kind, row.outbound_email_id) == ("reply", lead_request.id)


def test_a_stopped_mailbox_loses_nothing_and_is_caught_up_when_it_returns(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    imap.deliver(m.outlook_plain_reply(reply_to, lead_request.message_id, LEAD, "Gareth Millward"))
    imap.stop()

    down = _read(database_url)

    assert down.unreachable is not None and down.unreachable.startswith(f"127.0.0.1:{imap.port}: ")
    assert down.summary.endswith("; its messages wait there")
    assert session.exec(select(InboundMessage)).all() == []
    imap.start()
    back = _read(database_url)
    assert (back.applied, back.unreachable) == (1, None)


def test_status_health_and_the_command_say_in_one_line_when_the_mailbox_is_down(
    prefect: None, database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    from typer.testing import CliRunner

    from reportcycle.cli import app
    from tasks.ops.health import health

    lead_request, _ = opened
    imap.deliver(m.outlook_plain_reply(MAILBOX, lead_request.message_id, LEAD, "Gareth Millward"))
    assert health(get_settings(), READ_AT).checks["mailbox"] == "ok"
    imap.stop()

    verdict = health(get_settings(), READ_AT).checks["mailbox"]
    assert verdict.startswith(f"failing: 127.0.0.1:{imap.port}: ConnectionRefusedError")
    assert verdict.endswith("; replies wait there and are read when it answers") and "\n" not in verdict
    status = CliRunner().invoke(app, ["--at", "2019-05-14T10:30+01:00", "status"])
    assert status.exit_code == 1
    assert f"mailbox: {verdict}" in " ".join(status.output.split())  # one line, which the terminal may wrap
    down = CliRunner().invoke(app, ["--at", "2019-05-14T10:30+01:00", "inbound"])
    assert down.exit_code == 1 and "Traceback" not in down.output
    assert "the mailbox could not be read (127.0.0.1:" in " ".join(down.output.split())

    imap.start()
    up = CliRunner().invoke(app, ["--at", "2019-05-14T10:30+01:00", "inbound"])
    assert up.exit_code == 0, up.output
    said = " ".join(up.output.split())
    assert said.endswith(
        "acted on 1, for a person 0, nothing to do 0 "
        "National Probation Service: reply from gareth.millward@nps.example.org forwarded to the business manager"
    )


def test_the_command_says_how_to_configure_inbound_mail_when_it_is_not(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from reportcycle.cli import app

    result = CliRunner().invoke(app, ["inbound"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert " ".join(result.output.split()).endswith(
        "inbound mail is not configured: set REPORTCYCLE_INBOUND_ADDRESS, _HOST, _USER and _PASSWORD "
        "(or _OAUTH2_TOKEN) (see README, Inbound mail)"
    )


def test_an_outlook_reply_with_a_word_document_is_forwarded_with_how_it_splits_into_the_brief(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    imap.deliver(m.outlook_reply_with_word(reply_to, lead_request.message_id, LEAD, "Gareth Millward"))

    report = _read(database_url)

    assert report.lines == [
        "National Probation Service: reply from gareth.millward@nps.example.org forwarded to the business manager"
    ]
    forward = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).one()
    assert flat(
        "Please find our contribution attached. Our Chief Officer has signed it off.\n\nKind regards\nGareth Millward"
        "\n\nThe reply came with a file, NPS contribution 2018-19.docx; the message is in the monitored mailbox's "
        "Processed folder.\nRead as an upload would be, it splits into:\n- Statutory role: Statutory role\n"
        "- Performance and impact: Performance and impact\n"
        "- A note from our Chief Officer: no section of the brief\n"
    ) in flat(forward.text_body)
    assert "Dear Gareth Millward, Your agency" not in flat(forward.text_body)  # the quoted reminder is gone
    (event,) = _events(session, "inbound.reply")
    assert event.detail["attachment"] == "NPS contribution 2018-19.docx"
    assert session.exec(select(OutboundEmail).where(OutboundEmail.kind == "reply_file_refused")).all() == []


def test_a_word_file_the_upload_checks_refuse_gets_the_contact_an_answer_saying_why(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    damaged = b"This is not a Word document at all."
    imap.deliver(m.outlook_reply_with_word(reply_to, lead_request.message_id, LEAD, "Gareth Millward", damaged))

    report = _read(database_url)

    assert report.lines == [
        "National Probation Service: reply from gareth.millward@nps.example.org forwarded to the business manager; "
        "NPS contribution 2018-19.docx refused, gareth.millward@nps.example.org told why"
    ]
    answer = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "reply_file_refused")).one()
    assert answer.to_addrs == [LEAD] and answer.reply_tag is not None  # a corrected file can come back the same way
    assert answer.subject == "We could not read NPS contribution 2018-19.docx"
    assert flat(
        "could not be taken into National Probation Service's contribution:\n\nThis file is not a Word document "
        "(.docx). If it is one, open it in Word and choose File → Save As → Word Document (.docx), then upload the "
        "new file.\n\nPlease open the personal link from your latest email"
    ) in flat(answer.text_body)


def test_a_colleague_writing_from_their_own_address_is_told_once_how_to_send_it_and_nothing_changes(
    database_url: str, session: Session, imap: Dovecot, opened: tuple[OutboundEmail, OutboundEmail]
) -> None:
    lead_request, _ = opened
    reply_to = tagged_address(MAILBOX, lead_request.reply_tag or "")
    colleague = "priya.stanton@nps.example.org"
    imap.deliver(m.outlook_reply_with_word(reply_to, lead_request.message_id, colleague, "Priya Stanton"))
    imap.deliver(m.outlook_plain_reply(reply_to, lead_request.message_id, colleague, "Priya Stanton"))

    report = _read(database_url)

    why = f"it comes from {colleague}, who is not a contact of National Probation Service"
    assert report.lines == [f"for a person: {why}; they were told how to send it", f"for a person: {why}"]
    (answer,) = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "wrong_sender")).all()
    assert answer.to_addrs == [colleague] and answer.reply_to == "morgan.ellery@bscb.example.org"
    assert flat(
        "it came from priya.stanton@nps.example.org, which is not one of the addresses National Probation Service "
        "gave us for the report, so nothing has been changed.\n\nTo send it, ask Gareth Millward to upload it"
    ) in flat(answer.text_body)
    assert session.exec(select(OutboundEmail).where(OutboundEmail.kind == "emailed_proposal")).all() == []
    assert _events(session, "inbound.reply") == []
