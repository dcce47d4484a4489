"""Telling an agency its deadline moved (an extension, a return) or no longer stands (a submission, an excusal):
the email and the calendar entry updated or cancelled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.cycle import Contribution, Cycle
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency, ContactRole
from models.store import calendar_of, contacts_of, partnership_of
from tasks.links.tokens import LINK_VALID_DAYS, personal_link
from tasks.mail.calendar_entry import deadline_entry
from tasks.mail.context import email_context
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


def notify_new_deadline(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    *,
    kind: str,
    key: str,
    at: dt.datetime,
    base_url: str,
    templates_dir: Path,
    link_valid_days: int = LINK_VALID_DAYS,
    **extra: Any,
) -> None:
    """Email the lead and deputy with the calendar entry updated (SEQUENCE + 1), within the send window."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    contribution.calendar_sequence += 1
    session.add(contribution)
    contacts = contacts_of(session, agency)
    asked = [contacts[r] for r in (ContactRole.lead, ContactRole.deputy) if r in contacts]
    if not asked:
        return
    page = f"{base_url}/contribution/{contribution.id}"
    # The email signs its reader in; the calendar entry, which people share and forward, carries no token.
    link = personal_link(
        session,
        base_url,
        contribution_id=contribution.id or 0,
        contact_id=asked[0].id or 0,
        at=at,
        valid_days=link_valid_days,
    )
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=asked[0],
        calendar=calendar,
        at=at,
        link=link,
        **extra,
    )
    entry = deadline_entry(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        attendees=asked,
        calendar=calendar,
        at=at,
        link=page,
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=key,
            kind=kind,
            to=[c.email for c in asked],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
            attachments=[entry],
        ),
        render_email(templates_dir, kind, context),
        at=at,
        send_after=calendar.next_send_time(at),
    )


def calendar_method_sent(session: Session, contribution: Contribution) -> str | None:
    """The METHOD of the last calendar entry queued for this contribution (REQUEST or CANCEL), or None."""
    rows = session.exec(
        select(OutboundEmail.attachments)
        .where(
            OutboundEmail.contribution_id == contribution.id,
            col(OutboundEmail.status).not_in([OutboxStatus.superseded, OutboxStatus.cancelled]),
        )
        .order_by(col(OutboundEmail.id).desc())
    ).all()
    for attachments in rows:
        for att in attachments or []:
            if att.get("content_type") == "text/calendar":
                return str(att.get("method") or "REQUEST")
    return None


def cancelled_entry(
    session: Session, cycle: Cycle, agency: Agency, contribution: Contribution, *, at: dt.datetime
) -> tuple[dict[str, Any] | None, list[str]]:
    """The CANCEL for the contribution's deadline (SEQUENCE + 1) and the addresses it was sent to, when its
    calendar entry still stands; (None, []) when there is none to take out (never sent, or already cancelled)."""
    if calendar_method_sent(session, contribution) != "REQUEST":
        return None, []
    partnership = partnership_of(session, cycle)
    contacts = contacts_of(session, agency)
    asked = [contacts[r] for r in (ContactRole.lead, ContactRole.deputy) if r in contacts]
    contribution.calendar_sequence += 1
    session.add(contribution)
    entry = deadline_entry(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        attendees=asked,
        calendar=calendar_of(partnership),
        at=at,
        link=f"/contribution/{contribution.id}",
        method="CANCEL",
    )
    return entry, [c.email for c in asked]
