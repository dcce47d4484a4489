"""The parent flow: run each stage of a cycle that is due now; with no cycle named, of every cycle.

Safe to run as often as you like (the annual-cycle deployment runs it every working
morning with no cycle named): each stage is a reconciler that does only what is missing.
So the year runs itself: a planned cycle opens on its requests date, the Chair's
decisions are applied, the ladder chases, drafts are collated from the deadline, and a
report the board signed off is published on the day the business manager chose.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.chase import chase_flow
from flows.collate import collate_flow
from flows.open_cycle import open_cycle_flow
from flows.publish import publish_flow
from flows.review import review_flow
from models.cycle import Cycle
from models.lifecycle import CycleState
from models.partnership import Partnership
from models.store import find_cycle
from tasks.asking.plan import Plan, plan
from tasks.report.distribution import track_distribution

# Closed cycles are finished; published ones stay until the national bodies have the report.
RECONCILED = (CycleState.planned, CycleState.open, CycleState.in_review, CycleState.published)


@task(name="what is due")
def plan_task(partnership: str | None, cycle: str | None, at: dt.datetime) -> Plan:
    return in_session(get_settings(), lambda s: plan(s, find_cycle(s, partnership, cycle), at=at), dry_run=True)


@task(name="distribution", retries=2, retry_delay_seconds=10)
def distribution_task(partnership: str | None, cycle: str | None, at: dt.datetime) -> list[str]:
    """After publication: the national bodies' deadline in the business manager's digest until it is met."""
    s = get_settings()
    return in_session(
        s,
        lambda session: track_distribution(
            session, find_cycle(session, partnership, cycle), at=at, templates_dir=s.templates_dir
        ),
        dry_run=False,
    )


@task(name="find cycles to reconcile")
def cycles_task(partnership: str | None) -> list[tuple[str, str]]:
    def found(session: Session) -> list[tuple[str, str]]:
        query = select(Cycle.label, Partnership.slug).join(Partnership).where(col(Cycle.status).in_(RECONCILED))
        if partnership:
            query = query.where(Partnership.slug == partnership)
        return [(slug, label) for label, slug in session.exec(query.order_by(col(Cycle.id))).all()]

    return in_session(get_settings(), found, dry_run=True)


def _reconcile(partnership: str | None, cycle: str | None, moment: dt.datetime, actor: str) -> list[str]:
    """Every stage of one cycle that is due at `moment`, in order; the names of the stages that ran."""
    done: list[str] = []
    due = plan_task(partnership, cycle, moment)
    if due.open:
        open_cycle_flow(partnership, cycle, moment, actor=actor)
        done.append("open")
        due = plan_task(partnership, cycle, moment)
    if due.review:
        review_flow(partnership, cycle, moment, actor=actor)
        done.append("review")
    if due.chase:
        report = chase_flow(partnership, cycle, moment, actor=actor)
        if report.emails:
            done.append("chase")
    if due.collate:
        collate_flow(partnership, cycle, moment, actor=actor)
        done.append("collate")
    # Decisions and collation may have settled the last item: look again before publishing (which also
    # waits for the board's sign-off and the day chosen for it).
    if plan_task(partnership, cycle, moment).publish:
        publish_flow(partnership, cycle, moment, actor=actor)
        done.append("publish")
    if plan_task(partnership, cycle, moment).distribute and distribution_task(partnership, cycle, moment):
        done.append("distribution")
    return done


@flow(name="annual-cycle", flow_run_name=run_name("annual cycle"))
def annual_cycle_flow(
    partnership: str | None = None, cycle: str | None = None, at: dt.datetime | None = None, actor: str = "system"
) -> list[str]:
    """The stages run: ["open", "chase"] for a named cycle; ["bscb 2018/19: open", ...] for a sweep.

    A sweep reconciles each cycle on its own: one that fails is logged and the others still run; the run
    fails at the end if any did.
    """
    moment = now(at)
    logger = run_logger()
    if cycle is not None:
        done = _reconcile(partnership, cycle, moment, actor)
        logger.info("stages run: %s", ", ".join(done) or "none due")
        return done
    done, failed = [], []
    for slug, label in cycles_task(partnership):
        try:
            stages = _reconcile(slug, label, moment, actor)
        except Exception as exc:  # one cycle's fault must not stop the others' year
            logger.error("%s %s: failed: %s", slug, label, exc)
            failed.append(f"{slug} {label}")
            continue
        logger.info("%s %s: %s", slug, label, ", ".join(stages) or "none due")
        done += [f"{slug} {label}: {stage}" for stage in stages]
    if failed:
        raise RuntimeError(f"the annual cycle failed for {', '.join(failed)}; the other cycles were reconciled")
    return done
