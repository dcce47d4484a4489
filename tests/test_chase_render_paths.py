"""The chase's fast path writes the emails a fresh render writes, byte for byte.

The chase works out what a cycle's emails share once (`cycle_context`, each deadline's wording, wrapped lines,
the report's names) and inserts its rows a table at a time (issue 19). Here every chaser a cycle's ladder
sends is rendered again the slow way, one email alone, with every cache emptied first, and compared whole.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlmodel import Session, col, select

from models.outbox import OutboundEmail
from models.partnership import Contact
from models.store import calendar_of, contributions, partnership_of
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle
from tasks.mail import context, render
from tasks.mail.context import email_context
from tasks.mail.render import render_email
from tests.conftest import SECOND
from tests.helpers import local
from tests.test_chase_mail import _open

LINK = re.compile(r"https?://\S+/(?:c/[A-Za-z0-9_-]{43}|contribution/\d+)")


def _forget() -> None:
    """Empty every cache the chase's rendering keeps, so the next render starts from nothing."""
    render.environment.cache_clear()
    render._wrapped.cache_clear()
    context.report_names.cache_clear()
    context._deadline.cache_clear()


def test_every_chaser_of_a_ladder_is_what_a_fresh_render_writes(session: Session) -> None:
    s = get_settings()
    cycle = _open(session, SECOND, "2026-04-20")
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    manager_email = partnership.business_manager_email
    day = dt.date(2026, 4, 21)
    while day <= dt.date(2026, 7, 10):  # from the request to past every agency's escalation
        chase_cycle(
            session,
            cycle,
            at=local(day.isoformat()),
            actor="t",
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        )
        session.commit()
        day += dt.timedelta(days=1)
    chasers = ("reminder", "overdue", "final_notice", "escalation")
    rows = session.exec(
        select(OutboundEmail).where(OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.kind).in_(chasers))
    ).all()
    assert {r.kind for r in rows} == {"reminder", "overdue", "final_notice", "escalation"}
    by_id = {c.id: (c, a) for c, a in contributions(session, cycle)}
    for row in rows:
        contribution, agency = by_id[row.contribution_id]
        # Whom the letter is addressed to is the first of its To (see `audience` and `cover_for_the_away`).
        addressee = session.exec(
            select(Contact).where(Contact.agency_id == agency.id, Contact.email == row.to_addrs[0])
        ).first()
        if addressee is None:
            assert row.to_addrs == [manager_email]
            addressee = Contact(
                agency_id=0, role="manager", name=partnership.business_manager_name, email=manager_email
            )
        (link,) = set(LINK.findall(row.text_body))
        _forget()
        fresh = render_email(
            s.templates_dir,
            row.kind,
            email_context(
                partnership=partnership,
                cycle=cycle,
                agency=agency,
                contribution=contribution,
                contact=addressee,
                calendar=calendar,
                at=row.created_at,
                link=link,
            ),
        )
        assert (row.subject, row.text_body, row.html_body) == (fresh.subject, fresh.text, fresh.html), (
            row.idempotency_key
        )
