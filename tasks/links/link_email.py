"""A new personal link for one contact to one contribution, and the email that carries it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.outbox import OutboundEmail
from models.partnership import Agency, Contact
from models.store import calendar_of, partnership_of
from tasks.links.tokens import issue_link, link_url
from tasks.mail.context import email_context
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email


def send_personal_link(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    contact: Contact,
    *,
    kind: str,
    key: str,
    at: dt.datetime,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
    envelope: dict[str, Any] | None = None,
    **extra: Any,
) -> OutboundEmail | None:
    """Issue the link and queue `kind`'s email to the contact (`envelope`: e.g. reply_to, cc; `extra`: more
    for the template). Returns the outbox row, or None when `key` was queued already."""
    partnership = partnership_of(session, cycle)
    token = issue_link(
        session, contribution_id=contribution.id or 0, contact_id=contact.id or 0, at=at, valid_days=link_valid_days
    )
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=contact,
        calendar=calendar_of(partnership),
        at=at,
        link=link_url(base_url, token),
        **extra,
    )
    return enqueue(
        session,
        partnership_envelope(
            partnership,
            key=key,
            kind=kind,
            to=[contact.email],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
            **(envelope or {}),
        ),
        render_email(templates_dir, kind, context),
        at=at,
    )
