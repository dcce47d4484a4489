"""Open a cycle: contributions, personal links, request emails; then send what is due."""

from __future__ import annotations

import datetime as dt

from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.dispatch import dispatch_task
from models.store import find_cycle
from tasks.asking.cycle_open import OpenReport, open_cycle


# Safe to retry: every row it writes is keyed (one contribution per agency, one request per contact).
@task(name="open cycle", retries=2, retry_delay_seconds=[1, 5])
def open_cycle_task(
    partnership: str | None, cycle: str | None, at: dt.datetime, dry_run: bool, actor: str
) -> OpenReport:
    s = get_settings()
    return in_session(
        s,
        lambda session: open_cycle(
            session,
            find_cycle(session, partnership, cycle),
            at=at,
            actor=actor,
            base_url=s.public_base_url,
            link_valid_days=s.link_valid_days,
            templates_dir=s.templates_dir,
        ),
        dry_run=dry_run,
    )


@flow(name="open-cycle", flow_run_name=run_name("open"))
def open_cycle_flow(
    partnership: str | None = None,
    cycle: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    send: bool = True,
    actor: str = "system",
) -> OpenReport:
    moment = now(at)
    report = open_cycle_task(partnership, cycle, moment, dry_run, actor)
    logger = run_logger()
    for warning in report.warnings:
        logger.warning(warning)
    logger.info("%s: %d requests queued", report.cycle, len(report.emails))
    if send and not dry_run:
        dispatch_task(moment)
    return report
