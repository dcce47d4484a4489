"""The weekly summary to each running cycle's business manager."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.dispatch import dispatch_task
from models.store import find_cycle, running_cycles
from tasks.asking.weekly_summary import SummaryResult, enqueue_weekly_summary


# Safe to retry: one keyed outbox row per cycle and ISO week.
@task(name="weekly summaries", retries=2, retry_delay_seconds=[1, 5])
def summary_task(partnership: str | None, cycle: str | None, at: dt.datetime) -> list[SummaryResult]:
    s = get_settings()

    def work(session: Session) -> list[SummaryResult]:
        named = [find_cycle(session, partnership, cycle)] if cycle else None
        cycles = named or [c for c, _ in running_cycles(session, partnership)]
        return [enqueue_weekly_summary(session, c, at=at, templates_dir=s.templates_dir) for c in cycles]

    return in_session(s, work, dry_run=False)


@flow(name="weekly-summary", flow_run_name=run_name("weekly summary"))
def weekly_summary_flow(
    partnership: str | None = None, cycle: str | None = None, at: dt.datetime | None = None, send: bool = True
) -> list[SummaryResult]:
    moment = now(at)
    results = summary_task(partnership, cycle, moment)
    logger = run_logger()
    for r in results:
        logger.info("%s %s: %s", r.cycle, r.week, "queued" if r.queued else r.skipped_because)
    if send and any(r.queued for r in results):
        dispatch_task(moment)
    return results
