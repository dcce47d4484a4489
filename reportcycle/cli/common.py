"""What every command shares: the global options, one-line errors instead of tracebacks, the session, the clock."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

T = TypeVar("T")
# Looked up as `common.console` at call time by every command, so a test can swap in a wider console.
console = Console()
err_console = Console(stderr=True)


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


@contextmanager
def _errors() -> Iterator[None]:
    """Known failures are one clear line and exit code 1, never a traceback.

    The failures are recognised by classes looked up only in modules the command has imported (a command
    cannot raise an error from a module it never loaded): importing them all up front cost a second a command.
    """
    try:
        yield
    except Exception as exc:
        if _is(exc, "models.partnership_file", "PartnershipFileError"):
            err_console.print(f"[red]error:[/red] {exc.path}: the file was not loaded; nothing was written.")  # type: ignore[attr-defined]
            for problem in exc.problems:  # type: ignore[attr-defined]
                err_console.print(f"  - {problem}", highlight=False)
            raise typer.Exit(1) from None
        if _is(exc, "sqlalchemy.exc", "OperationalError") or _is(exc, "sqlalchemy.exc", "ProgrammingError"):
            reason = str(exc.orig).splitlines()[0]  # type: ignore[attr-defined]
            unreachable = any(
                words in reason.lower()
                for words in ("connection", "could not connect", "unable to open", "timeout", "password authentication")
            )
            if unreachable:
                hint = "check REPORTCYCLE_DATABASE_URL, and that the database server is running and lets you in"
            else:
                hint = "run `reportcycle init` to create or upgrade the database"
            err_console.print(f"[red]error:[/red] database: {reason} ({hint})", highlight=False)
            raise typer.Exit(1) from None
        if not (isinstance(exc, CliError | ValueError) or any(_is(exc, *known) for known in KNOWN_FAILURES)):
            raise
        if _is(exc, "pydantic", "ValidationError") and exc.title == "Settings":  # type: ignore[attr-defined]
            from reportcycle.settings import problems

            message = "a setting is wrong; nothing was done:\n  " + "\n  ".join(problems(exc))  # type: ignore[arg-type]
        elif _is(exc, "pydantic", "ValidationError"):
            first = exc.errors()[0]  # type: ignore[attr-defined]
            message = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        else:
            message = str(exc)
        err_console.print(f"[red]error:[/red] {message}", highlight=False)
        raise typer.Exit(1) from None


# Failures a person can act on, by module and class: each becomes one line saying what is wrong.
KNOWN_FAILURES = (
    ("models.lifecycle", "IllegalTransition"),
    ("models.revisions", "IncompleteContribution"),
    ("models.errors", "NotFound"),
    ("tasks.contributions.submission", "SubmissionFileError"),
    ("tasks.mail.outbox_admin", "OutboxAdminError"),
    ("tasks.ops.backup", "BackupError"),
    ("tasks.report.publish", "NotReadyToPublish"),
    ("tasks.review.review", "ReviewError"),
)


def _is(exc: BaseException, module: str, name: str) -> bool:
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def _settings() -> Any:
    from reportcycle.settings import get_settings

    return get_settings()


def _in_session(work: Callable[[Any], T]) -> T:
    from flows._runtime import in_session

    return in_session(_settings(), work, dry_run=False)


def _check_cycle() -> None:
    """Resolve the cycle before starting a flow, so a wrong name is one line, not a failed flow run."""
    from models.store import find_cycle

    _in_session(lambda s: find_cycle(s, OPTIONS.partnership, OPTIONS.cycle).id)


@contextmanager
def _stage_runs() -> Iterator[None]:
    """Run a stage's flow as plain functions, recorded on a Prefect server when one is configured, never
    starting one (that took 20 s a command, and failed outright on a loaded machine). A process that imported
    the flows as Prefect's already (the tests' harness) runs them under Prefect's engine, as before."""
    from flows import _runtime
    from reportcycle.prefect_env import configured_api_url

    api = configured_api_url()
    with _runtime.without_prefect() as plain:
        if api is None:
            if plain:
                err_console.print(
                    "[dim]no Prefect server (PREFECT_API_URL unset, no `reportcycle serve` running): "
                    "this run is not recorded in Prefect[/dim]",
                    highlight=False,
                )
            with _runtime.short_runs():
                yield
            return
        from tasks.ops.health import check_prefect, cli_run_tags, crash_orphaned_runs
        from tasks.ops.prefect_api import PrefectApi, PrefectApiError

        if check_prefect() != "ok":
            raise CliError(
                f"the Prefect server at {api} does not answer: start it (`reportcycle serve`), or unset "
                "PREFECT_API_URL to run without recording the run in Prefect"
            )
        with PrefectApi(api) as client:
            try:
                orphans = crash_orphaned_runs(client)  # an earlier command that was killed left its run "Running"
            except PrefectApiError as exc:  # the runs are the point of the command, not this tidying
                orphans = []
                err_console.print(f"[yellow]note:[/yellow] could not look for crashed runs: {exc}", highlight=False)
            for name in orphans:
                err_console.print(
                    f"[yellow]note:[/yellow] flow run {name!r} marked Crashed: its command had died", highlight=False
                )
            if not plain:
                with _runtime.short_runs(), _runtime.tagged(*cli_run_tags()):
                    yield
                return
            from flows._recorder import Recorder

            def warn(line: str) -> None:
                err_console.print(f"[yellow]note:[/yellow] {line}", highlight=False)

            with _runtime.recording(Recorder(client, list(cli_run_tags()), warn)):
                yield


def _now() -> dt.datetime:
    from reportcycle.clock import resolve

    return resolve(OPTIONS.at)


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


def _contribution_action(agency: str, action: Callable[[Any, Any, Any, Any], T]) -> T:
    from models.store import contribution_for, find_agency, find_cycle

    def work(session: Any) -> T:
        cycle = find_cycle(session, OPTIONS.partnership, OPTIONS.cycle)
        found = find_agency(session, cycle, agency)
        return action(session, cycle, found, contribution_for(session, cycle, found))

    return _in_session(work)


def _local_start(value: str, timezone: str) -> dt.datetime:
    """A date is midnight in the partnership's time zone; an instant needs its offset."""
    from zoneinfo import ZoneInfo

    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), ZoneInfo(timezone))
        at = _parse_at(value)
    except (ValueError, typer.BadParameter):
        at = None
    if at is None:
        raise CliError(f"--since {value!r}: write a date as YYYY-MM-DD, or an instant as 2019-05-13T09:30+01:00")
    return at
