"""The reviews register of a cycle: entering reviews and findings, and the tables the report prints.

The Care Act 2014, Schedule 2, paragraph 4(1)(d)-(g) asks a Safeguarding Adults Board's report for the
findings of the reviews concluded in the year, the reviews ongoing at its end, what was done to implement
findings, and the findings it decided not to implement with the reasons. A children's partnership keeps
the same register for its local child safeguarding practice reviews. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, func, select

from models.audit import record
from models.cycle import Cycle
from models.reviews import CaseReview, ReviewFinding

OUTCOMES = ("implemented", "not-implemented")


class RegisterError(ValueError):
    """A value the register refuses, with the field it is about (a form's field name) and the fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Words:
    plural: str  # "Safeguarding Adults Reviews"
    singular: str
    example: str  # a review's name, for hints


def words_for(kind: str | None) -> Words:
    """What the partnership's kind calls its reviews (None is a children's partnership, as elsewhere)."""
    if kind == "safeguarding-adults-board":
        return Words("Safeguarding Adults Reviews", "Safeguarding Adults Review", "SAR Adult D")
    if kind in (None, "safeguarding-children-partnership"):
        return Words(
            "Local child safeguarding practice reviews", "local child safeguarding practice review", "LCSPR Child K"
        )
    return Words("Reviews", "review", "Review of case A")


def add_review(
    session: Session,
    cycle: Cycle,
    name: str,
    started_on: dt.date,
    concluded_on: dt.date | None,
    *,
    at: dt.datetime,
    actor: str,
) -> CaseReview:
    name = " ".join(name.split())
    if not name:
        raise RegisterError("name", "Enter the review's name, as the report will name it.")
    if len(name) > 200:
        raise RegisterError("name", "The review's name must be 200 characters or fewer.")
    if session.exec(select(CaseReview).where(CaseReview.cycle_id == cycle.id, CaseReview.name == name)).first():
        raise RegisterError("name", f"The register already has a review called “{name}”: give this one another name.")
    if started_on > cycle.period_end:
        raise RegisterError(
            "started", f"The review must have started by the end of the year ({cycle.period_end:%-d %B %Y})."
        )
    if concluded_on is not None and concluded_on < started_on:
        raise RegisterError("concluded", "The review cannot conclude before it started.")
    review = CaseReview(
        cycle_id=cycle.id or 0,
        name=name,
        started_on=started_on,
        concluded_on=concluded_on,
        created_at=at,
        created_by=actor,
    )
    session.add(review)
    session.flush()
    record(session, at=at, actor=actor, action="review-added", subject=name, cycle_id=cycle.id)
    return review


def add_finding(session: Session, review: CaseReview, text: str, *, at: dt.datetime, actor: str) -> ReviewFinding:
    text = text.strip()
    if not text:
        raise RegisterError("finding", "Enter the finding, as the review states it.")
    last = session.exec(select(func.max(ReviewFinding.number)).where(ReviewFinding.review_id == review.id)).one()
    finding = ReviewFinding(
        review_id=review.id or 0, number=(last or 0) + 1, text=text, updated_at=at, updated_by=actor
    )
    session.add(finding)
    session.flush()
    record(
        session,
        at=at,
        actor=actor,
        action="review-finding-added",
        subject=review.name,
        cycle_id=review.cycle_id,
        number=finding.number,
    )
    return finding


def set_outcome(
    session: Session, finding: ReviewFinding, outcome: str, text: str, *, at: dt.datetime, actor: str
) -> None:
    """Implemented with what was done, or not implemented with why: the text is required either way."""
    if outcome not in OUTCOMES:
        raise RegisterError("outcome", "Choose whether the finding was implemented or not.")
    text = text.strip()
    if not text:
        needed = "what was done to implement it" if outcome == "implemented" else "why it was not implemented"
        raise RegisterError("outcome-text", f"Say {needed}.")
    finding.outcome, finding.outcome_text, finding.updated_at, finding.updated_by = outcome, text, at, actor
    session.add(finding)
    review = session.get(CaseReview, finding.review_id)
    record(
        session,
        at=at,
        actor=actor,
        action="review-finding-outcome",
        subject=review.name if review else "",
        cycle_id=review.cycle_id if review else None,
        number=finding.number,
        outcome=outcome,
    )


def remove_review(session: Session, review: CaseReview, *, at: dt.datetime, actor: str) -> int:
    """Take a review and its findings out of the register (entered by mistake); the audit log keeps that it
    was there. Returns the number of findings removed."""
    findings = session.exec(select(ReviewFinding).where(ReviewFinding.review_id == review.id)).all()
    for f in findings:
        session.delete(f)
    session.flush()
    session.delete(review)
    record(
        session,
        at=at,
        actor=actor,
        action="review-removed",
        subject=review.name,
        cycle_id=review.cycle_id,
        findings=len(findings),
    )
    return len(findings)


def reviews_of(session: Session, cycle: Cycle) -> list[tuple[CaseReview, list[ReviewFinding]]]:
    """The cycle's reviews by start date, each with its findings in order."""
    reviews = session.exec(
        select(CaseReview)
        .where(CaseReview.cycle_id == cycle.id)
        .order_by(col(CaseReview.started_on), col(CaseReview.name))
    ).all()
    findings = session.exec(
        select(ReviewFinding)
        .where(col(ReviewFinding.review_id).in_([r.id for r in reviews]))
        .order_by(col(ReviewFinding.review_id), col(ReviewFinding.number))
    ).all()
    return [(r, [f for f in findings if f.review_id == r.id]) for r in reviews]


def ongoing_at_end(review: CaseReview, cycle: Cycle) -> bool:
    return review.concluded_on is None or review.concluded_on > cycle.period_end


@dataclass
class RegisterView:
    """The four tables of paragraph 4(1)(d)-(g), as rows of plain text, for the report."""

    words: Words
    year_end: str  # "31 March 2026"
    concluded: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # name, started, concluded, findings
    ongoing: list[tuple[str, str]] = field(default_factory=list)  # name, started
    implemented: list[tuple[str, str, str]] = field(default_factory=list)  # review, finding, what was done
    not_implemented: list[tuple[str, str, str]] = field(default_factory=list)  # review, finding, why not


def _day(day: dt.date) -> str:
    return f"{day:%-d %B %Y}"


def register_view(session: Session, cycle: Cycle, kind: str | None) -> RegisterView | None:
    """The register as the report prints it; None when it is empty, so the report has no such section."""
    entries = reviews_of(session, cycle)
    if not entries:
        return None
    view = RegisterView(words_for(kind), _day(cycle.period_end))
    for review, findings in entries:
        if ongoing_at_end(review, cycle):
            view.ongoing.append((review.name, _day(review.started_on)))
        elif review.concluded_on is not None and review.concluded_on >= cycle.period_start:
            texts = [f.text for f in findings]
            view.concluded.append((review.name, _day(review.started_on), _day(review.concluded_on), texts))
        for f in findings:
            if f.outcome == "implemented":
                view.implemented.append((review.name, f.text, f.outcome_text))
            elif f.outcome == "not-implemented":
                view.not_implemented.append((review.name, f.text, f.outcome_text))
    return view
