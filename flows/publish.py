"""Publish the approved report: render, freeze, notify."""

from __future__ import annotations

import datetime as dt

from flows import _artifacts as artifacts
from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.dispatch import dispatch_task
from models.store import find_cycle
from tasks.report.publish import NotReadyToPublish, PublishResult, publish


# Not retried by Prefect: a refused gate is an answer, not a fault; a re-run resumes where it stopped.
@task(name="publish report")
def publish_task(partnership: str | None, cycle: str | None, at: dt.datetime, actor: str) -> PublishResult:
    s = get_settings()
    try:
        return in_session(
            s,
            lambda session: publish(
                session,
                find_cycle(session, partnership, cycle),
                at=at,
                actor=actor,
                output_dir=s.output_dir,
                templates_dir=s.templates_dir,
                site_url=s.public_site_url,
            ),
            dry_run=False,
        )
    except NotReadyToPublish as refusal:  # an answer, not a fault: the run completes and says why
        return PublishResult(folder="", files=[], newly_frozen=False, notices_queued=0, refused=str(refusal))


@flow(name="publish", flow_run_name=run_name("publish"))
def publish_flow(
    partnership: str | None = None,
    cycle: str | None = None,
    at: dt.datetime | None = None,
    send: bool = True,
    actor: str = "system",
) -> PublishResult:
    moment = now(at)
    result = publish_task(partnership, cycle, moment, actor)
    artifacts.publish(result)
    if result.refused:
        run_logger().info("not published: %s", result.refused)
        return result
    run_logger().info("published to %s; %d notices queued", result.folder, result.notices_queued)
    if send:
        dispatch_task(moment)
    return result
