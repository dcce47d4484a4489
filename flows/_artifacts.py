"""What each flow run leaves in the Prefect UI for a person to read: a table or a short page of what it did.

Built from the reports the stages return (plain values), so the words match what the CLI prints. Nothing is
written when runs are not recorded in Prefect; an artifact that cannot be written never fails the run.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flows._runtime import engine, recorded, recorder, run_logger

if TYPE_CHECKING:  # each flow imports its own: opening a cycle need not import the collation and the report
    from tasks.asking.chase import ChaseReport
    from tasks.mail.dispatch import DispatchReport
    from tasks.report.collate import CollateResult
    from tasks.report.publish import PublishResult

MARKUP = re.compile(r"\[/?[a-z ]*\]")  # Rich's [bold]...[/] in the collation summary lines


def chase_rows(reports: list[ChaseReport]) -> list[dict[str, str]]:
    """One row per ladder step the run dealt with: queued (or held) and superseded, agency by agency."""
    rows = []
    for report in reports:
        if report.skipped_because:
            rows.append({"cycle": report.cycle, "agency": "", "step": "", "to": "", "what": report.skipped_because})
        for email, what in [
            *((e, "superseded, not sent") for e in report.superseded),
            *((e, "queued") for e in report.emails),
        ]:
            rows.append(
                {
                    "cycle": report.cycle,
                    "agency": email.agency,
                    "step": f"{email.kind} ({email.note})" if email.note else email.kind,
                    "to": ", ".join(email.to),
                    "what": what,
                }
            )
    return rows


def _keep(kind: str, data: Any, *, key: str, description: str | None = None) -> None:
    """A "markdown" page or a "table" on the run: through Prefect's engine, or the command's recorder."""
    if not engine():
        found = recorder()
        if found is not None:
            found.artifact(key, kind, data, description)
        return
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create = create_table_artifact if kind == "table" else create_markdown_artifact
    try:
        create(data, key=key, description=description)
    except Exception as exc:  # an artifact is a note for people: never fail a run that did its work
        run_logger().warning("could not write the run's artifact: %s", exc)


def chase(reports: list[ChaseReport]) -> None:
    if not recorded():
        return
    rows = chase_rows(reports)
    if rows:
        _keep("table", rows, key="chase", description="Each agency's ladder step this run dealt with")
    else:
        running = f"in the {len(reports)} running cycles" if len(reports) > 1 else "in the running cycle"
        _keep(
            "markdown",
            f"Nothing was due {running}." if reports else "Nothing was due: no cycle is running.",
            key="chase",
        )


def dispatch(report: DispatchReport) -> None:
    if not recorded():
        return
    lines = [f"**{report.summary}**", ""]
    lines += [f"- failed: {e}" for e in report.errors]
    lines += [f"- refused for good: {r}" for r in report.refused]
    if report.reclaimed:
        lines.append(f"- {report.reclaimed} left sending by a dispatcher that died, queued again")
    _keep("markdown", "\n".join(lines), key="dispatch", description="What the outbox sent")


def collate(result: CollateResult, findings: list[str]) -> None:
    if not recorded():
        return
    verb = "Collated" if result.created else "Nothing changed since"
    lines = [f"**{verb} draft {result.number}**", "", f"- the draft: `{result.path}`"]
    lines += [f"- the collation report: `{result.report_path}`", ""]
    lines += [f"- {MARKUP.sub('', line)}" for line in findings]
    _keep("markdown", "\n".join(lines), key="collate", description=f"Draft {result.number}")


def publish(result: PublishResult) -> None:
    if not recorded():
        return
    if result.refused:
        _keep("markdown", f"**Not published**: {result.refused}", key="publish")
        return
    rows = [{"file": f["name"], "sha256": f["sha256"]} for f in result.files]
    description = f"Published to {result.folder}; {result.notices_queued} notices queued to the recipients"
    _keep("table", rows, key="publish", description=description)
