"""Collate a numbered draft of the report."""

from __future__ import annotations

import datetime as dt

from flows import _artifacts as artifacts
from flows._runtime import flow, get_settings, in_session, now, rename_run, run_logger, run_name, task
from models.store import find_cycle
from tasks.report.collate import CollateResult, collate
from tasks.report.findings import summary_lines


# Safe to retry: an unchanged collation returns the existing draft; files are written atomically.
@task(name="collate draft", retries=2, retry_delay_seconds=[1, 5])
def collate_task(partnership: str | None, cycle: str | None, at: dt.datetime, actor: str) -> CollateResult:
    s = get_settings()
    return in_session(
        s,
        lambda session: collate(
            session,
            find_cycle(session, partnership, cycle),
            at=at,
            actor=actor,
            output_dir=s.output_dir,
            templates_dir=s.templates_dir,
        ),
        dry_run=False,
    )


@flow(name="collate", flow_run_name=run_name("collate"))
def collate_flow(
    partnership: str | None = None, cycle: str | None = None, at: dt.datetime | None = None, actor: str = "system"
) -> CollateResult:
    result = collate_task(partnership, cycle, now(at), actor)
    verb = "collated" if result.created else "unchanged since"
    run_logger().info("%s draft %d: %s", verb, result.number, result.path)
    artifacts.collate(result, summary_lines(result.summary, limit=20))
    # The number is known only now; the run's name then says which draft it made.
    rename_run(f"collate draft {result.number}" + ("" if result.created else " (unchanged)"))
    return result
