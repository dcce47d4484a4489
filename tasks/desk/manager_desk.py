"""The business manager's desk: decide extension requests, manage links and contacts, and record a
contribution received by other means. Each action is audited and tells the people it concerns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle, PersonalLink, Revision
from models.ladder import Kind
from models.lifecycle import AWAITING, ContributionState
from models.partnership import Agency, Contact, ContactRole
from models.portal import ExtensionRequest, WorkingCopy
from models.revisions import add_revision
from models.store import calendar_of, contacts_of, cycle_values, partnership_of
from tasks.contributions.content import markdown_to_html
from tasks.contributions.submission import enqueue_receipt
from tasks.desk.desk import extend
from tasks.links.link_email import send_personal_link
from tasks.links.tokens import LINK_VALID_DAYS, personal_link
from tasks.mail.context import day_text, email_context, short_day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


class DeskError(ValueError):
    """An action the desk cannot take as asked, in words for the business manager."""


def _pending_request(session: Session, cycle: Cycle, request_id: int) -> tuple[ExtensionRequest, Contribution]:
    request = session.get(ExtensionRequest, request_id)
    contribution = session.get(Contribution, request.contribution_id) if request else None
    if request is None or contribution is None or contribution.cycle_id != cycle.id:
        raise DeskError("There is no such extension request in this cycle.")
    if request.status != "pending":
        raise DeskError(f"That request was already {request.status} by {request.decided_by}.")
    return request, contribution


def grant_extension(
    session: Session, cycle: Cycle, request_id: int, *, at: dt.datetime, actor: str, base_url: str, templates_dir: Path
) -> list[str]:
    """Move the deadline to the date asked for (the agency is told, with a new calendar entry)."""
    request, contribution = _pending_request(session, cycle, request_id)
    try:
        return extend(
            session,
            cycle,
            contribution,
            request.requested_until,
            at=at,
            actor=actor,
            base_url=base_url,
            templates_dir=templates_dir,
        )
    except ValueError as exc:
        raise DeskError(f"The extension cannot be granted: {exc}.") from None


def refuse_extension(
    session: Session,
    cycle: Cycle,
    request_id: int,
    *,
    reason: str,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> None:
    """Say no, with a reason, to the person who asked; the deadline stays."""
    request, contribution = _pending_request(session, cycle, request_id)
    request.status, request.decided_by, request.decided_at = "refused", actor, at
    session.add(request)
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    contact = session.exec(
        select(Contact).where(Contact.agency_id == agency.id, Contact.email == request.requested_by)
    ).first()
    partnership = partnership_of(session, cycle)
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=contact or {"name": request.requested_by, "email": request.requested_by},
        calendar=calendar_of(partnership),
        at=at,
        link=personal_link(
            session,
            base_url,
            contribution_id=contribution.id or 0,
            contact_id=contact.id or 0,
            at=at,
            valid_days=LINK_VALID_DAYS,
        )
        if contact is not None
        else f"{base_url}/contribution/{contribution.id}",
        requested_text=day_text(request.requested_until),
        requested_short=short_day_text(request.requested_until),
        reason=reason.strip(),
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"extension-request:{request.id}:refused",
            kind=Kind.extension_refused,
            to=[request.requested_by],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
        ),
        render_email(templates_dir, Kind.extension_refused, context),
        at=at,
    )
    record(
        session,
        at=at,
        actor=actor,
        action="extension.refuse",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        requested=str(request.requested_until),
        reason=reason.strip(),
    )


def revoke_links(
    session: Session, contribution: Contribution, *, at: dt.datetime, actor: str, contact_id: int | None = None
) -> int:
    """Withdraw the live links to a contribution (one contact's, or everyone's); their sessions end too."""
    query = select(PersonalLink).where(
        PersonalLink.contribution_id == contribution.id, col(PersonalLink.revoked_at).is_(None)
    )
    if contact_id is not None:
        query = query.where(PersonalLink.contact_id == contact_id)
    links = [link for link in session.exec(query) if link.expires_at > at]
    for link in links:
        link.revoked_at = at
        session.add(link)
    record(
        session,
        at=at,
        actor=actor,
        action="link.revoke",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        links=len(links),
        contact_id=contact_id,
    )
    return len(links)


def _send_link(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    contact: Contact,
    *,
    kind: Kind,
    key: str,
    at: dt.datetime,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> None:
    """A link sent by the business manager: the templates say so, and name them as the sender."""
    partnership = partnership_of(session, cycle)
    send_personal_link(
        session,
        cycle,
        agency,
        contribution,
        contact,
        kind=kind,
        key=key,
        at=at,
        base_url=base_url,
        link_valid_days=link_valid_days,
        templates_dir=templates_dir,
        handed_by={"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        sent_by_manager=True,
    )


def resend_link(
    session: Session,
    cycle: Cycle,
    contribution: Contribution,
    *,
    role: str,
    at: dt.datetime,
    actor: str,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> str:
    """A new personal link to the agency's contact in `role` (the old ones keep working unless revoked)."""
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    contact = contacts_of(session, agency).get(ContactRole(role)) if role in set(ContactRole) else None
    if contact is None:
        raise DeskError(f"{agency.name} has no {role} contact; add one with “Replace a contact”.")
    _send_link(
        session,
        cycle,
        agency,
        contribution,
        contact,
        kind=Kind.fresh_link,
        key=f"resend:{contribution.id}:{contact.id}:{at.isoformat()}",
        at=at,
        base_url=base_url,
        link_valid_days=link_valid_days,
        templates_dir=templates_dir,
    )
    record(
        session,
        at=at,
        actor=actor,
        action="link.resend",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        to=contact.email,
    )
    return contact.email


def replace_contact(
    session: Session,
    cycle: Cycle,
    contribution: Contribution,
    *,
    role: str,
    name: str,
    email: str,
    at: dt.datetime,
    actor: str,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> Contact:
    """Someone new takes over a role mid-cycle: the old person's links are withdrawn and the new one gets a link."""
    if role not in (ContactRole.lead, ContactRole.deputy, ContactRole.senior, ContactRole.writer):
        raise DeskError("Choose which contact to replace: lead, deputy, senior or writer.")
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DeskError(f"That email address does not look right: {exc}") from None
    if not name.strip():
        raise DeskError("Give the new contact's name.")
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    contact = contacts_of(session, agency).get(ContactRole(role))
    before = (contact.name, contact.email) if contact else None
    if contact is not None:
        revoke_links(session, contribution, at=at, actor=actor, contact_id=contact.id)
    else:
        contact = Contact(agency_id=agency.id or 0, role=role, name="", email="")
    if contact.email != address:  # a new address has not bounced, nor said it is away
        contact.undeliverable, contact.away_until = None, None
    contact.name, contact.email = name.strip(), address
    session.add(contact)
    session.flush()
    if contribution.status in (*AWAITING, ContributionState.submitted) and role != ContactRole.senior:
        _send_link(
            session,
            cycle,
            agency,
            contribution,
            contact,
            kind=Kind.handover,
            key=f"replace:{contribution.id}:{role}:{address}:{at.isoformat()}",
            at=at,
            base_url=base_url,
            link_valid_days=link_valid_days,
            templates_dir=templates_dir,
        )
    record(
        session,
        at=at,
        actor=actor,
        action="contact.replace",
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        role=role,
        before=list(before) if before else None,
        after=[contact.name, contact.email],
    )
    return contact


def submit_on_behalf(
    session: Session,
    cycle: Cycle,
    contribution: Contribution,
    sections: dict[str, str],
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> Revision:
    """A contribution that came by other means (email, post), entered by the business manager as Markdown.

    Recorded as it came, gaps and all, as a new revision; the agency's working copy follows it so that its
    page shows what was entered, and the agency gets the usual receipt.
    """
    if contribution.status in (ContributionState.approved, ContributionState.excused):
        raise DeskError(f"The contribution is {contribution.status}: nothing more can be submitted for it.")
    brief = cycle_values(cycle)[0]
    known = {s.key for s in brief.sections}
    texts = {k: v for k, v in sections.items() if k in known}
    if not any(v.strip() for v in texts.values()):
        raise DeskError("Paste the text of at least one section.")
    html = {key: markdown_to_html(texts.get(key, ""), shift_headings=1) for key in known}
    revision = add_revision(
        session, contribution, html, brief=brief, source="other-means", at=at, actor=actor, allow_incomplete=True
    )
    copy = session.exec(select(WorkingCopy).where(WorkingCopy.contribution_id == contribution.id)).first()
    copy = copy or WorkingCopy(contribution_id=contribution.id or 0, sections={}, updated_at=at, updated_by=actor)
    copy.sections, copy.version = texts, copy.version + 1
    copy.updated_at, copy.updated_by = at, actor
    session.add(copy)
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    enqueue_receipt(
        session, cycle, agency, contribution, revision, at=at, base_url=base_url, templates_dir=templates_dir
    )
    return revision
