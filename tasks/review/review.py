"""The Chair's decisions: recorded by people, applied by the review flow."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle, ReviewDecision, Revision
from models.ladder import Kind
from models.lifecycle import CentralState, ContributionState, CycleState, next_central_state, next_cycle_state
from models.partnership import Agency
from models.report import CentralSection
from models.store import (
    NotFound,
    calendar_of,
    contribution_for,
    cycle_values,
    partnership_of,
    transition,
)
from tasks.asking.deadline_notice import notify_new_deadline


class ReviewError(ValueError):
    pass


def _target(session: Session, cycle: Cycle, name: str) -> tuple[Contribution | None, CentralSection | None]:
    agency = session.exec(
        select(Agency).where(Agency.partnership_id == cycle.partnership_id, Agency.slug == name)
    ).first()
    if agency is not None:
        return contribution_for(session, cycle, agency), None
    section = session.exec(
        select(CentralSection).where(CentralSection.cycle_id == cycle.id, CentralSection.key == name)
    ).first()
    if section is not None:
        return None, section
    agencies = session.exec(select(Agency.slug).where(Agency.partnership_id == cycle.partnership_id)).all()
    sections = session.exec(select(CentralSection.key).where(CentralSection.cycle_id == cycle.id)).all()
    raise NotFound(
        f"{name!r} is neither an agency nor a central section; agencies: {', '.join(sorted(agencies))}; "
        f"central sections: {', '.join(sections) or 'none'}"
    )


def record_decision(
    session: Session,
    cycle: Cycle,
    name: str,
    decision: str,
    *,
    comments: str = "",
    brief_section: str | None = None,
    at: dt.datetime,
    actor: str,
) -> ReviewDecision:
    """The Chair approves or returns what they read: the current revision, or the central text."""
    if decision not in ("approve", "return"):
        raise ReviewError(f"a decision is approve or return, not {decision!r}")
    if decision == "return" and not comments.strip():
        raise ReviewError("a returned contribution needs comments saying what to change")
    contribution, section = _target(session, cycle, name)
    brief = cycle_values(cycle)[0]
    if brief_section is not None and brief_section not in {s.key for s in brief.sections}:
        raise ReviewError(
            f"the brief has no section {brief_section!r}; its sections are {', '.join(s.key for s in brief.sections)}"
        )
    row = ReviewDecision(
        cycle_id=cycle.id or 0,
        decision=decision,
        comments=comments.strip(),
        brief_section=brief_section,
        decided_by=actor,
        decided_at=at,
        content_hash="",
    )
    if contribution is not None:
        if contribution.status != ContributionState.submitted:
            raise ReviewError(f"nothing to review for {name}: its contribution is {contribution.status}")
        revision = session.exec(
            select(Revision).where(
                Revision.contribution_id == contribution.id, Revision.number == contribution.current_revision
            )
        ).one()
        row.contribution_id, row.revision_id, row.content_hash = contribution.id, revision.id, revision.content_hash
    else:
        assert section is not None
        if not section.body_md.strip():
            raise ReviewError(f"nothing to review for {name}: the central section has no text yet")
        if section.status != CentralState.draft:
            raise ReviewError(f"nothing to review for {name}: the central section is {section.status}")
        row.central_section_id, row.content_hash = section.id, section.body_hash
    session.add(row)
    session.flush()
    record(
        session,
        at=at,
        actor=actor,
        action=f"review.{decision}.recorded",
        subject=f"decision:{row.id}",
        cycle_id=cycle.id,
        target=name,
        comments=row.comments,
    )
    return row


@dataclass
class ReviewReport:
    applied: list[str] = field(default_factory=list)  # "bcc approve"
    stale: list[str] = field(default_factory=list)  # the text changed after the Chair read it


def apply_decisions(
    session: Session, cycle: Cycle, *, at: dt.datetime, actor: str, base_url: str, templates_dir: Path
) -> ReviewReport:
    report = ReviewReport()
    pending = session.exec(
        select(ReviewDecision)
        .where(ReviewDecision.cycle_id == cycle.id, col(ReviewDecision.applied_at).is_(None))
        .order_by(col(ReviewDecision.decided_at), col(ReviewDecision.id))
    ).all()
    for d in pending:
        name, outcome = _apply(session, cycle, d, at=at, actor=actor, base_url=base_url, templates_dir=templates_dir)
        d.applied_at, d.outcome = at, outcome
        session.add(d)
        (report.applied if outcome == "applied" else report.stale).append(f"{name} {d.decision}")
    if report.applied and cycle.status == CycleState.open:
        cycle.status = next_cycle_state(CycleState.open, "start_review")
        session.add(cycle)
        record(session, at=at, actor=actor, action="cycle.start_review", subject=f"cycle:{cycle.id}", cycle_id=cycle.id)
    return report


def _apply(
    session: Session,
    cycle: Cycle,
    d: ReviewDecision,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> tuple[str, str]:
    if d.central_section_id is not None:
        section = session.get(CentralSection, d.central_section_id)
        assert section is not None
        if section.body_hash != d.content_hash or section.status != CentralState.draft:
            return section.key, "stale"
        section.status = next_central_state(CentralState(section.status), d.decision)
        session.add(section)
        record(
            session,
            at=at,
            actor=d.decided_by,
            action=f"central.{d.decision}",
            subject=f"central:{section.id}",
            cycle_id=cycle.id,
            comments=d.comments,
        )
        return section.key, "applied"
    contribution = session.get(Contribution, d.contribution_id)
    assert contribution is not None
    agency = session.get(Agency, contribution.agency_id)
    assert agency is not None
    revision = session.get(Revision, d.revision_id)
    if (
        revision is None
        or revision.number != contribution.current_revision
        or contribution.status != ContributionState.submitted
    ):
        return agency.slug, "stale"
    transition(
        session, contribution, d.decision, at=at, actor=d.decided_by, revision=revision.number, comments=d.comments
    )
    if d.decision == "return":
        _send_back(session, cycle, agency, contribution, d, at=at, base_url=base_url, templates_dir=templates_dir)
    return agency.slug, "applied"


def _send_back(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    d: ReviewDecision,
    *,
    at: dt.datetime,
    base_url: str,
    templates_dir: Path,
) -> None:
    """The later of the current deadline and the policy's working days from today, and the Chair's comments to
    the agency. It re-enters chasing."""
    calendar = calendar_of(partnership_of(session, cycle))
    brief, _, policy, _, chair = cycle_values(cycle)
    today = calendar.local(at).date()
    # A return gives the agency time to revise, never less than it had: a return weeks before the deadline
    # keeps the deadline; one after it moves it on by the policy's working days.
    revised_by = calendar.add_working_days(today, policy.returned_deadline_working_days)
    if revised_by > contribution.due_date:
        contribution.due_date = revised_by
        contribution.deadline_set_on = today
    notify_new_deadline(
        session,
        cycle,
        agency,
        contribution,
        kind=Kind.returned,
        key=f"contribution:{contribution.id}:returned:decision:{d.id}",
        at=at,
        base_url=base_url,
        templates_dir=templates_dir,
        chair={"name": chair.name},
        comments=d.comments,
        brief_section=brief.section(d.brief_section).title if d.brief_section else None,
    )
