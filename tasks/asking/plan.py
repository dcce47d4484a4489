"""What the annual-cycle flow should do now, read from the state and the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from models.cycle import Cycle, ReviewDecision
from models.lifecycle import CycleState
from models.report import Publication
from models.store import calendar_of, partnership_of
from tasks.desk.sign_off import publication_due
from tasks.report.collate import latest_draft
from tasks.report.publish import unsettled
from tasks.report.report import inputs_hash, report_inputs

RUNNING = (CycleState.open, CycleState.in_review)


@dataclass(frozen=True)
class Plan:
    open: bool
    review: bool
    chase: bool
    collate: bool
    publish: bool
    distribute: bool = False  # published: track the notices until the national bodies have the report

    @property
    def stages(self) -> list[str]:
        return [name for name in ("open", "review", "chase", "collate", "publish") if getattr(self, name)]


def plan(session: Session, cycle: Cycle, *, at: dt.datetime) -> Plan:
    today = calendar_of(partnership_of(session, cycle)).local(at).date()
    status = CycleState(cycle.status)
    is_running = status in RUNNING or (status == CycleState.planned and today >= cycle.requests_on)
    decisions = session.exec(
        select(ReviewDecision.id).where(ReviewDecision.cycle_id == cycle.id, col(ReviewDecision.applied_at).is_(None))
    ).first()
    collate_now = False
    if status in RUNNING and today >= cycle.contributions_due:
        latest = latest_draft(session, cycle)
        collate_now = latest is None or latest.inputs_hash != inputs_hash(report_inputs(session, cycle))
    published = session.exec(select(Publication.id).where(Publication.cycle_id == cycle.id)).first()
    # Published only when the business manager has recorded the board's sign-off and its day has come; a
    # publication already frozen is finished whatever the day (an interrupted run resumes).
    publish_now = status in RUNNING and (
        published is not None or (publication_due(session, cycle, at=at) and not unsettled(session, cycle))
    )
    return Plan(
        open=status == CycleState.planned and today >= cycle.requests_on,
        review=is_running and decisions is not None,
        chase=is_running,
        collate=collate_now,
        publish=publish_now,
        distribute=published is not None,
    )
