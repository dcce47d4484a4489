"""Issue 17: agencies answer by replying. Realistic messages put in a real IMAP server (dovecot) with APPEND,
read by `read_mailbox`, each ending in its effect; reading the mailbox again changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.outbox import OutboundEmail
from models.partnership import Contact
from reportcycle.settings import get_settings
from tasks.inbound.read import InboundReport, read_mailbox
from tasks.mail.messages import tagged_address
from tests import inbound_messages as m
from tests.dovecot import Dovecot
from tests.helpers import local, open_example_cycle

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
    assert forward.subject == (
        "National Probation Service replied (requested): Annual Report 2018/19: National Probation Service's "
        "contribution is due Monday 20 May 2019"
    )
    assert "We will send it on Friday" in forward.text_body and "Sent: 13 May 2019" not in forward.text_body
    assert imap.uids("INBOX") == [] and len(imap.uids("Processed")) == 1

    again = _read(database_url)  # the mailbox read twice changes nothing
    assert (again.applied, again.needs_person, again.already) == (0, 0, 0)
    assert len(_events(session, "inbound.reply")) == 1
    assert len(session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).all()) == 1
