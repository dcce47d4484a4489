"""Which of our emails a message answers, and whether its sender may speak for that agency."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.cycle import Contribution
from models.outbox import OutboundEmail, recipients
from models.partnership import Agency, Contact
from tasks.inbound.classify import Classified
from tasks.mail.messages import tag_of


@dataclass
class Match:
    email: OutboundEmail
    contribution: Contribution | None = None
    agency: Agency | None = None
    contacts: list[Contact] = field(default_factory=list)

    def contacts_at(self, address: str) -> list[Contact]:
        return [c for c in self.contacts if c.email.lower() == address.lower()]

    def sent_to(self) -> set[str]:
        return {a.lower() for a in recipients(self.email)}


def find_email(session: Session, message: Classified, mailbox: str) -> OutboundEmail | None:
    """By the tag in the address it came to (a reply, or a bounce to the tagged envelope sender), then by the
    Message-IDs it answers; None when it answers none of ours."""
    tags = [t for a in message.addressed_to if (t := tag_of(a, mailbox))]
    if tags:
        found = session.exec(select(OutboundEmail).where(col(OutboundEmail.reply_tag).in_(tags))).first()
        if found is not None:
            return found
    if not message.answers:
        return None
    rows = session.exec(select(OutboundEmail).where(col(OutboundEmail.message_id).in_(message.answers))).all()
    by_id = {r.message_id: r for r in rows}
    return next((by_id[i] for i in message.answers if i in by_id), None)  # the one it answers directly first


def match(session: Session, message: Classified, mailbox: str) -> Match | None:
    email = find_email(session, message, mailbox)
    if email is None:
        return None
    found = Match(email)
    if email.contribution_id is not None:
        found.contribution = session.get(Contribution, email.contribution_id)
    if found.contribution is not None:
        found.agency = session.get(Agency, found.contribution.agency_id)
        found.contacts = list(session.exec(select(Contact).where(Contact.agency_id == found.contribution.agency_id)))
    return found


def who_is_wrong(message: Classified, found: Match) -> str | None:
    """Why this message may not act on its email, or None when it may: a person's message must come from a
    contact of the agency the email was about; a bounce must be about an address the email went to."""
    if found.agency is None:
        return "it answers an email that is not about an agency's contribution"
    if message.bounced:
        if not set(message.bounced) & found.sent_to():
            return f"it reports {', '.join(message.bounced)}, an address that email was not sent to"
        return None
    if not found.contacts_at(message.from_addr):
        return f"it comes from {message.from_addr or 'no address'}, who is not a contact of {found.agency.name}"
    return None
