"""The partnership and its years: load the file, plan next year's cycle, import last year's report."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from reportcycle.cli import common
from reportcycle.cli.common import OPTIONS, CliError, _errors, _in_session, _now, _settings


def partnership_load(
    file: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
) -> None:
    """Load (or update) a partnership and its planned cycle from a TOML file: shows each difference, then
    applies them all, or none when one cannot be applied."""
    with _errors():
        from flows._runtime import in_session
        from models.partnership_file import parse
        from models.store import load_partnership
        from tasks.desk.partnership_diff import plan_load

        spec = parse(file)

        def work(s: Any) -> Any:
            plan = plan_load(s, spec)
            if plan.refused:
                return plan, None
            changes = None if plan.new_partnership else plan.changes
            return plan, load_partnership(s, spec, at=_now(), actor=OPTIONS.actor, changes=changes)

        plan, report = in_session(_settings(), work, dry_run=dry_run)
        if plan.refused:
            common.err_console.print(f"[red]error:[/red] {file}: the file was not loaded; nothing was written.")
            for problem in plan.refused:
                common.err_console.print(f"  - {problem}", highlight=False, markup=False)
            raise typer.Exit(1)
        if not plan.new_partnership:
            heading = f"{len(plan.changes)} change(s)" if plan.changes else "no changes"
            common.console.print(f"{spec.partnership.slug}: {heading}")
            for change in plan.changes:
                common.console.print(f"  - {change}", highlight=False, markup=False)
        if dry_run:
            common.console.print("dry run: nothing was written")
            return
        common.console.print(
            f"loaded {report.partnership}: {report.agencies_added} agencies added, "
            f"{report.agencies_updated} updated, {report.contacts_written} contacts; "
            f"cycle {report.cycle} {report.cycle_action}"
        )


def partnership_export(
    out: Annotated[Path | None, typer.Option("--out", help="Write the file here (default: print it).")] = None,
) -> None:
    """The partnership and its latest cycle (or --cycle) as a partnership file, to keep or edit and load again."""
    with _errors():
        from tasks.desk.partnership_export import current_spec, cycle_to_export, export_toml

        def work(s: Any) -> str:
            partnership, cycle = cycle_to_export(s, OPTIONS.partnership, OPTIONS.cycle)
            return export_toml(current_spec(s, partnership, cycle), exported_at=f"{_now():%d %B %Y %H:%M %Z}")

        text = _in_session(work)
        if out is None:
            sys.stdout.write(text)
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{out}: cannot write it ({exc.strerror}); choose another --out") from None
        common.console.print(f"exported to {out}")


def cycle_create(
    from_: Annotated[str, typer.Option("--from", help="The cycle to copy, by its label, e.g. 2018/19.")],
    label: Annotated[str | None, typer.Option(help="The new cycle's label (default: the years moved on).")] = None,
    title: Annotated[str | None, typer.Option(help="The new cycle's title (default: its years moved on).")] = None,
) -> None:
    """Create next year's planned cycle from a previous one: its brief, priorities, policy, recipients, a year on."""
    with _errors():
        from tasks.years.roll_forward import roll_forward

        report = _in_session(
            lambda s: roll_forward(
                s,
                partnership_slug=OPTIONS.partnership,
                previous_label=from_,
                at=_now(),
                actor=OPTIONS.actor,
                label=label,
                title=title,
            )
        )
        table = Table(title=f"{report.partnership} {report.label}: {report.title} (planned, from {report.previous})")
        for column in ("date", "day", "note"):
            table.add_column(column)
        notes = {m.field: m.why for m in report.moved}
        for name, day in asdict(report.dates).items():
            table.add_row(name.replace("_", " "), f"{day:%a %d %b %Y}", notes.get(name, ""))
        table.add_row("cut off", f"{report.cut_off:%H:%M}", "as before")
        common.console.print(table)
        common.console.print(
            f"{report.agencies} agencies will be asked when it opens; central sections planned, empty: "
            f"{', '.join(report.central_sections) or 'none'}. Agencies are offered their {report.previous} text "
            "in the portal as a starting point."
        )
        for warning in report.warnings:
            common.err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def _date_option(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


def import_report(
    file: Annotated[Path, typer.Argument(help="A previous annual report in Markdown.")],
    partnership_file: Annotated[
        Path, typer.Option("--partnership", help="The partnership file (TOML): agencies, aliases, brief.")
    ],
    label: Annotated[
        str | None, typer.Option(help="The report's cycle label (default: the year before the file's).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The report's title (default: the file's, a year back).")] = None,
    period_start: Annotated[
        str | None, typer.Option(help="The report's period, YYYY-MM-DD (with --period-end).")
    ] = None,
    period_end: Annotated[str | None, typer.Option(help="The end of the report's period, YYYY-MM-DD.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be imported; write nothing.")] = False,
) -> None:
    """Import a previous annual report: each agency's chapter becomes last year's approved contribution."""
    with _errors():
        from flows._runtime import in_session
        from models.partnership_file import parse
        from tasks.years.import_report import import_report as run_import

        spec = parse(partnership_file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{file}: cannot read it as UTF-8 text ({exc}); save the report as UTF-8 Markdown") from None
        start, end = _date_option(period_start, "--period-start"), _date_option(period_end, "--period-end")
        report = in_session(
            _settings(),
            lambda s: run_import(
                s,
                spec,
                text,
                source=file.name,
                at=_now(),
                actor=OPTIONS.actor,
                label=label,
                title=title,
                period_start=start,
                period_end=end,
            ),
            dry_run=dry_run,
        )
        verb = "would import" if dry_run else "imported"
        table = Table(
            title=f"{report.partnership} {report.label}: {report.title} ({report.period_start} to "
            f"{report.period_end}), {verb} {len(report.chapters)} of {len(report.chapters) + len(report.missing)}"
        )
        for column in ("agency", "heading matched", "line", "words", "where placed"):
            table.add_column(column)
        for c in report.chapters:
            table.add_row(c.slug, c.heading, str(c.line), str(c.words), c.placed)
        common.console.print(table)
        for slug, name, aliases in report.missing:
            tried = ", ".join(repr(n) for n in (name, *aliases))
            common.err_console.print(
                f"[yellow]not found:[/yellow] {slug}: no heading is {tried}; it has no {report.label} text. If the "
                f"report names it otherwise, add that name to its aliases (and import with --dry-run first)",
                highlight=False,
            )
        for note in report.notes:
            common.err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        if dry_run:
            common.console.print("dry run: nothing was written")
