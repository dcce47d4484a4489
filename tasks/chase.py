"""The chase run: reminders, overdue notices, final notices and escalations that are due now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle, PersonalLink
from models.ladder import Kind, Step, due_now, ladder
from models.lifecycle import AWAITING
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency, Contact, ContactRole
from models.store import calendar_of, contacts_of, contributions, cycle_values, partnership_of
from tasks.context import email_context
from tasks.cycle_open import PlannedEmail
from tasks.outbox import Envelope, enqueue
from tasks.render import render_email


@dataclass
class ChaseReport:
    cycle: str
    local_date: dt.date
    skipped_because: str | None = None
    emails: list[PlannedEmail] = field(default_factory=list)
    superseded: list[PlannedEmail] = field(default_factory=list)


def step_key(contribution: Contribution, step: Step) -> str:
    # The deadline is part of the key: an extension starts a fresh ladder, and what
    # was sent under the old deadline stays in the log under its own key.
    return f"contribution:{contribution.id}:deadline:{contribution.due_date.isoformat()}:{step.name}"


def _done(session: Session, contribution: Contribution) -> set[str]:
    prefix = f"contribution:{contribution.id}:deadline:{contribution.due_date.isoformat()}:"
    keys = session.exec(
        select(OutboundEmail.idempotency_key).where(col(OutboundEmail.idempotency_key).startswith(prefix))
    ).all()
    return {k.removeprefix(prefix) for k in keys}


def _audience(
    step: Step, contacts: dict[str, Contact], manager: Contact
) -> tuple[Contact | None, list[str], list[str]]:
    """(whom the letter is addressed to, To, Cc) for a step."""
    asked = [contacts[r] for r in (ContactRole.lead, ContactRole.deputy) if r in contacts]
    if step.kind == Kind.escalation:
        senior = contacts.get(ContactRole.senior)
        if senior is None:  # no chief officer on file: the business manager is told instead
            return manager, [manager.email], []
        return senior, [senior.email], [manager.email]
    cc = [manager.email] if step.kind == Kind.final_notice else []
    return (asked[0] if asked else None), [c.email for c in asked], cc


def chase_cycle(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> ChaseReport:
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    today = calendar.local(at).date()
    report = ChaseReport(cycle=f"{partnership.slug} {cycle.label}", local_date=today)
    if not calendar.is_working_day(today):
        report.skipped_because = f"{today:%A %d %B %Y} is not a working day" + (
            f" ({calendar.holiday_name(today)})" if calendar.holiday_name(today) else ""
        )
        return report
    if not calendar.in_send_window(at):
        local = calendar.local(at)
        report.skipped_because = (
            f"{local:%H:%M} is outside the send window "
            f"{calendar.spec.send_window_start:%H:%M}-{calendar.spec.send_window_end:%H:%M}"
        )
        return report

    _, _, policy, _, _ = cycle_values(cycle)
    manager = Contact(
        agency_id=0, role="manager", name=partnership.business_manager_name, email=partnership.business_manager_email
    )
    for contribution, agency in contributions(session, cycle):
        if contribution.status not in AWAITING:
            continue
        steps = ladder(policy, contribution.due_date, calendar)
        send, superseded = due_now(steps, today, contribution.deadline_set_on, _done(session, contribution))
        if not send and not superseded:
            continue
        contacts = contacts_of(session, agency)
        for step, status in [(s, OutboxStatus.superseded) for s in superseded] + [
            (s, OutboxStatus.queued) for s in send
        ]:
            addressee, to, cc = _audience(step, contacts, manager)
            if addressee is None or not to:
                continue
            context = email_context(
                partnership=partnership,
                cycle=cycle,
                agency=agency,
                contribution=contribution,
                contact=addressee,
                calendar=calendar,
                at=at,
                link=_link_hint(session, base_url, contribution),
                leads=", ".join(c.name for r, c in contacts.items() if r != ContactRole.senior) or "your agency",
            )
            row = enqueue(
                session,
                Envelope(
                    key=step_key(contribution, step),
                    kind=step.kind,
                    from_addr=partnership.from_address,
                    to=to,
                    cc=cc,
                    cycle_id=cycle.id,
                    contribution_id=contribution.id,
                ),
                render_email(templates_dir, step.kind, context),
                at=at,
                status=status,
            )
            if row is None:
                continue
            planned = PlannedEmail(agency.slug, step.kind, tuple(to), tuple(cc), today, note=step.name)
            if status == OutboxStatus.superseded:
                report.superseded.append(planned)
                record(
                    session,
                    at=at,
                    actor=actor,
                    action="chase.superseded",
                    subject=f"contribution:{contribution.id}",
                    cycle_id=cycle.id,
                    step=step.name,
                    due_on=str(step.due_on),
                )
            else:
                report.emails.append(planned)
                record(
                    session,
                    at=at,
                    actor=actor,
                    action=f"chase.{step.kind}",
                    subject=f"contribution:{contribution.id}",
                    cycle_id=cycle.id,
                    step=step.name,
                    due_on=str(step.due_on),
                    to=to,
                    cc=cc,
                )
    return report


def _link_hint(session: Session, base_url: str, contribution: Contribution) -> str:
    """Reminders point at the portal, not a fresh token: the personal link is in the request.

    Raw tokens exist only in the request email; a chaser that needs a new link
    uses the portal's "send me a fresh link" page.
    """
    has_link = session.exec(select(PersonalLink.id).where(PersonalLink.contribution_id == contribution.id)).first()
    return f"{base_url}/contribution/{contribution.id}" if has_link else f"{base_url}/"


def next_due(session: Session, cycle: Cycle, after: dt.date) -> dt.date | None:
    """The next local day after `after` on which some step of some awaiting contribution falls due."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    _, _, policy, _, _ = cycle_values(cycle)
    days = [
        s.due_on
        for c, _a in contributions(session, cycle)
        if c.status in AWAITING
        for s in ladder(policy, c.due_date, calendar)
        if s.due_on > after and s.due_on > c.deadline_set_on
    ]
    return min(days) if days else None


__all__ = ["Agency", "ChaseReport", "chase_cycle", "next_due"]
