"""A fresh personal link, asked for by the person it belongs to, sent to the address we hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle
from models.ladder import Kind
from models.lifecycle import CycleState
from models.outbox import OutboundEmail
from models.partnership import Agency, Contact, ContactRole
from tasks.links.access import withdrawn
from tasks.links.link_email import send_personal_link

PER_HOUR = 3  # fresh links per address per hour; more are not sent


def request_fresh_link(
    session: Session, email: str, *, at: dt.datetime, base_url: str, link_valid_days: int, templates_dir: Path
) -> int:
    """Send a new link for each open contribution this address is asked for; returns how many were queued.

    The answer to the person is the same whatever happens, so the page cannot be
    used to learn which addresses we hold.
    """
    address = email.strip().lower()
    if "@" not in address:
        return 0
    recent = session.exec(
        select(func.count())
        .select_from(OutboundEmail)
        .where(
            OutboundEmail.kind == Kind.fresh_link,
            col(OutboundEmail.idempotency_key).contains(f":{address}:"),
            col(OutboundEmail.created_at) > at - dt.timedelta(hours=1),
        )
    ).one()
    if recent >= PER_HOUR:
        record(session, at=at, actor=address, action="link.fresh.rate_limited", subject=f"address:{address}")
        return 0
    rows = session.exec(
        select(Contact, Agency, Contribution, Cycle)
        .join(Agency, col(Contact.agency_id) == col(Agency.id))
        .join(Contribution, col(Contribution.agency_id) == col(Agency.id))
        .join(Cycle, col(Cycle.id) == col(Contribution.cycle_id))
        .where(
            func.lower(Contact.email) == address,
            col(Contact.role).in_([ContactRole.lead, ContactRole.deputy]),
            col(Cycle.status).in_([CycleState.open, CycleState.in_review]),
            col(Contribution.status).in_(["requested", "submitted", "returned"]),
        )
    ).all()
    queued = 0
    for contact, agency, contribution, cycle in rows:
        if withdrawn(session, contribution.id or 0, contact.id or 0):
            # The business manager took this person's access away: asking again does not give it back.
            record(
                session,
                at=at,
                actor=contact.email,
                action="link.fresh.withdrawn",
                subject=f"contribution:{contribution.id}",
                cycle_id=cycle.id,
            )
            continue
        row = send_personal_link(
            session,
            cycle,
            agency,
            contribution,
            contact,
            kind=Kind.fresh_link,
            key=f"fresh-link:{address}:{at.isoformat()}:{contribution.id}",
            at=at,
            base_url=base_url,
            link_valid_days=link_valid_days,
            templates_dir=templates_dir,
        )
        queued += row is not None
        record(
            session,
            at=at,
            actor=contact.email,
            action="link.fresh",
            subject=f"contribution:{contribution.id}",
            cycle_id=cycle.id,
        )
    return queued
