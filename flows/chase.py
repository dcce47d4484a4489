"""The daily chase: enqueue what the ladder says is due today, then send it."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows._runtime import get_settings, in_session, now, run_name
from flows.dispatch import dispatch_task
from models.store import find_cycle
from tasks.chase import ChaseReport, chase_cycle


# Safe to retry: each step of the ladder is one keyed outbox row.
@task(name="plan chasers", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def chase_task(partnership: str | None, cycle: str | None, at: dt.datetime, dry_run: bool, actor: str) -> ChaseReport:
    s = get_settings()
    return in_session(
        s,
        lambda session: chase_cycle(
            session,
            find_cycle(session, partnership, cycle),
            at=at,
            actor=actor,
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        ),
        dry_run=dry_run,
    )


@flow(name="chase", flow_run_name=run_name("chase"))
def chase_flow(
    partnership: str | None = None,
    cycle: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    send: bool = True,
    actor: str = "system",
) -> ChaseReport:
    moment = now(at)
    report = chase_task(partnership, cycle, moment, dry_run, actor)
    logger = get_run_logger()
    if report.skipped_because:
        logger.info("nothing sent: %s", report.skipped_because)
    logger.info(
        "%s on %s: %d to send, %d superseded",
        report.cycle,
        report.local_date,
        len(report.emails),
        len(report.superseded),
    )
    if send and not dry_run:
        dispatch_task(moment)
    return report
