"""Operations: the schema, settings, status and health, the audit trail, backups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reportcycle.cli import common
from reportcycle.cli.common import OPTIONS, CliError, _errors, _in_session, _local_start, _now, _settings


def init() -> None:
    """Create the database schema, or upgrade it to the latest migration."""
    with _errors():
        from tasks.ops.schema import upgrade

        url = _settings().database_url
        upgrade(url)
        common.console.print(f"database ready: {url}")


def check_settings() -> None:
    """Check every setting (REPORTCYCLE_* and Prefect's) and print them, secrets masked."""
    with _errors():
        from reportcycle.settings import Settings, prefect_shown

        settings = Settings()  # not the cached one: this command is for checking what the environment says now
        # One line each, never wrapped: an operator greps this or pastes it into a ticket.
        for name, value in [*settings.shown(), *prefect_shown()]:
            typer.echo(f"{name}={value}")
        typer.echo("all settings are valid (secrets masked)")


def status() -> None:
    """Each agency's state, deadline and reminders sent."""
    with _errors():
        from models.db import engine_for
        from models.status import cycle_status, find_cycle_row

        # Read with SQLAlchemy Core on one connection: no ORM to import, the larger half of the wait before.
        with engine_for(_settings().database_url).connect() as connection:
            cycle = find_cycle_row(connection, OPTIONS.partnership, OPTIONS.cycle)
            rows = cycle_status(connection, cycle, at=_now())
        title, sent = f"{cycle.title} ({cycle.status})", None
        if cycle.status in ("published", "closed"):
            from tasks.report.distribution import distribution  # the notices exist only once it is published

            def work(session: Any) -> Any:
                from models.cycle import Cycle

                return distribution(session, session.get(Cycle, cycle.id))

            sent = _in_session(work)
        table = Table(title=title)
        for column in ("agency", "state", "deadline", "days", "chasers sent", "failed", "last activity"):
            table.add_column(column)
        for r in rows:
            colour = {"overdue": "red", "submitted": "green", "approved": "green", "excused": "dim"}.get(r.state, "")
            table.add_row(
                r.name,
                f"[{colour}]{r.state}[/{colour}]" if colour else r.state,
                f"{r.deadline:%a %d %b %Y %H:%M}",
                r.days_text,
                str(r.chasers_sent),
                str(r.failed_emails),
                f"{r.last_activity.astimezone(r.deadline.tzinfo):%Y-%m-%d %H:%M}" if r.last_activity else "",
            )
        common.console.print(table)
        if sent is not None and sent.published_on is not None:
            due = (
                f"national bodies by {sent.national_due:%a %d %b %Y}: " + ("met" if sent.national_met else "NOT YET")
                if sent.national_due
                else "no national bodies' deadline"
            )
            listing = Table(title=f"Publication notices (published {sent.published_on:%d %b %Y}; {due})")
            for column in ("recipient", "role", "state", "sent"):
                listing.add_column(column)
            for d in sent.deliveries:
                listing.add_row(
                    d.name + (" (national)" if d.national else ""),
                    d.role,
                    d.status if d.status == "sent" else f"[red]{d.status}[/red]",
                    f"{d.sent_at:%Y-%m-%d %H:%M} UTC" if d.sent_at else "",
                )
            common.console.print(listing)
        if not _print_operations():
            # A script or a monitor reading the exit code learns what a person reads in red.
            raise typer.Exit(1)


def _print_operations() -> bool:
    """The operator's half of `status`: the health checks, the daily chase, and Prefect's runs; whether all
    is well."""
    from rich.text import Text

    from tasks.ops.health import health, prefect_overview

    report = health(_settings(), _now())
    for name, verdict in report.checks.items():
        colour = "green" if verdict == "ok" else "yellow" if verdict.startswith("not configured") else "red"
        common.console.print(Text(f"{name}: {verdict}", style=colour))
    last = f"{report.last_chase:%Y-%m-%d %H:%M} UTC" if report.last_chase else "none recorded"
    common.console.print(Text(f"last chase: {last}"))
    if report.chase_alert:
        common.console.print(Text(f"ALERT: {report.chase_alert}", style="bold red"))
    if report.outbox:
        o = report.outbox
        waiting = f"{o['waiting']} waiting for the relay" + (f" ({o['why']})" if o["why"] else "")
        common.console.print(Text(f"outbox: {waiting}, {o['failed']} failed (`reportcycle outbox`)"))
    if report.outbox_alert:
        common.console.print(Text(f"ALERT: {report.outbox_alert}", style="bold red"))
    if report.checks.get("prefect") != "ok":
        return report.ok
    from tasks.ops.health import crash_orphaned_runs, prefect_api_url
    from tasks.ops.prefect_api import PrefectApi

    with PrefectApi(prefect_api_url() or "") as client:
        orphans = crash_orphaned_runs(client)
    for name in orphans:
        common.console.print(Text(f"flow run {name!r} marked Crashed: the command running it had died", style="yellow"))
    for what, runs in prefect_overview().items():
        table = Table(title=f"Prefect flow runs: {what}")
        for column in ("run", "deployment", "state", "when (UTC)"):
            table.add_column(column)
        for run in runs:
            when = f"{run.when.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if run.when else ""
            table.add_row(*(Text(c) for c in (run.name, run.deployment, run.state, when)))
        common.console.print(table if runs else Text(f"Prefect flow runs {what}: none"))
    return report.ok


def _detail_text(detail: dict[str, Any]) -> str:
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}={shown}")
    return "; ".join(parts)


def audit(
    cycle: Annotated[
        str | None, typer.Argument(help="Cycle label, e.g. 2018/19 (default: --cycle, or the one running).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this date (YYYY-MM-DD, the partnership's time) or instant.")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this, e.g. 'email.'.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line, for tools.")] = False,
) -> None:
    """The audit trail of one cycle, oldest first: who did what, when, to what."""
    with _errors():
        import json
        from zoneinfo import ZoneInfo

        from rich.text import Text

        from models.audit import trail
        from models.store import find_cycle, partnership_of, subject_names

        def work(session: Any) -> tuple[str, str, list[Any], dict[str, str]]:
            found = find_cycle(session, OPTIONS.partnership, cycle or OPTIONS.cycle)
            timezone = partnership_of(session, found).timezone
            start = _local_start(since, timezone) if since else None
            events = trail(session, found.id or 0, since=start, action_prefix=action)
            return f"{found.title}: audit trail", timezone, events, subject_names(session, found)

        title, timezone, events, names = _in_session(work)
        if json_lines:
            for e in events:
                about = names.get(e.subject)
                line = {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action}
                line |= {"subject": e.subject, "about": about, "detail": e.detail}
                typer.echo(json.dumps(line, ensure_ascii=False, default=str))
            return
        zone = ZoneInfo(timezone)
        table = Table(title=f"{title} ({len(events)} events, times in {timezone})")
        for column in ("when", "who", "action", "subject", "details"):
            table.add_column(column)
        for e in events:
            subject = f"{e.subject} ({names[e.subject]})" if e.subject in names else e.subject
            # Text, not markup: details hold what people typed, and "[b]" must not turn bold.
            cells = (f"{e.at.astimezone(zone):%Y-%m-%d %H:%M}", e.actor, e.action, subject, _detail_text(e.detail))
            table.add_row(*(Text(c) for c in cells))
        common.console.print(table)


def export_(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write.")],
    partnership: Annotated[str | None, typer.Option(help="Slug of the partnership to export.")] = None,
) -> None:
    """Export a partnership with its cycles, revisions, decisions, outbox and audit log to a JSON file."""
    with _errors():
        from sqlmodel import select

        from models.db import engine_for
        from models.partnership import Partnership
        from tasks.ops.backup import export_snapshot, write_export

        engine = engine_for(_settings().database_url)
        slug = partnership or OPTIONS.partnership
        if slug is None:
            with engine.connect() as conn:
                slugs = list(conn.execute(select(Partnership.slug)).scalars())
            if len(slugs) != 1:
                raise CliError(f"say which partnership with --partnership SLUG (partnerships: {', '.join(slugs)})")
            slug = slugs[0]
        document = export_snapshot(engine, slug, at=_now())
        write_export(document, out)
        counts = {name: len(section["rows"]) for name, section in document["tables"].items()}
        _print_rows(f"exported {slug} to {out} (schema {document['schema_revision']})", counts)


def import_(file: Path) -> None:
    """Import a partnership from a file `reportcycle export` wrote (ids kept; refused if anything is there)."""
    with _errors():
        from models.db import engine_for
        from tasks.ops.backup import import_partnership, read_export

        document = read_export(file)
        with engine_for(_settings().database_url).begin() as conn:
            report = import_partnership(conn, document)
        _print_rows(
            f"imported {report.partnership} (exported {report.exported_at}, schema {report.schema_revision})",
            report.rows,
        )


def _print_rows(title: str, counts: dict[str, int]) -> None:
    common.console.print(title, highlight=False)
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    common.console.print(table)
