"""`reportcycle`: the command line for the business manager and the operator."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from reportcycle import prefect_env

prefect_env.apply()

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)
app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False)
partnership_app = typer.Typer(no_args_is_help=True, help="Partnership files.")
cycle_app = typer.Typer(no_args_is_help=True, help="Cycles.")
app.add_typer(partnership_app, name="partnership")
app.add_typer(cycle_app, name="cycle")


@dataclass
class Options:
    at: dt.datetime | None = None
    partnership: str | None = None
    cycle: str | None = None

    @property
    def actor(self) -> str:
        return f"cli:{getpass.getuser()}"


OPTIONS = Options()


class CliError(Exception):
    pass


def _parse_at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time, e.g. 2019-05-13T09:30+01:00") from None
    if at.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset; add one, e.g. {value}+01:00")
    return at


@app.callback()
def main(
    at: Annotated[str | None, typer.Option(help="Act as if it were this instant (ISO, with offset).")] = None,
    partnership: Annotated[str | None, typer.Option(help="Partnership slug, when there is more than one.")] = None,
    cycle: Annotated[str | None, typer.Option(help="Cycle label, e.g. 2018/19, when there is more than one.")] = None,
) -> None:
    """Run the yearly cycle of a multi-agency report."""
    OPTIONS.at = _parse_at(at)
    OPTIONS.partnership = partnership
    OPTIONS.cycle = cycle


@contextmanager
def _errors() -> Iterator[None]:
    """Known failures are one clear line and exit code 1, never a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from models.lifecycle import IllegalTransition
    from models.partnership_file import PartnershipFileError
    from models.revisions import IncompleteContribution
    from models.store import NotFound
    from tasks.submission import SubmissionFileError

    try:
        yield
    except PartnershipFileError as exc:
        err_console.print(f"[red]error:[/red] {exc.path}: the file was not loaded; nothing was written.")
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False)
        raise typer.Exit(1) from None
    except (NotFound, IllegalTransition, IncompleteContribution, SubmissionFileError, CliError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            message = f"setting {'.'.join(map(str, first['loc']))}: {first['msg']}"
        else:
            message = str(exc)
        err_console.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(1) from None
    except (OperationalError, ProgrammingError) as exc:
        hint = "run `reportcycle init` to create or upgrade the database"
        err_console.print(f"[red]error:[/red] database: {str(exc.orig).splitlines()[0]} ({hint})", highlight=False)
        raise typer.Exit(1) from None


def _settings() -> Any:
    from reportcycle.settings import get_settings

    return get_settings()


def _in_session(work: Callable[[Any], T]) -> T:
    from flows._runtime import in_session

    return in_session(_settings(), work, dry_run=False)


def _now() -> dt.datetime:
    from reportcycle.clock import resolve

    return resolve(OPTIONS.at)


@app.command()
def init() -> None:
    """Create the database schema, or upgrade it to the latest migration."""
    with _errors():
        from tasks.schema import upgrade

        url = _settings().database_url
        upgrade(url)
        console.print(f"database ready: {url}")


@partnership_app.command("load")
def partnership_load(file: Path) -> None:
    """Load (or update) a partnership and its planned cycle from a TOML file."""
    with _errors():
        from models.partnership_file import parse
        from models.store import load_partnership

        spec = parse(file)
        report = _in_session(lambda s: load_partnership(s, spec, at=_now(), actor=OPTIONS.actor))
        console.print(
            f"loaded {report.partnership}: {report.agencies_added} agencies added, "
            f"{report.agencies_updated} updated, {report.contacts_written} contacts; "
            f"cycle {report.cycle} {report.cycle_action}"
        )


def _print_emails(title: str, emails: list[Any], superseded: list[Any] = ()) -> None:  # type: ignore[assignment]
    table = Table(title=title)
    for column in ("agency", "kind", "to", "cc", "local date", "note"):
        table.add_column(column)
    for e in emails:
        table.add_row(e.agency, e.kind, ", ".join(e.to), ", ".join(e.cc), str(e.local_date), e.note)
    for e in superseded:
        table.add_row(
            e.agency,
            f"[dim]{e.kind}[/dim]",
            ", ".join(e.to),
            ", ".join(e.cc),
            str(e.local_date),
            f"superseded ({e.note}): not sent",
        )
    console.print(table)


@cycle_app.command("open")
def cycle_open(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing.")] = False,
) -> None:
    """Open the cycle: a contribution per agency, personal links, request emails."""
    with _errors():
        from flows._runtime import short_runs
        from flows.open_cycle import open_cycle_flow

        with short_runs():
            report = open_cycle_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}")
        verb = "would queue" if dry_run else "queued"
        _print_emails(f"{report.cycle}: {verb} {len(report.emails)} requests", report.emails)


@app.command()
def chase(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing.")] = False,
) -> None:
    """Send the reminders, overdue notices and escalations due now."""
    with _errors():
        from flows._runtime import short_runs
        from flows.chase import chase_flow

        with short_runs():
            report = chase_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        if report.skipped_because:
            console.print(f"nothing due: {report.skipped_because}")
            return
        verb = "would send" if dry_run else "queued"
        _print_emails(
            f"{report.cycle} on {report.local_date}: {verb} {len(report.emails)}", report.emails, report.superseded
        )


@app.command()
def dispatch() -> None:
    """Send the queued emails that are due."""
    with _errors():
        from flows._runtime import short_runs
        from flows.dispatch import dispatch_flow

        with short_runs():
            report = dispatch_flow(_now())
        console.print(f"sent {report.sent}, retrying later {report.retrying}, failed {report.failed}")
        for error in report.errors:
            err_console.print(f"[red]failed:[/red] {error}", highlight=False)


@app.command()
def status() -> None:
    """Each agency's state, deadline and reminders sent."""
    with _errors():
        from models.status import cycle_status
        from models.store import find_cycle

        def work(session: Any) -> tuple[str, list[Any]]:
            cycle = find_cycle(session, OPTIONS.partnership, OPTIONS.cycle)
            return f"{cycle.title} ({cycle.status})", cycle_status(session, cycle, at=_now())

        title, rows = _in_session(work)
        table = Table(title=title)
        for column in ("agency", "state", "deadline", "days", "chasers sent", "failed", "last activity"):
            table.add_column(column)
        for r in rows:
            colour = {"overdue": "red", "submitted": "green", "approved": "green", "excused": "dim"}.get(r.state, "")
            table.add_row(
                r.name,
                f"[{colour}]{r.state}[/{colour}]" if colour else r.state,
                f"{r.deadline:%a %d %b %Y %H:%M}",
                str(r.days_left),
                str(r.chasers_sent),
                str(r.failed_emails),
                f"{r.last_activity.astimezone(r.deadline.tzinfo):%Y-%m-%d %H:%M}" if r.last_activity else "",
            )
        console.print(table)


def _contribution_action(agency: str, action: Callable[[Any, Any, Any, Any], T]) -> T:
    from models.store import contribution_for, find_agency, find_cycle

    def work(session: Any) -> T:
        cycle = find_cycle(session, OPTIONS.partnership, OPTIONS.cycle)
        found = find_agency(session, cycle, agency)
        return action(session, cycle, found, contribution_for(session, cycle, found))

    return _in_session(work)


@app.command()
def extend(agency: str, date: Annotated[str, typer.Argument(help="New deadline, YYYY-MM-DD")]) -> None:
    """Move an agency's deadline (its reminders move with it)."""
    with _errors():
        from tasks.desk import extend as extend_deadline

        try:
            new_date = dt.date.fromisoformat(date)
        except ValueError:
            raise CliError(f"{date!r} is not a date; write it as YYYY-MM-DD") from None
        warnings = _contribution_action(
            agency, lambda s, cycle, _a, c: extend_deadline(s, cycle, c, new_date, at=_now(), actor=OPTIONS.actor)
        )
        for warning in warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}")
        console.print(f"{agency}: deadline moved to {new_date:%A %d %B %Y}")


@app.command()
def excuse(agency: str, reason: Annotated[str, typer.Option(help="Why the agency is excused.")] = "") -> None:
    """Excuse an agency from this cycle; the report names it as not having contributed."""
    with _errors():
        from tasks.desk import excuse as excuse_agency

        _contribution_action(
            agency, lambda s, _cy, _a, c: excuse_agency(s, c, at=_now(), actor=OPTIONS.actor, reason=reason)
        )
        console.print(f"{agency}: excused")


@app.command()
def submit(agency: str, file: Path) -> None:
    """Record a contribution received by other means (a text file, '## Section' headings)."""
    with _errors():
        from flows._runtime import short_runs
        from flows.dispatch import dispatch_flow
        from tasks.submission import submit_file

        s = _settings()
        revision = _contribution_action(
            agency,
            lambda session, cycle, found, c: submit_file(
                session,
                cycle,
                found,
                c,
                file,
                at=_now(),
                actor=OPTIONS.actor,
                base_url=s.public_base_url,
                templates_dir=s.templates_dir,
            ),
        )
        console.print(f"{agency}: revision {revision.number} recorded ({revision.content_hash[:12]})")
        with short_runs():
            dispatch_flow(_now())


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its database and mail.")] = Path("out"),
) -> None:
    """Run the example through the first half of a year on a simulated clock."""
    with _errors():
        from reportcycle.demo import run_demo

        run_demo(out, console)


if __name__ == "__main__":
    app()
