"""Personal links for the Chair (the review) and the business manager (the desk) of a cycle, by email."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session

from models.audit import record
from models.cycle import Cycle
from models.ladder import Kind
from models.store import cycle_values, partnership_of
from tasks.links.tokens import issue_staff_link, link_url
from tasks.mail.context import date_text, day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email

PAGES = {"chair": "review", "manager": "desk"}


def send_staff_link(
    session: Session,
    cycle: Cycle,
    role: str,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> str:
    """Email the Chair or the business manager a fresh personal link; returns the address it goes to."""
    if role not in PAGES:
        raise ValueError(f"a staff link is for 'chair' or 'manager', not {role!r}")
    partnership = partnership_of(session, cycle)
    chair = cycle_values(cycle)[4]
    name, email = (
        (chair.name, str(chair.email))
        if role == "chair"
        else (partnership.business_manager_name, partnership.business_manager_email)
    )
    token = issue_staff_link(session, role=role, cycle_id=cycle.id or 0, email=email, at=at, valid_days=link_valid_days)
    context = {
        "partnership": {"name": partnership.name},
        "business_manager": {"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        "cycle": {
            "title": cycle.title,
            "label": cycle.label,
            "period_text": f"{date_text(cycle.period_start)} to {date_text(cycle.period_end)}",
        },
        "person": {"name": name, "role": role},
        "link": link_url(base_url, token),
        "expires_text": day_text((at + dt.timedelta(days=link_valid_days)).date()),
    }
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"staff-link:{role}:{cycle.id}:{at.isoformat()}",
            kind=Kind.staff_link,
            to=[email],
            cycle_id=cycle.id,
        ),
        render_email(templates_dir, Kind.staff_link, context),
        at=at,
    )
    record(session, at=at, actor=actor, action=f"link.{role}.send", subject=f"cycle:{cycle.id}", cycle_id=cycle.id)
    return email
