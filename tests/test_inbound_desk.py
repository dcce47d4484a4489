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
from tests.helpers import flat, local
from tests.test_desk_pages import visible
from tests.test_inbound import DEPUTY, LEAD, MAILBOX, READ_AT, _read, _request

app, clock, links, manager = base.app, base.clock, base.links, base.manager
BOUNCED_AT = local("2019-05-01", "09:30")  # half an hour before the desk's clock (base.NOW)


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

    mail = visible(manager.get(f"/desk/{cycle_id}/agency/nps/mail").text)
    assert (
        "10:30 on Tuesday 14 May 2019 amira.latchford@nps.example.org RE: Reminder: your contribution to the annual "
        "report is due on 31 May 2019 Acted on: National Probation Service: reply from amira.latchford@nps.example.org "
        "forwarded to the business manager We will send it on Friday"
    ) in mail
    assert (
        "Request for the contribution gareth.millward@nps.example.org Waiting to go (refused for "
        "gareth.millward@nps.example.org)"
    ) in mail


def test_a_word_document_emailed_in_is_a_proposal_its_sender_confirms_from_a_personal_link(
    session: Session, imap: Dovecot, database_url: str, links: dict[str, str]
) -> None:
    import re

    from models.cycle import Contribution
    from models.inbound import EmailedDocument
    from models.portal import WorkingCopy
    from portal.app import create_app
    from reportcycle.clock import FixedClock
    from reportcycle.settings import get_settings
    from tests.agency_pages import form_fields
    from tests.test_portal_http import _enter

    lead = _request(session, LEAD)
    reply_to = tagged_address(MAILBOX, lead.reply_tag or "")
    imap.deliver(m.outlook_reply_with_word(reply_to, lead.message_id, LEAD, "Gareth Millward"))
    assert _read(database_url, at=READ_AT).applied == 1

    email = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "emailed_proposal")).one()
    assert email.to_addrs == [LEAD]
    assert "nothing is in National Probation Service's draft yet, and nothing is submitted" in flat(email.text_body)
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", email.text_body)
    assert session.exec(select(WorkingCopy)).all() == []  # nothing in the draft before the contact confirms

    with TestClient(create_app(get_settings(), FixedClock(READ_AT)), follow_redirects=False) as client:
        path = _enter(client, token)
        summary = visible(client.get(path).text)
        assert (
            "You emailed “NPS contribution 2018-19.docx” on 10:30 on Tuesday 14 May 2019. Nothing from it is in "
            "your draft yet. Check how “NPS contribution 2018-19.docx” splits and use it"
        ) in summary
        (document,) = session.exec(select(EmailedDocument)).all()
        shown = client.get(f"{path}/word/emailed/{document.id}")
        assert shown.status_code == 200
        assert "This is how “NPS contribution 2018-19.docx” splits into the sections of the brief" in visible(
            shown.text
        )
        fields = form_fields(shown.text)
        assert fields["emailed"] == str(document.id)
        done = client.post(f"{path}/word/confirm", data=fields)
        assert done.status_code == 303 and done.headers["location"].endswith("done=word")
        assert "You emailed" not in visible(client.get(path).text)

    session.expire_all()
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.sections["statutory-role"] == "The service supervises adults on licence in Birmingham."
    assert copy.sections["performance"] == "The service trained 240 staff in safeguarding this year."
    assert session.get(EmailedDocument, document.id).confirmed_at is not None  # type: ignore[union-attr]
    assert session.get(Contribution, lead.contribution_id).status == "requested"  # type: ignore[union-attr]


def test_a_bounced_address_put_right_on_the_desk_gets_the_next_chaser_again(
    manager: TestClient, session: Session, imap: Dovecot, database_url: str
) -> None:
    from models.audit import AuditEvent
    from models.partnership import Contact
    from tests.test_inbound import _chase_next
    from tests.test_review_desk_http import _csrf

    lead = _request(session, LEAD)
    imap.deliver(m.postfix_dsn(tagged_address(MAILBOX, lead.reply_tag or ""), lead.message_id, LEAD))
    assert _read(database_url, at=BOUNCED_AT).applied == 1
    cycle_id = find_cycle(session).id
    page = manager.get(f"/desk/{cycle_id}/agency/nps").text
    assert "Gareth Millward's address bounces" in visible(page)
    contact = session.exec(select(Contact).where(Contact.email == LEAD)).one()
    form = {"csrf": _csrf(page), "agency": "nps", "contact": str(contact.id)}

    typo = manager.post(f"/desk/{cycle_id}/do/fix-address", data=form | {"email": "gareth.millward@"})
    assert typo.status_code == 422 and "That email address does not look right" in visible(typo.text)

    # The agency says the mailbox works again: the same address, kept.
    done = manager.post(f"/desk/{cycle_id}/do/fix-address", data=form | {"email": LEAD}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"/desk/{cycle_id}/agency/nps?done=fix-address")
    after = visible(manager.get(done.headers["location"]).text)
    assert "The address is put right: the next chaser goes to it again." in after and "Bounces" not in after
    session.expire_all()
    assert session.get(Contact, contact.id).undeliverable is None  # type: ignore[union-attr]
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "contact.address_fixed")).all()
    assert (event.detail["before"], event.detail["email"], event.detail["how"]) == (LEAD, LEAD, "works again")
    assert event.detail["bounced"].startswith("bounced on Wednesday 1 May 2019: 550 5.1.1")

    _, chasers = _chase_next(session, BOUNCED_AT.date())
    assert chasers == [((LEAD, DEPUTY), ())]  # this step's audience, the lead again (a bounce leaves the deputy alone)

    again = manager.post(f"/desk/{cycle_id}/do/fix-address", data=form | {"email": LEAD})
    assert again.status_code == 422
    assert f"{LEAD} is not marked as bouncing: there is nothing to put right." in visible(again.text)


def test_a_bounced_address_corrected_on_the_desk_is_the_one_chased(
    manager: TestClient, session: Session, imap: Dovecot, database_url: str
) -> None:
    from models.audit import AuditEvent
    from models.partnership import Contact
    from tests.test_inbound import _chase_next
    from tests.test_review_desk_http import _csrf

    lead = _request(session, LEAD)
    imap.deliver(m.postfix_dsn(tagged_address(MAILBOX, lead.reply_tag or ""), lead.message_id, LEAD))
    assert _read(database_url, at=BOUNCED_AT).applied == 1
    cycle_id = find_cycle(session).id
    page = manager.get(f"/desk/{cycle_id}/agency/nps").text
    contact = session.exec(select(Contact).where(Contact.email == LEAD)).one()
    fixed = "G.Millward@nps.example.org"  # trimmed; its domain lower-cased, as everywhere else
    form = {"csrf": _csrf(page), "agency": "nps", "contact": str(contact.id), "email": " G.Millward@NPS.example.org "}

    assert manager.post(f"/desk/{cycle_id}/do/fix-address", data=form, follow_redirects=False).status_code == 303

    session.expire_all()
    corrected = session.get(Contact, contact.id)
    assert corrected is not None and (corrected.email, corrected.undeliverable) == (fixed, None)
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "contact.address_fixed")).all()
    assert (event.detail["before"], event.detail["email"], event.detail["how"]) == (LEAD, fixed, "corrected")
    _, chasers = _chase_next(session, BOUNCED_AT.date())
    assert chasers == [((fixed, DEPUTY), ())]
