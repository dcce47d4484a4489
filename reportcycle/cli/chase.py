"""Chasing and sending: the chase run, dispatch, and the outbox (list, retry, cancel)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from reportcycle.cli import common
from reportcycle.cli.common import (
    OPTIONS,
    CliError,
    _check_cycle,
    _errors,
    _in_session,
    _local_start,
    _now,
    _print_emails,
    _settings,
    _stage_runs,
)


def chase(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing.")] = False,
) -> None:
    """Send the reminders, overdue notices and escalations due now (every running cycle unless --cycle names one)."""
    with _errors():
        with _stage_runs():
            from flows.chase import chase_all_flow, chase_flow

            if OPTIONS.cycle:
                _check_cycle()
                reports = [chase_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)]
            else:  # what the daily deployment does: every running cycle of every partnership (or of --partnership)
                reports = chase_all_flow(OPTIONS.partnership, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        if not reports:
            common.console.print("no running cycle to chase (open one with `reportcycle cycle open`)")
        for report in reports:
            if report.skipped_because:
                common.console.print(f"{report.cycle}: nothing due: {report.skipped_because}", highlight=False)
                continue
            verb = "would send" if dry_run else "queued"
            _print_emails(
                f"{report.cycle} on {report.local_date}: {verb} {len(report.emails)}", report.emails, report.superseded
            )


def dispatch() -> None:
    """Send the queued emails that are due."""
    with _errors():
        with _stage_runs():
            from flows._runtime import engine
            from flows.dispatch import dispatch_flow

            if engine():  # the run's state (Failed, "Undelivered") is for the Prefect UI; we print the report
                report = dispatch_flow(_now(), return_state=True).result(raise_on_failure=False)
            else:
                report = dispatch_flow(_now())
        common.console.print(report.summary, highlight=False)
        for error in report.errors:
            common.err_console.print(f"[red]failed:[/red] {error}", highlight=False)
        if report.unreachable:
            raise CliError(
                f"the SMTP relay could not be reached ({report.unreachable}); {report.released} emails stay queued "
                "and go when it answers: check REPORTCYCLE_SMTP_HOST and REPORTCYCLE_SMTP_PORT (`reportcycle status`)"
            )


def inbound() -> None:
    """Read the monitored mailbox once: replies, automatic replies and bounces (the deployment does it every 5 min)."""
    with _errors():
        if not _settings().inbound_enabled:
            raise CliError(
                "inbound mail is not configured: set REPORTCYCLE_INBOUND_ADDRESS, _HOST, _USER and _PASSWORD "
                "(or _OAUTH2_TOKEN) (see README, Inbound mail)"
            )
        with _stage_runs():
            from flows._runtime import engine
            from flows.inbound import inbound_flow

            # A Prefect run's state (Failed, "For a person") is for the UI; the flow is plain when this process
            # imported it without Prefect (an earlier command in the same process, as in the tests).
            if engine() and inbound_flow.fn is not inbound_flow:
                report = inbound_flow(_now(), return_state=True).result(raise_on_failure=False)
            else:
                report = inbound_flow(_now())
            # A flow run that ended Failed or "For a person" (a run begun without a server, in a process where an
            # earlier command had one) hands back its state: the report is its data.
            while hasattr(report, "is_failed"):
                report = report.data
        common.console.print(report.summary, highlight=False)
        for line in report.lines:
            common.console.print(f"  {line}", highlight=False)
        if report.unreachable:
            raise CliError(
                f"the mailbox could not be read ({report.unreachable}); nothing is lost, its messages are read when "
                "it answers: check REPORTCYCLE_INBOUND_HOST and REPORTCYCLE_INBOUND_PORT (`reportcycle status`)"
            )


def _cycle_id(label: str | None) -> int | None:
    """The cycle named by an argument or the global options, or None for every cycle."""
    from models.store import find_cycle

    label = label or OPTIONS.cycle
    if label is None and OPTIONS.partnership is None:
        return None
    return _in_session(lambda s: find_cycle(s, OPTIONS.partnership, label).id)


def outbox_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(help="queued, failed, stuck (the default three), sending, held, sent, superseded, cancelled."),
    ] = None,
    cycle: Annotated[str | None, typer.Option(help="Only this cycle's messages (label, e.g. 2018/19).")] = None,
) -> None:
    """Messages queued, failed, or stuck (left 'sending' by a dispatcher that died), the next to go first."""
    if ctx.invoked_subcommand is not None:
        return
    with _errors():
        from rich.text import Text

        from tasks.mail.outbox_admin import SHOWN_BY_DEFAULT, list_outbox

        cycle_id = _cycle_id(cycle)
        states = status or list(SHOWN_BY_DEFAULT)
        lines = _in_session(lambda s: list_outbox(s, at=_now(), states=states, cycle_id=cycle_id))
        table = Table(title=f"outbox: {', '.join(states)} ({len(lines)})")
        for column in ("id", "state", "kind", "to", "attempts", "next attempt (UTC)", "last error / note"):
            table.add_column(column)
        for line in lines:
            note = line.last_error or ""
            if line.state in ("stuck", "sending") and line.claimed_at:
                note = f"claimed by {line.claimed_by} at {line.claimed_at:%Y-%m-%d %H:%M} UTC"
            colour = {"failed": "red", "stuck": "red", "held": "yellow"}.get(line.state, "")
            cells = (
                str(line.id),
                line.state,
                line.kind,
                ", ".join(line.to + line.cc),
                str(line.attempts),
                f"{line.next_attempt_at:%Y-%m-%d %H:%M}",
                note,
            )
            table.add_row(*(Text(c, style=colour if i == 1 else "") for i, c in enumerate(cells)))
        common.console.print(table)


_BY = typer.Option(help="Who asks, for the audit log (default: cli:<your user name>).")


def outbox_retry(
    email_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="The message's id, from `reportcycle outbox`.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message (of --cycle, when given).")] = False,
    since: Annotated[
        str | None, typer.Option(help="With --failed: only those that failed from this date or instant on.")
    ] = None,
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Put a failed or stuck message back in the queue, due now (dispatch sends it); --failed: every failed one."""
    with _errors():
        from tasks.mail.outbox_admin import retry, retry_failed

        if (email_id is None) == (not failed):
            raise CliError("give one message's ID, or --failed for every failed message (not both)")
        if since is not None and not failed:
            raise CliError("--since goes with --failed: it chooses which failed messages to retry")
        if failed:
            start = _local_start(since, "UTC") if since else None
            cycle_id = _cycle_id(None)
            rows = _in_session(
                lambda s: retry_failed(s, at=_now(), actor=by or OPTIONS.actor, since=start, cycle_id=cycle_id)
            )
            for r in rows:
                common.console.print(
                    f"email {r.id} ({r.kind} to {', '.join(r.to_addrs)}): queued again", highlight=False
                )
            common.console.print(
                f"{len(rows)} failed email{'s' if len(rows) != 1 else ''} queued again, due now; "
                "`reportcycle dispatch` sends them",
                highlight=False,
            )
            return
        assert email_id is not None
        row = _in_session(lambda s: retry(s, email_id, at=_now(), actor=by or OPTIONS.actor))
        common.console.print(
            f"email {email_id} ({row.kind} to {', '.join(row.to_addrs)}): queued again, due now; "
            "`reportcycle dispatch` sends it",
            highlight=False,
        )


def outbox_cancel(
    email_id: Annotated[int, typer.Argument(metavar="ID", help="The message's id, from `reportcycle outbox`.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Stop a queued, failed, held or stuck message from ever being sent."""
    with _errors():
        from tasks.mail.outbox_admin import cancel

        row = _in_session(lambda s: cancel(s, email_id, at=_now(), actor=by or OPTIONS.actor, reason=reason))
        common.console.print(
            f"email {email_id} ({row.kind} to {', '.join(row.to_addrs)}): cancelled; it will not be sent",
            highlight=False,
        )
