"""Telling an agency it is excused this year: why, what the report will say, and whom to ask."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.ladder import Kind
from models.partnership import Agency
from models.store import calendar_of, contacts_of, partnership_of
from tasks.asking.deadline_notice import cancelled_entry
from tasks.mail.context import email_context
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email

KIND = Kind.excused


def tell_excused(
    session: Session,
    cycle: Cycle,
    contribution: Contribution,
    *,
    reason: str,
    at: dt.datetime,
    templates_dir: Path,
) -> list[str]:
    """Queue the `excused` email to every contact the agency has, in the send window; the addresses it goes to.

    It carries no personal link: there is nothing left for them to write. Replies go to the business manager.
    """
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    contacts = list(contacts_of(session, agency).values())
    to = list(dict.fromkeys(c.email for c in contacts))  # one email each, even for someone in two roles
    if not to:
        return []
    # Nothing is due any more: the deadline's calendar entry is cancelled in the same email.
    entry, _ = cancelled_entry(session, cycle, agency, contribution, at=at)
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=contacts[0],
        calendar=calendar,
        at=at,
        link="",
        reason=reason,
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            # an agency excused, asked again, and excused again later hears each time
            key=f"contribution:{contribution.id}:excused:{at.isoformat()}",
            kind=KIND,
            to=to,
            cycle_id=cycle.id,
            contribution_id=contribution.id,
            attachments=[entry] if entry else [],
        ),
        render_email(templates_dir, KIND, context),
        at=at,
        send_after=calendar.next_send_time(at),
    )
    return to
