"""Send what is due in the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows import _artifacts as artifacts
from flows._runtime import ends_as, flow, get_settings, now, run_logger, run_name, task
from tasks.mail.dispatch import DispatchReport, dispatch_due, stop_on_signals


# No Prefect retries: a send is retried from its outbox row, never blindly after
# the server may already have accepted it.
@task(name="dispatch outbox")
def dispatch_task(at: dt.datetime) -> DispatchReport:
    s = get_settings()
    # SIGTERM (serve stopping, a run cancelled) or Ctrl-C: finish the message in flight, record it, give the
    # rest back to the queue, and return, rather than die between the relay's "250" and our record of it.
    with stop_on_signals() as stop:
        report = dispatch_due(
            s.database_url,
            at=at,
            worker=s.worker_name,
            smtp=s.smtp_config(),
            lifetime=dt.timedelta(hours=s.queue_lifetime_hours),
            deadline=s.dispatch_deadline_seconds,
            stop=stop,
        )
    logger = run_logger()
    logger.info("%s", report.summary)
    for error in report.errors:
        logger.warning("failed: %s", error)
    if report.unreachable:
        logger.error(
            "the SMTP relay could not be reached: %s; %d emails left queued", report.unreachable, report.released
        )
    return report


@flow(name="dispatch", flow_run_name=run_name("dispatch"), log_prints=True)
def dispatch_flow(at: dt.datetime | None = None) -> Any:
    """The run's state says what an operator needs to know: Failed when the relay could not be reached (the queue
    waits for it), "Undelivered" when some emails were refused for good (someone must fix an address)."""
    report = dispatch_task(now(at))
    artifacts.dispatch(report)
    if report.unreachable:
        return ends_as(report, "FAILED", message=f"SMTP relay unreachable: {report.summary}")
    if report.failed:
        return ends_as(report, "COMPLETED", name="Undelivered", message=report.summary)
    return report
