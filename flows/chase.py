"""The daily chase: enqueue what the ladder says is due today, then send it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlmodel import Session

from flows import _artifacts as artifacts
from flows._runtime import flow, get_settings, in_session, now, run_logger, run_name, task
from flows.dispatch import dispatch_task
from models.store import find_cycle, running_cycles
from tasks.asking.chase import ChaseReport, chase_cycle, due_cycle_ids
from tasks.report.distribution import track_all


# Safe to retry: each step of the ladder is one keyed outbox row.
@task(name="plan chasers", retries=2, retry_delay_seconds=[1, 5])
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
            link_valid_days=s.link_valid_days,
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
    logger = run_logger()
    if report.skipped_because:
        logger.info("nothing sent: %s", report.skipped_because)
    logger.info(
        "%s on %s: %d to send, %d superseded",
        report.cycle,
        report.local_date,
        len(report.emails),
        len(report.superseded),
    )
    artifacts.chase([report])
    if send and not dry_run:
        dispatch_task(moment)
    return report


@task(name="find running cycles")
def running_cycles_task(partnership: str | None, at: dt.datetime) -> list[tuple[str, str, dt.date | None]]:
    """Every running cycle: (partnership, cycle, None) when one of its contributions may have a step due, else
    its local date today, with nothing to chase. Two queries, however many cycles and agencies there are."""

    def find(session: Session) -> list[tuple[str, str, dt.date | None]]:
        due = due_cycle_ids(session, at)
        return [
            (p.slug, c.label, None if c.id in due else at.astimezone(ZoneInfo(p.timezone)).date())
            for c, p in running_cycles(session, partnership)
        ]

    return in_session(get_settings(), find, dry_run=True)


@task(name="track distribution", retries=2, retry_delay_seconds=[1, 5])
def distribution_all_task(partnership: str | None, at: dt.datetime) -> dict[str, list[str]]:
    """Published cycles whose national bodies still wait for the report: a digest line each working day."""
    s = get_settings()
    return in_session(
        s,
        lambda session: track_all(session, at=at, templates_dir=s.templates_dir, partnership_slug=partnership),
        dry_run=False,
    )


@flow(name="chase-all", flow_run_name=run_name("chase every running cycle"))
def chase_all_flow(
    partnership: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    send: bool = True,
    actor: str = "system",
) -> list[ChaseReport]:
    """The daily chase: every open or in-review cycle of every partnership (or of the one named).

    Each cycle is its own transaction and task run: one that fails is retried, then
    reported, and the others are still chased; the run fails at the end if any did.
    """
    moment = now(at)
    logger = run_logger()
    reports: list[ChaseReport] = []
    failed: list[str] = []
    for slug, label, quiet_on in running_cycles_task(partnership, moment):
        if quiet_on is not None:  # no step due in it today: nothing to read, nothing to send
            reports.append(ChaseReport(cycle=f"{slug} {label}", local_date=quiet_on))
            continue
        try:
            report = chase_task.with_options(task_run_name=f"plan chasers {slug} {label}")(
                slug, label, moment, dry_run, actor
            )
        except Exception as exc:  # one partnership's fault must not stop the others' reminders
            logger.error("%s %s: chase failed: %s", slug, label, exc)
            failed.append(f"{slug} {label}")
            continue
        reports.append(report)
        logger.info(
            "%s on %s: %s",
            report.cycle,
            report.local_date,
            report.skipped_because or f"{len(report.emails)} to send, {len(report.superseded)} superseded",
        )
    if not reports and not failed:
        logger.info("no running cycle to chase")
    artifacts.chase(reports)
    if not dry_run:
        try:
            for cycle_name, lines in distribution_all_task(partnership, moment).items():
                logger.info("%s: %s", cycle_name, " ".join(lines))
        except Exception as exc:  # a publication's bookkeeping must not stop the reminders of running cycles
            logger.error("tracking the publication notices failed: %s", exc)
            failed.append("distribution")
    if send and not dry_run:
        dispatch_task(moment)
    if failed:
        raise RuntimeError(f"the chase failed for {', '.join(failed)}; the other cycles were chased")
    return reports
