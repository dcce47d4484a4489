"""Apply the Chair's recorded decisions; send returned contributions back with a new deadline."""

from __future__ import annotations

import datetime as dt

from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.dispatch import dispatch_task
from models.store import find_cycle
from tasks.review.review import ReviewReport, apply_decisions


# Safe to retry: a decision is applied once (applied_at), its email is a keyed outbox row.
@task(name="apply decisions", retries=2, retry_delay_seconds=[1, 5])
def review_task(partnership: str | None, cycle: str | None, at: dt.datetime, actor: str) -> ReviewReport:
    s = get_settings()
    return in_session(
        s,
        lambda session: apply_decisions(
            session,
            find_cycle(session, partnership, cycle),
            at=at,
            actor=actor,
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        ),
        dry_run=False,
    )


@flow(name="review", flow_run_name=run_name("review"))
def review_flow(
    partnership: str | None = None,
    cycle: str | None = None,
    at: dt.datetime | None = None,
    send: bool = True,
    actor: str = "system",
) -> ReviewReport:
    moment = now(at)
    report = review_task(partnership, cycle, moment, actor)
    logger = run_logger()
    logger.info("applied: %s", ", ".join(report.applied) or "nothing")
    if report.stale:
        logger.warning("not applied, the text changed after the Chair read it: %s", ", ".join(report.stale))
    if send and report.applied:
        dispatch_task(moment)
    return report
