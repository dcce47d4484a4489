"""The chase run: reminders, overdue notices, final notices and escalations that are due now."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.bulk import RowBatch
from models.cycle import Contribution, Cycle, PersonalLink
from models.ladder import Kind, Step, due_now, ladder
from models.lifecycle import AWAITING, CycleState
from models.outbox import OutboundEmail, OutboxStatus, refused_for_good
from models.partnership import Agency, Contact, ContactRole
from models.store import calendar_of, contributions, cycle_values, partnership_of
from tasks.asking.cycle_open import PlannedEmail
from tasks.asking.digest import enqueue_digest
from tasks.links.tokens import LINK_VALID_DAYS, link_url, new_link
from tasks.mail.context import contribution_context, cycle_context
from tasks.mail.outbox import outbox_values, partnership_envelope
from tasks.mail.render import render_email

RUNNING = (CycleState.open, CycleState.in_review)  # the cycles the daily chase sweeps, as `running_cycles`


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


def steps_done(session: Session, cycle: Cycle) -> dict[tuple[int, str], set[str]]:
    """Steps already sent or superseded, by (contribution, deadline): one query for the whole cycle."""
    keys = session.exec(
        select(OutboundEmail.idempotency_key).where(
            OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.idempotency_key).contains(":deadline:")
        )
    ).all()
    done: dict[tuple[int, str], set[str]] = defaultdict(set)
    for key in keys:
        _, contribution_id, _, deadline, step = key.split(":", 4)
        done[(int(contribution_id), deadline)].add(step)
    return done


def contacts_by_agency_id(session: Session, agency_ids: list[int]) -> dict[int, dict[str, Contact]]:
    found: dict[int, dict[str, Contact]] = defaultdict(dict)
    for contact in session.exec(select(Contact).where(col(Contact.agency_id).in_(agency_ids))):
        found[contact.agency_id][contact.role] = contact
    return found


def partnership_contacts(session: Session, cycle: Cycle) -> list[Contact]:
    """Every contact of every agency of the cycle's partnership (active or not), in one query."""
    return list(
        session.exec(
            select(Contact)
            .join(Agency, col(Agency.id) == Contact.agency_id)
            .where(Agency.partnership_id == cycle.partnership_id)
            .order_by(col(Contact.id))
        )
    )


def refused_addresses(session: Session, cycle: Cycle, contacts: list[Contact] | None = None) -> set[str]:
    """Addresses a relay refused for good during this cycle, or that bounced (the contact is marked undeliverable
    until the desk corrects it), unless the desk said since that the address works: chasers go to the agency's
    other contacts. `contacts`: the partnership's (`partnership_contacts`), when the caller has read them."""
    rows = session.exec(
        select(OutboundEmail.deliveries).where(OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.refused) > 0)
    ).all()
    last_refused: dict[str, str] = {}
    for deliveries in rows:
        for address in refused_for_good(dict(deliveries)):
            last_refused[address] = max(last_refused.get(address, ""), str(deliveries[address].get("at", "")))
    fixed: dict[str, dt.datetime] = {}
    if last_refused:  # most days nothing was refused, and no correction is worth reading
        for event in session.exec(
            select(AuditEvent).where(AuditEvent.cycle_id == cycle.id, AuditEvent.action == "contact.address_fixed")
        ):
            fixed[event.detail["email"]] = max(fixed.get(event.detail["email"], event.at), event.at)
    refused = {
        address
        for address, when in last_refused.items()
        if address not in fixed or (when and dt.datetime.fromisoformat(when) > fixed[address])
    }
    if contacts is None:
        contacts = partnership_contacts(session, cycle)
    return refused | {c.email for c in contacts if c.undeliverable is not None}


def cover_for_the_away(
    contacts: dict[str, Contact],
    addressee: Contact | None,
    to: list[str],
    cc: list[str],
    refused: set[str],
    today: dt.date,
) -> tuple[Contact | None, list[str], list[str]]:
    """While the contact a chaser is addressed to is away (their automatic reply said so), it is addressed to the
    agency's other contacts (the deputy, the colleague writing it) and copies the one away, who misses nothing."""
    away = {c.email for c in contacts.values() if c.away_until is not None and c.away_until >= today}
    if addressee is None or addressee.email not in away:
        return addressee, to, cc
    by_email = {c.email: c for c in contacts.values()}
    others = [
        c.email
        for role, c in contacts.items()
        if role in (ContactRole.deputy, ContactRole.writer, ContactRole.lead)
        and c.email not in away | refused | set(to) | set(cc)
    ]
    present = [a for a in to if a not in away] + others
    if not present:  # everyone is away: it goes as it would have, to be read on their return
        return addressee, to, cc
    return by_email[present[0]], present, [*cc, *(a for a in to if a in away)]


def audience(
    step: Step,
    contacts: dict[str, Contact],
    manager: Contact,
    refused: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[Contact | None, list[str], list[str]]:
    """(whom the letter is addressed to, To, Cc) for a step; an address refused for good is left out."""
    asked = [contacts[r] for r in (ContactRole.lead, ContactRole.deputy) if r in contacts]
    asked = [c for c in asked if c.email not in refused]
    if step.kind == Kind.escalation:
        senior = contacts.get(ContactRole.senior)
        if senior is None or senior.email in refused:  # no reachable chief officer: the business manager instead
            return manager, [manager.email], []
        return senior, [senior.email], [manager.email]
    cc = [manager.email] if step.kind == Kind.final_notice else []
    return (asked[0] if asked else None), [c.email for c in asked], cc


def _link(
    rows: RowBatch,
    base_url: str,
    contribution: Contribution,
    addressee: Contact,
    step: Step,
    superseded: bool,
    at: dt.datetime,
    valid_days: int,
) -> str:
    """A reminder, overdue or final notice carries a personal link of its own, so it signs its reader in weeks
    later; an escalation (to a chief officer) and a step never sent point at the page, which asks for a link."""
    if superseded or step.kind == Kind.escalation or addressee.id is None:
        return f"{base_url}/contribution/{contribution.id}"
    token, link = new_link(contribution_id=contribution.id or 0, contact_id=addressee.id, at=at, valid_days=valid_days)
    rows.add(PersonalLink, **link)
    return link_url(base_url, token)


def chase_cycle(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
    link_valid_days: int = LINK_VALID_DAYS,
) -> ChaseReport:
    """Enqueue what the ladder says is due today for every awaiting contribution, then the digest.

    A fixed number of statements per cycle, however many agencies it has and emails it sends: what is due is
    read in a few queries, and the emails, their links and their audit events are inserted a table at a time.
    """
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    today = calendar.local(at).date()
    report = ChaseReport(cycle=f"{partnership.slug} {cycle.label}", local_date=today)
    if not calendar.is_working_day(today):
        holiday = calendar.holiday_name(today)
        report.skipped_because = f"{today:%A %d %B %Y} is not a working day" + (f" ({holiday})" if holiday else "")
        return report
    if not calendar.in_send_window(at):
        local = calendar.local(at)
        window = f"{calendar.spec.send_window_start:%H:%M}-{calendar.spec.send_window_end:%H:%M}"
        report.skipped_because = f"{local:%H:%M} is outside the send window {window}"
        return report

    read = contributions(session, cycle)
    awaiting = [(c, a) for c, a in read if c.status in AWAITING]
    if not awaiting:
        return report
    _, _, policy, _, _ = cycle_values(cycle)
    manager = Contact(
        agency_id=0, role="manager", name=partnership.business_manager_name, email=partnership.business_manager_email
    )
    done = steps_done(session, cycle)
    everyone = partnership_contacts(session, cycle)
    refused = refused_addresses(session, cycle, everyone)
    contacts_by_agency: dict[int, dict[str, Contact]] = defaultdict(dict)
    for contact in everyone:
        contacts_by_agency[contact.agency_id][contact.role] = contact
    # What every email of the cycle says alike, and each deadline's ladder, are worked out once for the cycle.
    shared = cycle_context(partnership, cycle)
    ladders: dict[dt.date, list[Step]] = {}
    rows = RowBatch()
    did: list[str] = []
    for contribution, agency in awaiting:
        if contribution.due_date not in ladders:
            ladders[contribution.due_date] = ladder(policy, contribution.due_date, calendar)
        steps = ladders[contribution.due_date]
        already = done.get((contribution.id or 0, contribution.due_date.isoformat()), set())
        send, superseded = due_now(steps, today, contribution.deadline_set_on, already)
        contacts = contacts_by_agency.get(agency.id or 0, {})
        # Today's steps are dealt with below; the next chase that must look at this contribution is on its next
        # step's day. A step left unsent (no address to send it to) keeps it looked at every day until it goes.
        contribution.next_step_on = next_step_on(steps, today, contribution.deadline_set_on)
        for step, superseded_step in [(s, True) for s in superseded] + [(s, False) for s in send]:
            addressee, to, cc = audience(step, contacts, manager, refused)
            if step.kind != Kind.escalation:
                addressee, to, cc = cover_for_the_away(contacts, addressee, to, cc, refused, today)
            if addressee is None or not to:
                if not superseded_step:
                    contribution.next_step_on = None
                if contacts and not superseded_step:
                    did.append(
                        f"{agency.name}: {step.kind.replace('_', ' ')} ({step.name}) not sent: every contact's "
                        "address was refused by their mail server; correct the contact on the desk"
                    )
                continue
            held = step.kind == Kind.escalation and policy.escalation_needs_confirmation and not superseded_step
            status = OutboxStatus.superseded if superseded_step else OutboxStatus.held if held else OutboxStatus.queued
            context = {
                **shared,
                **contribution_context(agency=agency, contribution=contribution, contact=addressee, today=today),
                "link": _link(rows, base_url, contribution, addressee, step, superseded_step, at, link_valid_days),
            }
            envelope = partnership_envelope(
                partnership,
                key=step_key(contribution, step),
                kind=step.kind,
                to=to,
                cc=cc,
                cycle_id=cycle.id,
                contribution_id=contribution.id,
            )
            # Every step in `done` was left out by due_now: this key is new (one query read them all), and the
            # key's unique constraint still refuses a second run that raced this one.
            rendered = render_email(templates_dir, step.kind, context)
            rows.add(OutboundEmail, **outbox_values(envelope, rendered, at=at, status=status))
            note = step.name + (" (held for the business manager's confirmation)" if held else "")
            planned = PlannedEmail(agency.slug, step.kind, tuple(to), tuple(cc), today, note=note)
            (report.superseded if superseded_step else report.emails).append(planned)
            # Queued, not sent: dispatch sends it after this run, and the digest must not claim more than it knows.
            verb = "superseded, not sent" if superseded_step else "held" if held else "queued"
            did.append(f"{agency.name}: {step.kind.replace('_', ' ')} ({step.name}) {verb} for {', '.join(to)}")
            rows.add(
                AuditEvent,
                at=at,
                actor=actor,
                subject=f"contribution:{contribution.id}",
                cycle_id=cycle.id,
                action="chase.superseded" if superseded_step else f"chase.{step.kind}",
                detail={"step": step.name, "due_on": str(step.due_on), "to": to, "cc": cc, "status": status},
            )
    rows.write(session)
    if did:
        enqueue_digest(session, cycle, did=did, at=at, templates_dir=templates_dir)
    return report


def next_step_on(steps: list[Step], today: dt.date, since: dt.date) -> dt.date | None:
    """The first day after `today` on which a step of this ladder falls due (steps on or before `since`, the day
    the deadline was set, never apply); None when the ladder has run out."""
    days = [s.due_on for s in steps if s.due_on > today and s.due_on > since]
    return min(days) if days else None


def due_cycle_ids(session: Session, at: dt.datetime) -> set[int]:
    """The running cycles with a contribution that may have a step due at `at`, in one query for every cycle.

    Each awaiting contribution keeps its next step's local day (None: not worked out yet). The bound is the
    latest local date anywhere on Earth at `at` (UTC+14 at most), so no partnership's today is missed; a cycle
    found here whose own today is earlier is chased and finds nothing due, at the cost of a look.
    """
    bound = (at.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()
    query = (
        select(Contribution.cycle_id)
        .join(Cycle)
        .where(col(Cycle.status).in_(RUNNING))
        .where(col(Contribution.status).in_(AWAITING))
        .where(or_(col(Contribution.next_step_on).is_(None), col(Contribution.next_step_on) <= bound))
        .distinct()
    )
    return set(session.exec(query).all())


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
