"""The statutory framework's requirements as a checklist for the desk, with the evidence found so far.

The same checks the collation report makes of a draft (tasks.report.collation_report), made of the cycle as
it stands: each topic the law asks the report to cover, searched for in every text written so far (the
agencies' latest revisions, the central sections, the reviews register's tables); each statutory recipient's
role and who holds it; and the reviews register. Keyword evidence for a person to read, not a judgement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from models.cycle import Cycle
from models.framework import framework_for, report_topics
from models.store import cycle_values
from tasks.report.collation_report import TopicFinding, find_topics, places_of
from tasks.report.distribution import role_holders
from tasks.report.register import ongoing_at_end, reviews_of, words_for
from tasks.report.report import build_view


@dataclass(frozen=True)
class RoleCheck:
    title: str
    held_by: list[str]  # "Name, Role" of each recipient holding it; empty: nobody does


@dataclass(frozen=True)
class RegisterSummary:
    plural: str  # "Safeguarding Adults Reviews"
    concluded: int  # in the year
    ongoing: int  # at its end
    findings: int
    undecided: int  # findings with no outcome recorded yet


@dataclass(frozen=True)
class Checklist:
    framework: str  # "Care Act 2014", or "" when the partnership file gives its own topics
    source: str
    publication: str  # the timing rule in words
    topics: list[TopicFinding]
    roles: list[RoleCheck]
    register: RegisterSummary

    @property
    def found(self) -> int:
        return sum(1 for t in self.topics if t.found)


def checklist(session: Session, cycle: Cycle, *, at: dt.datetime) -> Checklist:
    view = build_view(session, cycle, at=at, draft_number=None)
    kind = view.spec.kind
    framework = framework_for(kind)
    recipients = cycle_values(cycle)[3]
    reviews = reviews_of(session, cycle)
    findings = [f for _, fs in reviews for f in fs]
    ongoing = sum(1 for r, _ in reviews if ongoing_at_end(r, cycle))
    return Checklist(
        framework=framework.title if view.spec.collation.topics is None else "",
        source=framework.source,
        publication=framework.publication.timing,
        topics=find_topics(places_of(view), report_topics(view.spec)),
        roles=[
            RoleCheck(role.title, [f"{r.name}, {r.role}" for r in held])
            for role, held in role_holders(recipients, kind)
        ],
        register=RegisterSummary(
            words_for(kind).plural,
            concluded=len(reviews) - ongoing,
            ongoing=ongoing,
            findings=len(findings),
            undecided=sum(1 for f in findings if not f.outcome),
        ),
    )
