"""The parent flow: run each stage of the cycle that is due now.

Safe to run as often as you like (the deployment runs it every working
morning): each stage is a reconciler that does only what is missing.
"""

from __future__ import annotations

import datetime as dt

from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.chase import chase_flow
from flows.collate import collate_flow
from flows.open_cycle import open_cycle_flow
from flows.publish import publish_flow
from flows.review import review_flow
from models.store import find_cycle
from tasks.asking.plan import Plan, plan
from tasks.report.distribution import track_distribution


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


@flow(name="annual-cycle", flow_run_name=run_name("annual cycle"))
def annual_cycle_flow(
    partnership: str | None = None, cycle: str | None = None, at: dt.datetime | None = None, actor: str = "system"
) -> list[str]:
    moment = now(at)
    logger = run_logger()
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
    # Decisions and collation may have settled the last item: look again before publishing.
    if plan_task(partnership, cycle, moment).publish:
        publish_flow(partnership, cycle, moment, actor=actor)
        done.append("publish")
    if plan_task(partnership, cycle, moment).distribute and distribution_task(partnership, cycle, moment):
        done.append("distribution")
    logger.info("stages run: %s", ", ".join(done) or "none due")
    return done
