"""Send what is due in the outbox."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows._runtime import get_settings, now, run_name
from tasks.mail.outbox import DispatchReport, dispatch_due


# No Prefect retries: a send is retried from its outbox row, never blindly after
# the server may already have accepted it.
@task(name="dispatch outbox", cache_policy=NO_CACHE)
def dispatch_task(at: dt.datetime) -> DispatchReport:
    s = get_settings()
    report = dispatch_due(
        s.database_url, at=at, worker=s.worker_name, smtp=s.smtp_config(), max_attempts=s.max_send_attempts
    )
    logger = get_run_logger()
    logger.info("sent %d, retrying %d, failed %d", report.sent, report.retrying, report.failed)
    for error in report.errors:
        logger.warning("failed: %s", error)
    return report


@flow(name="dispatch", flow_run_name=run_name("dispatch"), log_prints=True)
def dispatch_flow(at: dt.datetime | None = None) -> DispatchReport:
    return dispatch_task(now(at))
