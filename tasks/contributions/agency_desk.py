"""What an agency can do around its contribution: ask for more time, hand the link on, record sign-off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from models.audit import record
from models.cycle import Contribution, Cycle
from models.ladder import Kind
from models.partnership import Agency, Contact, ContactRole
from models.portal import ExtensionRequest
from models.store import calendar_of, partnership_of
from tasks.links.link_email import send_personal_link
from tasks.mail.context import day_text, email_context, short_day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


class AgencyRequestError(ValueError):
    pass


def ask_for_extension(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    contact: Contact,
    *,
    until: dt.date,
    reason: str,
    at: dt.datetime,
    templates_dir: Path,
) -> ExtensionRequest:
    if until <= contribution.due_date:
        raise AgencyRequestError(f"Ask for a date after the current deadline, {day_text(contribution.due_date)}.")
    if until > cycle.publish_by:
        raise AgencyRequestError(
            f"Ask for a date before {day_text(cycle.publish_by)}, when the report must be published; "
            "if you cannot, say so to the business manager."
        )
    if not reason.strip():
        raise AgencyRequestError("Say why you need more time: the business manager decides on the reason.")
    pending = session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.contribution_id == contribution.id, ExtensionRequest.status == "pending"
        )
    ).first()
    if pending is not None:
        raise AgencyRequestError(
            f"You have already asked for {day_text(pending.requested_until)}; the business manager will reply."
        )
    request = ExtensionRequest(
        contribution_id=contribution.id or 0,
        requested_until=until,
        reason=reason.strip(),
        requested_by=contact.email,
        requested_at=at,
    )
    session.add(request)
    session.flush()
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=contact,
        calendar=calendar,
        at=at,
        link="",
        requested_text=day_text(until),
        requested_short=short_day_text(until),
        reason=request.reason,
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"extension-request:{request.id}",
            kind=Kind.extension_request,
            reply_to=contact.email,
            to=[partnership.business_manager_email],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
        ),
        render_email(templates_dir, Kind.extension_request, context),
        at=at,
    )
    record(
        session,
        at=at,
        actor=contact.email,
        action="extension.request",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        until=str(until),
        reason=request.reason,
    )
    return request


def hand_over(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    contact: Contact,
    *,
    name: str,
    email: str,
    at: dt.datetime,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> Contact:
    """A personal link for the colleague who will write it; recorded as the agency's writer."""
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AgencyRequestError(f"That email address does not look right: {exc}") from None
    if not name.strip():
        raise AgencyRequestError("Give your colleague's name.")
    writer = session.exec(
        select(Contact).where(Contact.agency_id == agency.id, Contact.role == ContactRole.writer)
    ).first() or Contact(agency_id=agency.id or 0, role=ContactRole.writer, name="", email="")
    writer.name, writer.email = name.strip(), address
    session.add(writer)
    session.flush()
    send_personal_link(
        session,
        cycle,
        agency,
        contribution,
        writer,
        kind=Kind.handover,
        key=f"handover:{contribution.id}:{address}:{at.isoformat()}",
        at=at,
        base_url=base_url,
        link_valid_days=link_valid_days,
        templates_dir=templates_dir,
        envelope={"reply_to": contact.email, "cc": [contact.email]},
        handed_by={"name": contact.name, "email": contact.email},
    )
    record(
        session,
        at=at,
        actor=contact.email,
        action="link.handover",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        to=address,
        name=writer.name,
    )
    return writer


def sign_off(
    session: Session, contribution: Contribution, contact: Contact, *, name: str, role: str, at: dt.datetime
) -> None:
    if not name.strip() or not role.strip():
        raise AgencyRequestError("Give the name and the role of the senior officer who signed it off.")
    contribution.signed_off_by, contribution.signed_off_role = name.strip(), role.strip()
    contribution.signed_off_at = at
    session.add(contribution)
    record(
        session,
        at=at,
        actor=contact.email,
        action="contribution.sign_off",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        name=contribution.signed_off_by,
        role=contribution.signed_off_role,
    )
