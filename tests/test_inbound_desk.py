"""The desk shows what the monitored mailbox read: the agency's timeline, its contacts' marks, and the messages
left for a person."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.outbox import OutboundEmail
from models.store import find_cycle
from tasks.mail.messages import tagged_address
from tests import inbound_messages as m
from tests import test_review_desk_http as base
from tests.dovecot import Dovecot
from tests.test_desk_pages import visible
from tests.test_inbound import DEPUTY, LEAD, MAILBOX, READ_AT, _read, _request

app, clock, links, manager = base.app, base.clock, base.links, base.manager


def test_the_desk_shows_the_bounce_the_absence_the_reply_and_the_forgery(
    manager: TestClient, session: Session, imap: Dovecot, database_url: str
) -> None:
    lead, deputy = _request(session, LEAD), _request(session, DEPUTY)
    imap.deliver(m.postfix_dsn(tagged_address(MAILBOX, lead.reply_tag or ""), lead.message_id, LEAD))
    imap.deliver(m.gmail_vacation_reply(tagged_address(MAILBOX, deputy.reply_tag or ""), DEPUTY, "Amira"))
    imap.deliver(m.outlook_plain_reply(MAILBOX, deputy.message_id, DEPUTY, "Amira Latchford"))
    imap.deliver(m.forged_reply(tagged_address(MAILBOX, lead.reply_tag or ""), lead.message_id))
    report = _read(database_url, at=READ_AT)
    assert (report.applied, report.needs_person) == (3, 1)
    cycle_id = find_cycle(session).id

    agency = visible(manager.get(f"/desk/{cycle_id}/agency/nps").text)
    assert (
        "gareth.millward@nps.example.org Bounces bounced on Tuesday 14 May 2019: 550 5.1.1 "
        "<gareth.millward@nps.example.org>: Recipient address rejected: User unknown in virtual mailbox table; "
        "chasers leave it out until it is corrected"
    ) in agency
    assert "amira.latchford@nps.example.org Away until Tuesday 21 May 2019" in agency
    assert "Replied by email: We will send it on Friday – it is with our Chief Officer for sign-off. Gareth" in agency
    assert "Automatic reply: away until Tuesday 21 May 2019" in agency
    assert "Email bounced. Reason: gareth.millward@nps.example.org (550 5.1.1" in agency

    desk = visible(manager.get(f"/desk/{cycle_id}").text)
    assert (
        "Replies for a person Messages in the monitored mailbox that changed nothing: read them in its "
        '"Needs a person" folder'
    ) in desk
    assert (
        "gareth.millward@nps-example.net RE: Reminder: your contribution to the annual report It comes from "
        "gareth.millward@nps-example.net, who is not a contact of National Probation Service"
    ) in desk
    assert len(session.exec(select(OutboundEmail).where(OutboundEmail.kind == "agency_reply")).all()) == 1
