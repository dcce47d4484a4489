"""What each kind of message does, once: all of it in the caller's transaction, with the message's record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models.audit import record
from models.cycle import Cycle
from models.inbound import EmailedDocument, InboundKind
from models.ladder import Kind
from models.outbox import refused_for_good
from models.partnership import Contact, ContactRole
from models.store import calendar_of, cycle_values, partnership_of
from tasks.inbound.classify import Classified, return_date
from tasks.inbound.match import Match
from tasks.links.tokens import personal_link
from tasks.mail.context import day_text, email_context
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email

# An out-of-office that gives no date of return is taken to last this long.
AWAY_WITHOUT_A_DATE = dt.timedelta(days=7)
# How much of a reply the timeline keeps (the forward to the business manager carries it all).
TIMELINE_TEXT = 2000


@dataclass(frozen=True)
class Effects:
    """What the effects need besides the message: the run's clock and who it is, where templates and pages are."""

    at: dt.datetime
    actor: str
    templates_dir: Path
    base_url: str
    processed_folder: str
    link_valid_days: int = 120


def _refusal(words: str) -> str:
    """A bounce's words as a refusal the outbox knows for good (it reads the 5 of a 5xx reply)."""
    words = words.strip()
    return words if words[:1] == "5" else f"550 {words}"


def bounce(session: Session, found: Match, message: Classified, key: str, e: Effects) -> str:
    """The address is undeliverable on that email and on the contact: the digest lists the email, the chase
    leaves the address out from now on, and the desk shows the contact's address as bouncing."""
    assert found.contribution is not None and found.agency is not None
    row, when = found.email, e.at.isoformat()
    deliveries = dict(row.deliveries)
    said = []
    for address, words in message.bounced.items():
        if address not in found.sent_to():
            continue
        reply = f"{_refusal(words)} (returned by their mail server after our relay took it)"
        deliveries[address] = {"state": "failed", "reply": reply, "at": when}
        for contact in found.contacts_at(address):
            contact.undeliverable = f"bounced on {day_text(e.at.date())}: {words}"[:500]
        said.append(f"{address} ({words})")
    row.deliveries = deliveries
    row.refused = len(refused_for_good(deliveries))
    record(
        session,
        at=e.at,
        actor=e.actor,
        action="inbound.bounce",
        subject=f"contribution:{found.contribution.id}",
        cycle_id=found.contribution.cycle_id,
        email=row.id,
        message=key,
        addresses=sorted(message.bounced),
        reason="; ".join(said),
    )
    return f"{found.agency.name}: {', '.join(said)} bounced; marked undeliverable"


def auto_reply(session: Session, found: Match, message: Classified, key: str, e: Effects) -> str:
    """Recorded; the contact is away until the day it says (else a week), and chasers copy the other contacts.
    Never answered: an automatic answer to an automatic reply is how mail loops start."""
    assert found.contribution is not None and found.agency is not None
    received = e.at.date()
    until = return_date(message.text, received) or received + AWAY_WITHOUT_A_DATE
    for contact in found.contacts_at(message.from_addr):
        contact.away_until = until
    record(
        session,
        at=e.at,
        actor=message.from_addr,
        action="inbound.auto_reply",
        subject=f"contribution:{found.contribution.id}",
        cycle_id=found.contribution.cycle_id,
        email=found.email.id,
        message=key,
        until=until.isoformat(),
        subject_line=message.subject,
    )
    return f"{found.agency.name}: {message.from_addr} is away until {day_text(until)}"


def read_attachment(message: Classified, cycle: Cycle) -> tuple[list[str], str | None]:
    """(how a Word attachment splits into the brief's sections, why it cannot be taken), by the same checks and
    Word import as an upload. Markdown and text files are passed on as they are."""
    from tasks.contributions.word_import import WordRefused, read_word

    if message.attachment is None or not message.attachment.filename.lower().endswith(".docx"):
        return [], None
    brief = cycle_values(cycle)[0]
    titles = {s.key: s.title for s in brief.sections}
    try:
        proposal = read_word(message.attachment.content, brief)
    except WordRefused as exc:
        return [], str(exc)
    return [
        f"{b.heading or 'Text before the first heading'}: {titles.get(b.section or '', 'no section of the brief')}"
        for b in proposal.blocks
    ], None


def reply(session: Session, found: Match, message: Classified, key: str, e: Effects) -> str:
    """The new text on the agency's timeline, and forwarded to the business manager, who can answer it directly.
    A Word file that the upload's checks refuse gets the contact an answer saying why and how to send it."""
    assert found.contribution is not None and found.agency is not None
    contribution, agency = found.contribution, found.agency
    contact = found.contacts_at(message.from_addr)[0]
    cycle = session.get(Cycle, contribution.cycle_id)
    assert cycle is not None
    partnership = partnership_of(session, cycle)
    attachment = message.attachment.filename if message.attachment else ""
    split, refused = read_attachment(message, cycle)
    state = contribution.status.replace("_", " ")
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=contact,
        calendar=calendar_of(partnership),
        at=e.at,
        link="",
        text=message.text,
        state=state,
        original_subject=found.email.subject,
        attachment=attachment,
        split=split,
        refused=refused or "",
        processed_folder=e.processed_folder,
        desk_link=f"{e.base_url}/desk/{cycle.id}/agency/{agency.slug}",
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"inbound:{key}:forward",
            kind=Kind.agency_reply,
            reply_to=contact.email,
            to=[partnership.business_manager_email],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
        ),
        render_email(e.templates_dir, Kind.agency_reply, context),
        at=e.at,
    )
    if split:
        _propose(session, found, message, key, e, context)
    if refused:
        enqueue(
            session,
            partnership_envelope(
                partnership,
                key=f"inbound:{key}:file-refused",
                kind=Kind.reply_file_refused,
                to=[contact.email],
                cycle_id=cycle.id,
                contribution_id=contribution.id,
            ),
            render_email(e.templates_dir, Kind.reply_file_refused, {**context, "link": f"{e.base_url}/"}),
            at=e.at,
        )
    record(
        session,
        at=e.at,
        actor=contact.email,
        action="inbound.reply",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        email=found.email.id,
        message=key,
        text=message.text[:TIMELINE_TEXT],
        attachment=attachment or None,
    )
    answered = f"; {attachment} refused, {contact.email} told why" if refused else ""
    return f"{agency.name}: reply from {contact.email} forwarded to the business manager{answered}"


def _propose(
    session: Session, found: Match, message: Classified, key: str, e: Effects, context: dict[str, Any]
) -> None:
    """Keep the document as a proposal and send its sender a personal link to check and confirm it: nothing goes
    in the draft, nor is submitted, until they do."""
    assert message.attachment is not None and found.contribution is not None
    contact = found.contacts_at(message.from_addr)[0]
    document = EmailedDocument(
        contribution_id=found.contribution.id or 0,
        contact_id=contact.id or 0,
        filename=message.attachment.filename[:255],
        content=message.attachment.content,
        received_at=e.at,
    )
    session.add(document)
    session.flush()
    link = personal_link(
        session,
        e.base_url,
        contribution_id=found.contribution.id or 0,
        contact_id=contact.id or 0,
        at=e.at,
        valid_days=e.link_valid_days,
    )
    cycle_id = found.contribution.cycle_id
    enqueue(
        session,
        partnership_envelope(
            partnership_of(session, session.get(Cycle, cycle_id)),  # type: ignore[arg-type]
            key=f"inbound:{key}:proposal",
            kind=Kind.emailed_proposal,
            to=[contact.email],
            cycle_id=cycle_id,
            contribution_id=found.contribution.id,
        ),
        render_email(e.templates_dir, Kind.emailed_proposal, {**context, "link": link}),
        at=e.at,
    )
    record(
        session,
        at=e.at,
        actor=contact.email,
        action="inbound.proposal",
        subject=f"contribution:{found.contribution.id}",
        cycle_id=cycle_id,
        document=document.id,
        filename=document.filename,
    )


def answer_wrong_sender(session: Session, found: Match, message: Classified, e: Effects) -> bool:
    """A person at the agency's own organisation (same mail domain as one of its contacts) who is not a contact is
    told how to send it; anyone else gets nothing, as a forged From would make us write to a stranger. Once per
    sender and contribution, so two mail systems can never answer each other for ever."""
    if message.kind not in (InboundKind.reply, InboundKind.reply_with_file) or found.contribution is None:
        return False
    domain = message.from_addr.rpartition("@")[2]
    # the lead first: the one who can upload it or hand the contribution over
    ordered = sorted(found.contacts, key=lambda c: c.role != ContactRole.lead)
    contact = next((c for c in ordered if c.email.lower().rpartition("@")[2] == domain), None)
    if not domain or contact is None or found.agency is None:
        return False
    cycle = session.get(Cycle, found.contribution.cycle_id)
    assert cycle is not None
    partnership = partnership_of(session, cycle)
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=found.agency,
        contribution=found.contribution,
        contact=Contact(agency_id=0, role="sender", name=message.from_addr, email=message.from_addr),
        calendar=calendar_of(partnership),
        at=e.at,
        link="",
        lead=contact.name,
        attachment=message.attachment.filename if message.attachment else "",
    )
    row = enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"wrong-sender:{found.contribution.id}:{message.from_addr}",
            kind=Kind.wrong_sender,
            reply_to=partnership.business_manager_email,
            to=[message.from_addr],
            cycle_id=cycle.id,
            contribution_id=found.contribution.id,
        ),
        render_email(e.templates_dir, Kind.wrong_sender, context),
        at=e.at,
    )
    return row is not None
