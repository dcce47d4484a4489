"""Opening a cycle: a contribution per agency, a personal link and a request per contact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle
from models.ladder import Kind
from models.lifecycle import ContributionState, CycleState, next_cycle_state
from models.partnership import Agency, ContactRole
from models.store import calendar_of, contacts_of, partnership_of, transition
from tasks.links.tokens import issue_link, link_url
from tasks.mail.context import day_text, email_context
from tasks.mail.outbox import already_queued, enqueue, partnership_envelope
from tasks.mail.render import render_email

# Contacts who are asked for the contribution; the senior contact hears only on escalation.
ASKED = (ContactRole.lead, ContactRole.deputy)


@dataclass(frozen=True)
class PlannedEmail:
    agency: str
    kind: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    local_date: dt.date
    note: str = ""


@dataclass
class OpenReport:
    cycle: str
    opened_now: bool = False
    contributions_created: int = 0
    emails: list[PlannedEmail] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def open_cycle(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> OpenReport:
    # Here, not at the top: the chase imports this module for PlannedEmail and builds no calendar entry.
    from tasks.mail.calendar_entry import deadline_entry

    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    today = calendar.local(at).date()
    report = OpenReport(cycle=f"{partnership.slug} {cycle.label}")

    if not calendar.is_working_day(cycle.contributions_due):
        why = calendar.holiday_name(cycle.contributions_due) or f"a {cycle.contributions_due:%A}"
        report.warnings.append(
            f"the deadline {day_text(cycle.contributions_due)} is not a working day ({why}); "
            "consider moving it to a working day"
        )
    if cycle.status == CycleState.planned:
        cycle.status = next_cycle_state(CycleState.planned, "open")
        cycle.opened_at = at
        session.add(cycle)
        record(session, at=at, actor=actor, action="cycle.open", subject=f"cycle:{cycle.id}", cycle_id=cycle.id)
        report.opened_now = True
    elif cycle.status not in (CycleState.open, CycleState.in_review):
        next_cycle_state(CycleState(cycle.status), "open")  # raises: names the state and the action

    agencies = session.exec(
        select(Agency).where(Agency.partnership_id == partnership.id, col(Agency.active)).order_by(col(Agency.id))
    ).all()
    existing = {c.agency_id: c for c in session.exec(select(Contribution).where(Contribution.cycle_id == cycle.id))}
    for agency in agencies:
        contribution = existing.get(agency.id or 0)
        if contribution is None:
            contribution = Contribution(
                cycle_id=cycle.id or 0,
                agency_id=agency.id or 0,
                due_date=cycle.contributions_due,
                cut_off=cycle.cut_off,
                deadline_set_on=today,
            )
            session.add(contribution)
            session.flush()
            record(
                session,
                at=at,
                actor=actor,
                action="contribution.create",
                subject=f"contribution:{contribution.id}",
                cycle_id=cycle.id,
                agency=agency.slug,
                due=str(contribution.due_date),
            )
            report.contributions_created += 1
        if contribution.status != ContributionState.pending:
            continue
        contacts = contacts_of(session, agency)
        for role in ASKED:
            contact = contacts.get(role)
            if contact is None:
                continue
            key = f"contribution:{contribution.id}:request:contact:{contact.id}"
            if already_queued(session, key):
                continue
            token = issue_link(
                session,
                contribution_id=contribution.id or 0,
                contact_id=contact.id or 0,
                at=at,
                valid_days=link_valid_days,
            )
            context = email_context(
                partnership=partnership,
                cycle=cycle,
                agency=agency,
                contribution=contribution,
                contact=contact,
                calendar=calendar,
                at=at,
                link=link_url(base_url, token),
            )
            enqueue(
                session,
                partnership_envelope(
                    partnership,
                    key=key,
                    kind=Kind.request,
                    to=[contact.email],
                    cycle_id=cycle.id,
                    contribution_id=contribution.id,
                    attachments=[
                        deadline_entry(
                            partnership=partnership,
                            cycle=cycle,
                            agency=agency,
                            contribution=contribution,
                            attendees=[contact],
                            calendar=calendar,
                            at=at,
                            # the page, not the personal link: people share and forward calendar entries
                            link=f"{base_url}/contribution/{contribution.id}",
                        )
                    ],
                ),
                render_email(templates_dir, Kind.request, context),
                at=at,
                send_after=calendar.next_send_time(at),
            )
            report.emails.append(PlannedEmail(agency.slug, Kind.request, (contact.email,), (), today))
        transition(session, contribution, "request", at=at, actor=actor)
        contribution.requested_at = at
    return report
