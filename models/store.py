"""Data access. Every function takes the session explicitly and never commits."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from models.audit import record
from models.calendar import WorkingCalendar, working_calendar
from models.cycle import Contribution, Cycle
from models.errors import NotFound
from models.lifecycle import ContributionState, CycleState, next_contribution_state
from models.partnership import Agency, Contact, Partnership
from models.report import CentralSection
from models.status import find_cycle_row
from models.values import Brief, Person, Priority, Recipient, ReminderPolicy

if TYPE_CHECKING:  # only the loading functions take one: building its classes costs a quarter of a second
    from models.partnership_file import PartnershipFile


@dataclass(frozen=True)
class LoadReport:
    partnership: str
    agencies_added: int
    agencies_updated: int
    contacts_written: int
    cycle: str
    cycle_action: str  # created | updated | kept (already opened)


def cycle_settings(spec: PartnershipFile) -> dict[str, Any]:
    """What a cycle keeps of its partnership file, as the JSON its columns hold: the Chair, priorities, brief,
    reminder policy, recipients and report settings."""
    return {
        "chair": spec.cycle.chair.model_dump(mode="json"),
        "priorities": [x.model_dump(mode="json") for x in spec.priorities],
        "brief": spec.brief.model_dump(mode="json"),
        "reminder_policy": spec.reminders.model_dump(mode="json"),
        "recipients": [x.model_dump(mode="json") for x in spec.recipients],
        "report": spec.report.model_dump(mode="json"),
    }


def load_partnership(
    session: Session,
    spec: PartnershipFile,
    *,
    at: dt.datetime,
    actor: str,
    action: str = "partnership.load",
    **detail: Any,
) -> LoadReport:
    """Create or update a partnership, its agencies and contacts, and its planned cycle; audited as `action`
    with `detail` (the desk's edits are written this way too, so a file and a form change the same things)."""
    p = spec.partnership
    cal = spec.calendar
    partnership = session.exec(select(Partnership).where(Partnership.slug == p.slug)).first()
    if partnership is None:
        partnership = Partnership(
            slug=p.slug,
            name=p.name,
            from_address=p.from_address,
            business_manager_name=p.business_manager.name,
            business_manager_email=p.business_manager.email,
        )
    partnership.name = p.name
    partnership.from_address = p.from_address
    partnership.business_manager_name = p.business_manager.name
    partnership.business_manager_email = p.business_manager.email
    partnership.timezone = cal.timezone
    partnership.holidays = cal.holidays
    partnership.send_window_start = cal.send_window_start.strftime("%H:%M")
    partnership.send_window_end = cal.send_window_end.strftime("%H:%M")
    partnership.publish_within_months = spec.statutory.publish_within_months
    session.add(partnership)
    session.flush()
    assert partnership.id is not None

    existing = {a.slug: a for a in session.exec(select(Agency).where(Agency.partnership_id == partnership.id))}
    added = updated = contacts = 0
    for a in spec.agencies:
        agency = existing.get(a.slug)
        if agency is None:
            agency = Agency(partnership_id=partnership.id, slug=a.slug, name=a.name)
            added += 1
        else:
            updated += 1
        agency.name = a.name
        agency.aliases = list(a.aliases)
        agency.active = True
        session.add(agency)
        session.flush()
        by_role = {c.role: c for c in session.exec(select(Contact).where(Contact.agency_id == agency.id))}
        for spec_contact in a.contacts:
            contact = by_role.pop(spec_contact.role, None) or Contact(
                agency_id=agency.id or 0, role=spec_contact.role, name="", email=""
            )
            contact.name, contact.email = spec_contact.name, str(spec_contact.email)
            session.add(contact)
            contacts += 1
        for stale in by_role.values():
            if stale.role != "writer":  # a colleague the lead handed the link to is no role of the file
                session.delete(stale)
    for slug, agency in existing.items():
        if slug not in {a.slug for a in spec.agencies}:
            agency.active = False  # kept for past cycles; not asked in new ones
            session.add(agency)

    c = spec.cycle
    cycle = session.exec(select(Cycle).where(Cycle.partnership_id == partnership.id, Cycle.label == c.label)).first()
    if cycle is not None and cycle.status != CycleState.planned:
        cycle_action = "kept"
    else:
        cycle_action = "created" if cycle is None else "updated"
        values: dict[str, Any] = dict(
            partnership_id=partnership.id,
            label=c.label,
            title=c.title,
            period_start=c.period_start,
            period_end=c.period_end,
            requests_on=c.requests_on,
            contributions_due=c.contributions_due,
            cut_off=c.cut_off,
            review_due=c.review_due,
            publish_by=c.publish_by,
            **cycle_settings(spec),
        )
        if cycle is None:
            cycle = Cycle(**values)
        else:
            for k, v in values.items():
                setattr(cycle, k, v)
        session.add(cycle)
        session.flush()
        _plan_central_sections(session, cycle, spec)
    record(
        session,
        at=at,
        actor=actor,
        action=action,
        subject=f"partnership:{partnership.id}",
        cycle_id=cycle.id,
        agencies_added=added,
        agencies_updated=updated,
        cycle=c.label,
        cycle_action=cycle_action,
        **detail,
    )
    return LoadReport(p.slug, added, updated, contacts, c.label, cycle_action)


def _plan_central_sections(session: Session, cycle: Cycle, spec: PartnershipFile) -> None:
    existing = {c.key: c for c in session.exec(select(CentralSection).where(CentralSection.cycle_id == cycle.id))}
    for position, cs in enumerate(spec.central_sections):
        section = existing.pop(cs.key, None) or CentralSection(
            cycle_id=cycle.id or 0, key=cs.key, title=cs.title, position=position
        )
        section.title, section.position = cs.title, position
        session.add(section)
    for stale in existing.values():
        if not stale.body_md:
            session.delete(stale)


def central_sections(session: Session, cycle: Cycle) -> list[CentralSection]:
    return list(
        session.exec(
            select(CentralSection).where(CentralSection.cycle_id == cycle.id).order_by(col(CentralSection.position))
        )
    )


def calendar_of(partnership: Partnership) -> WorkingCalendar:
    return working_calendar(partnership)


def find_cycle(session: Session, partnership_slug: str | None = None, label: str | None = None) -> Cycle:
    """The cycle asked for, or the only one still running when none is named (see `status.find_cycle_row`)."""
    cycle = session.get(Cycle, find_cycle_row(session, partnership_slug, label).id)
    assert cycle is not None
    return cycle


def running_cycles(session: Session, partnership_slug: str | None = None) -> list[tuple[Cycle, Partnership]]:
    """Every cycle with contributions in play (open or in review), of one partnership or all, oldest first.

    The daily chase and the weekly summary sweep these when no cycle is named.
    """
    query = (
        select(Cycle, Partnership)
        .join(Partnership)
        .where(col(Cycle.status).in_([CycleState.open, CycleState.in_review]))
    )
    if partnership_slug:
        query = query.where(Partnership.slug == partnership_slug)
    return [(c, p) for c, p in session.exec(query.order_by(col(Cycle.id))).all()]


def partnership_of(session: Session, cycle: Cycle) -> Partnership:
    partnership = session.get(Partnership, cycle.partnership_id)
    assert partnership is not None
    return partnership


def find_agency(session: Session, cycle: Cycle, slug: str) -> Agency:
    agency = session.exec(
        select(Agency).where(Agency.partnership_id == cycle.partnership_id, Agency.slug == slug)
    ).first()
    if agency is None:
        known = session.exec(select(Agency.slug).where(Agency.partnership_id == cycle.partnership_id)).all()
        raise NotFound(f"no agency {slug!r} in this partnership; known agencies: {', '.join(sorted(known))}")
    return agency


def contribution_for(session: Session, cycle: Cycle, agency: Agency) -> Contribution:
    contribution = session.exec(
        select(Contribution).where(Contribution.cycle_id == cycle.id, Contribution.agency_id == agency.id)
    ).first()
    if contribution is None:
        raise NotFound(
            f"{agency.name} has no contribution in {cycle.label}: open the cycle first (reportcycle cycle open)"
        )
    return contribution


def contributions(session: Session, cycle: Cycle) -> list[tuple[Contribution, Agency]]:
    rows = session.exec(
        select(Contribution, Agency).join(Agency).where(Contribution.cycle_id == cycle.id).order_by(col(Agency.id))
    ).all()
    return [(c, a) for c, a in rows]


def contacts_of(session: Session, agency: Agency) -> dict[str, Contact]:
    return {c.role: c for c in session.exec(select(Contact).where(Contact.agency_id == agency.id))}


def transition(
    session: Session, contribution: Contribution, action: str, *, at: dt.datetime, actor: str, **detail: object
) -> None:
    """Apply a lifecycle action to a contribution and audit it (the only way its status changes)."""
    before = contribution.status
    contribution.status = next_contribution_state(ContributionState(before), action)
    session.add(contribution)
    record(
        session,
        at=at,
        actor=actor,
        action=f"contribution.{action}",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        before=before,
        after=contribution.status,
        **detail,
    )


def cycle_values(cycle: Cycle) -> tuple[Brief, list[Priority], ReminderPolicy, list[Recipient], Person]:
    stored = json.dumps([cycle.brief, cycle.priorities, cycle.reminder_policy, cycle.recipients, cycle.chair])
    brief, priorities, policy, recipients, chair = _validated(stored)
    return brief, list(priorities), policy, list(recipients), chair


# Keyed by the stored JSON itself, so an edited cycle is validated afresh and nothing goes stale. The values
# are frozen; validating them (e-mail addresses above all) was a tenth of every portal page's time.
@functools.lru_cache(maxsize=256)
def _validated(
    stored: str,
) -> tuple[Brief, tuple[Priority, ...], ReminderPolicy, tuple[Recipient, ...], Person]:
    brief, priorities, policy, recipients, chair = json.loads(stored)
    return (
        Brief.model_validate(brief),
        tuple(Priority.model_validate(p) for p in priorities),
        ReminderPolicy.model_validate(policy),
        tuple(Recipient.model_validate(r) for r in recipients),
        Person.model_validate(chair),
    )


def subject_names(session: Session, cycle: Cycle) -> dict[str, str]:
    """Audit subjects a person can read: "contribution:12" is an agency, "central:3" a section key."""
    names = {f"contribution:{c.id}": a.slug for c, a in contributions(session, cycle)}
    names.update({f"central:{c.id}": c.key for c in central_sections(session, cycle)})
    return names
