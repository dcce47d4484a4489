"""Read the monitored mailbox: agencies' replies, automatic replies and bounces, each acted on once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows._runtime import ends_as, flow, get_settings, now, run_logger, run_name, task
from tasks.inbound.read import InboundReport, read_mailbox


# Retries are safe here (each message is keyed by its UID and Message-ID), but a server that is down stays down
# for longer than a retry waits: the next scheduled run, minutes later, catches up instead.
@task(name="read mailbox")
def read_task(at: dt.datetime) -> InboundReport:
    s = get_settings()
    config = s.inbound_config()
    if config is None:
        return InboundReport(lines=["inbound mail is not configured (REPORTCYCLE_INBOUND_ADDRESS and the rest)"])
    report = read_mailbox(
        s.database_url,
        config,
        at=at,
        actor=s.worker_name,
        templates_dir=s.templates_dir,
        base_url=s.public_base_url,
        link_valid_days=s.link_valid_days,
    )
    logger = run_logger()
    logger.info("%s", report.summary)
    for line in report.lines:
        logger.info("%s", line)
    return report


@flow(name="inbound", flow_run_name=run_name("inbound"), log_prints=True)
def inbound_flow(at: dt.datetime | None = None) -> Any:
    """Failed when the mailbox could not be read (its messages wait on the server for the next run)."""
    report = read_task(now(at))
    if report.unreachable:
        return ends_as(report, "FAILED", message=f"mailbox unreachable: {report.summary}")
    if report.needs_person:
        return ends_as(report, "COMPLETED", name="For a person", message=report.summary)
    return report
