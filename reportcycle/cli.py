"""`reportcycle`: the command line for the business manager and the operator."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
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
central_app = typer.Typer(no_args_is_help=True, help="Central sections (the partnership's own text).")
app.add_typer(cycle_app, name="cycle")
app.add_typer(central_app, name="central")
outbox_app = typer.Typer(help="The outbox: what is queued, failed or stuck; retry or cancel a message.")
app.add_typer(outbox_app, name="outbox")


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
    from tasks.backup import BackupError
    from tasks.outbox_admin import OutboxAdminError
    from tasks.publish import NotReadyToPublish
    from tasks.review import ReviewError
    from tasks.submission import SubmissionFileError

    try:
        yield
    except PartnershipFileError as exc:
        err_console.print(f"[red]error:[/red] {exc.path}: the file was not loaded; nothing was written.")
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False)
        raise typer.Exit(1) from None
    except (
        NotFound,
        IllegalTransition,
        OutboxAdminError,
        IncompleteContribution,
        SubmissionFileError,
        ReviewError,
        NotReadyToPublish,
        BackupError,
        CliError,
        ValueError,
    ) as exc:
        if isinstance(exc, ValidationError) and exc.title == "Settings":
            from reportcycle.settings import problems

            lines = problems(exc)
            message = "a setting is wrong; nothing was done:\n  " + "\n  ".join(lines)
        elif isinstance(exc, ValidationError):
            first = exc.errors()[0]
            message = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
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


def _check_cycle() -> None:
    """Resolve the cycle before starting a flow, so a wrong name is one line, not a failed flow run."""
    from models.store import find_cycle

    _in_session(lambda s: find_cycle(s, OPTIONS.partnership, OPTIONS.cycle).id)


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


@app.command("check-settings")
def check_settings() -> None:
    """Check every setting (REPORTCYCLE_* and Prefect's) and print them, secrets masked."""
    with _errors():
        from reportcycle.settings import Settings, prefect_shown

        settings = Settings()  # not the cached one: this command is for checking what the environment says now
        # One line each, never wrapped: an operator greps this or pastes it into a ticket.
        for name, value in [*settings.shown(), *prefect_shown()]:
            typer.echo(f"{name}={value}")
        typer.echo("all settings are valid (secrets masked)")


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

        _check_cycle()
        with short_runs():
            report = open_cycle_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}")
        verb = "would queue" if dry_run else "queued"
        _print_emails(f"{report.cycle}: {verb} {len(report.emails)} requests", report.emails)


@cycle_app.command("create")
def cycle_create(
    from_: Annotated[str, typer.Option("--from", help="The cycle to copy, by its label, e.g. 2018/19.")],
    label: Annotated[str | None, typer.Option(help="The new cycle's label (default: the years moved on).")] = None,
    title: Annotated[str | None, typer.Option(help="The new cycle's title (default: its years moved on).")] = None,
) -> None:
    """Create next year's planned cycle from a previous one: its brief, priorities, policy, recipients, a year on."""
    with _errors():
        from tasks.roll_forward import roll_forward

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
        console.print(table)
        console.print(
            f"{report.agencies} agencies will be asked when it opens; central sections planned, empty: "
            f"{', '.join(report.central_sections) or 'none'}. Agencies are offered their {report.previous} text "
            "in the portal as a starting point."
        )
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


@app.command()
def chase(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing.")] = False,
) -> None:
    """Send the reminders, overdue notices and escalations due now (every running cycle unless --cycle names one)."""
    with _errors():
        from flows._runtime import short_runs
        from flows.chase import chase_all_flow, chase_flow

        with short_runs():
            if OPTIONS.cycle:
                _check_cycle()
                reports = [chase_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)]
            else:  # what the daily deployment does: every running cycle of every partnership (or of --partnership)
                reports = chase_all_flow(OPTIONS.partnership, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        if not reports:
            console.print("no running cycle to chase (open one with `reportcycle cycle open`)")
        for report in reports:
            if report.skipped_because:
                console.print(f"{report.cycle}: nothing due: {report.skipped_because}", highlight=False)
                continue
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
        from tasks.distribution import distribution

        def work(session: Any) -> tuple[str, list[Any], Any]:
            cycle = find_cycle(session, OPTIONS.partnership, OPTIONS.cycle)
            rows = cycle_status(session, cycle, at=_now())
            return f"{cycle.title} ({cycle.status})", rows, distribution(session, cycle)

        title, rows, sent = _in_session(work)
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
        if sent.published_on is not None:
            due = f"national bodies by {sent.national_due:%a %d %b %Y}: " + ("met" if sent.national_met else "NOT YET")
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
            console.print(listing)
        _print_operations()


def _print_operations() -> None:
    """The operator's half of `status`: the health checks, the daily chase, and Prefect's runs."""
    from rich.text import Text

    from tasks.health import health, prefect_overview

    report = health(_settings(), _now())
    for name, verdict in report.checks.items():
        colour = "green" if verdict == "ok" else "yellow" if verdict.startswith("not configured") else "red"
        console.print(Text(f"{name}: {verdict}", style=colour))
    last = f"{report.last_chase:%Y-%m-%d %H:%M} UTC" if report.last_chase else "none recorded"
    console.print(Text(f"last chase: {last}"))
    if report.chase_alert:
        console.print(Text(f"ALERT: {report.chase_alert}", style="bold red"))
    if report.checks.get("prefect") != "ok":
        return
    for what, runs in prefect_overview().items():
        table = Table(title=f"Prefect flow runs: {what}")
        for column in ("run", "deployment", "state", "when (UTC)"):
            table.add_column(column)
        for run in runs:
            when = f"{run.when.astimezone(dt.UTC):%Y-%m-%d %H:%M}" if run.when else ""
            table.add_row(*(Text(c) for c in (run.name, run.deployment, run.state, when)))
        console.print(table if runs else Text(f"Prefect flow runs {what}: none"))


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
            agency,
            lambda s, cycle, _a, c: extend_deadline(
                s,
                cycle,
                c,
                new_date,
                at=_now(),
                actor=OPTIONS.actor,
                base_url=_settings().public_base_url,
                templates_dir=_settings().templates_dir,
            ),
        )
        for warning in warnings:
            err_console.print(f"[yellow]warning:[/yellow] {warning}")
        console.print(f"{agency}: deadline moved to {new_date:%A %d %B %Y}; the agency will be told")


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
def link(
    role: Annotated[str, typer.Argument(help="chair (the review) or manager (the business manager's desk)")],
) -> None:
    """Email the Chair or the business manager a personal link to their page in the portal."""
    with _errors():
        from models.store import find_cycle
        from tasks.staff_link import send_staff_link

        if role not in ("chair", "manager"):
            raise CliError(f"a link is for 'chair' or 'manager', not {role!r}")

        def work(session: Any) -> str:
            s = _settings()
            return send_staff_link(
                session,
                find_cycle(session, OPTIONS.partnership, OPTIONS.cycle),
                role,
                at=_now(),
                actor=OPTIONS.actor,
                base_url=s.public_base_url,
                link_valid_days=s.link_valid_days,
                templates_dir=s.templates_dir,
            )

        address = _in_session(work)
        console.print(f"a personal link for the {role} is queued to {address}; dispatch sends it")


@app.command("confirm-escalation")
def confirm_escalation(agency: str) -> None:
    """Send an escalation the cycle's policy held for your confirmation."""
    with _errors():
        from tasks.desk import confirm_escalation as confirm

        n = _contribution_action(agency, lambda s, cycle, _a, c: confirm(s, cycle, c, at=_now(), actor=OPTIONS.actor))
        console.print(f"{agency}: {n} escalation{'s' if n != 1 else ''} released; dispatch sends it in the window")


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


@cycle_app.command("run")
def cycle_run() -> None:
    """Run every stage of the cycle that is due now (open, review, chase, collate, publish)."""
    with _errors():
        from flows._runtime import short_runs
        from flows.annual_cycle import annual_cycle_flow

        _check_cycle()
        with short_runs():
            done = annual_cycle_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        console.print(f"stages run: {', '.join(done) or 'none due'}")


@central_app.command("set")
def central_set(key: str, file: Path) -> None:
    """Set a central section's text from a Markdown file (the Chair sees it again)."""
    with _errors():
        from models.store import find_cycle
        from tasks.central import set_central_text

        try:
            body = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{file}: cannot read it as UTF-8 text ({exc})") from None
        section = _in_session(
            lambda s: set_central_text(
                s, find_cycle(s, OPTIONS.partnership, OPTIONS.cycle), key, body, at=_now(), actor=OPTIONS.actor
            )
        )
        console.print(f"{key}: {len(body.split())} words, {section.status}")


@app.command()
def collate() -> None:
    """Collate a numbered draft of the report (HTML) from every current revision and the central sections."""
    with _errors():
        from flows._runtime import short_runs
        from flows.collate import collate_flow

        _check_cycle()
        with short_runs():
            result = collate_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        from tasks.collation_report import summary_lines

        verb = "collated" if result.created else "nothing changed since"
        console.print(f"{verb} draft {result.number}: {result.path}")
        console.print(f"collation report: {result.report_path}")
        for line in summary_lines(result.summary):
            console.print(f"  {line}", highlight=False)


@app.command()
def review(
    name: Annotated[str, typer.Argument(help="An agency slug or a central section key.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve what the Chair read.")] = False,
    return_: Annotated[str | None, typer.Option("--return", help="Return it with these comments.")] = None,
    section: Annotated[str | None, typer.Option(help="The brief section a return points at.")] = None,
    chair: Annotated[str | None, typer.Option(help="Who decided (default: the cycle's Chair).")] = None,
) -> None:
    """Record the Chair's decision and apply it (a return goes back to the agency with a new deadline)."""
    with _errors():
        from flows._runtime import short_runs
        from flows.review import review_flow
        from models.store import cycle_values, find_cycle
        from tasks.review import record_decision

        if approve == (return_ is not None):
            raise CliError('give exactly one of --approve or --return "comments"')

        def work(s: Any) -> None:
            cycle = find_cycle(s, OPTIONS.partnership, OPTIONS.cycle)
            who = chair or str(cycle_values(cycle)[4].email)
            record_decision(
                s,
                cycle,
                name,
                "approve" if approve else "return",
                comments=return_ or "",
                brief_section=section,
                at=_now(),
                actor=who,
            )

        _in_session(work)
        with short_runs():
            report = review_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        for item in report.applied:
            console.print(f"applied: {item}")
        for item in report.stale:
            err_console.print(f"[yellow]not applied[/yellow] (the text changed after it was read): {item}")


@app.command()
def publish() -> None:
    """Publish the approved report: HTML and PDF, frozen with SHA-256, sent to the recipients."""
    with _errors():
        from flows._runtime import short_runs
        from flows.publish import publish_flow

        _check_cycle()
        with short_runs():
            result = publish_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        if result.refused:
            raise CliError(result.refused)
        console.print(f"published to {result.folder} ({result.notices_queued} notices queued)")
        for f in result.files:
            console.print(f"  {f['sha256']}  {f['name']}")


def _cycle_id(label: str | None) -> int | None:
    """The cycle named by an argument or the global options, or None for every cycle."""
    from models.store import find_cycle

    label = label or OPTIONS.cycle
    if label is None and OPTIONS.partnership is None:
        return None
    return _in_session(lambda s: find_cycle(s, OPTIONS.partnership, label).id)


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


def _detail_text(detail: dict[str, Any]) -> str:
    parts = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}={shown}")
    return "; ".join(parts)


@app.command()
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
        console.print(table)


@outbox_app.callback(invoke_without_command=True)
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

        from tasks.outbox_admin import SHOWN_BY_DEFAULT, list_outbox

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
        console.print(table)


_BY = typer.Option(help="Who asks, for the audit log (default: cli:<your user name>).")


@outbox_app.command("retry")
def outbox_retry(
    email_id: Annotated[int, typer.Argument(metavar="ID", help="The message's id, from `reportcycle outbox`.")],
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Put a failed or stuck message back in the queue, due now (dispatch sends it)."""
    with _errors():
        from tasks.outbox_admin import retry

        row = _in_session(lambda s: retry(s, email_id, at=_now(), actor=by or OPTIONS.actor))
        console.print(
            f"email {email_id} ({row.kind} to {', '.join(row.to_addrs)}): queued again, due now; "
            "`reportcycle dispatch` sends it",
            highlight=False,
        )


@outbox_app.command("cancel")
def outbox_cancel(
    email_id: Annotated[int, typer.Argument(metavar="ID", help="The message's id, from `reportcycle outbox`.")],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    by: Annotated[str | None, _BY] = None,
) -> None:
    """Stop a queued, failed, held or stuck message from ever being sent."""
    with _errors():
        from tasks.outbox_admin import cancel

        row = _in_session(lambda s: cancel(s, email_id, at=_now(), actor=by or OPTIONS.actor, reason=reason))
        console.print(
            f"email {email_id} ({row.kind} to {', '.join(row.to_addrs)}): cancelled; it will not be sent",
            highlight=False,
        )


@app.command("export")
def export_(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write.")],
    partnership: Annotated[str | None, typer.Option(help="Slug of the partnership to export.")] = None,
) -> None:
    """Export a partnership with its cycles, revisions, decisions, outbox and audit log to a JSON file."""
    with _errors():
        from sqlmodel import select

        from models.db import engine_for
        from models.partnership import Partnership
        from tasks.backup import export_snapshot, write_export

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


@app.command("import")
def import_(file: Path) -> None:
    """Import a partnership from a file `reportcycle export` wrote (ids kept; refused if anything is there)."""
    with _errors():
        from models.db import engine_for
        from tasks.backup import import_partnership, read_export

        document = read_export(file)
        with engine_for(_settings().database_url).begin() as conn:
            report = import_partnership(conn, document)
        _print_rows(
            f"imported {report.partnership} (exported {report.exported_at}, schema {report.schema_revision})",
            report.rows,
        )


def _print_rows(title: str, counts: dict[str, int]) -> None:
    console.print(title, highlight=False)
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


def _date_option(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


@app.command("import-report")
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
        from tasks.import_report import import_report as run_import

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
        console.print(table)
        for slug, name, aliases in report.missing:
            tried = ", ".join(repr(n) for n in (name, *aliases))
            err_console.print(
                f"[yellow]not found:[/yellow] {slug}: no heading is {tried}; it has no {report.label} text. If the "
                f"report names it otherwise, add that name to its aliases (and import with --dry-run first)",
                highlight=False,
            )
        for note in report.notes:
            err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        if dry_run:
            console.print("dry run: nothing was written")


@app.command()
def portal(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes serving requests: one a core keeps a busy deadline day quick.")
    ] = 1,
) -> None:
    """Run the portal where agencies answer from their emailed link (writes rows; dispatch sends)."""
    with _errors():
        import uvicorn

        from portal.app import create_app

        settings = _settings()  # checked here, once, before any process starts
        console.print(
            f"portal on http://{host}:{port}, {workers} process(es) (links are built from {settings.public_base_url})"
        )
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        else:
            # Each process builds its own app from the same environment, hence the import string.
            uvicorn.run("portal.asgi:app", host=host, port=port, log_level="warning", workers=workers)


@app.command()
def deploy(
    pool: Annotated[str, typer.Option(help="The process work pool (created when it does not exist).")],
    timezone: Annotated[str, typer.Option(help="Time zone of the schedules.")] = "Europe/London",
) -> None:
    """Register the deployments to a process work pool on PREFECT_API_URL's server, for `prefect worker start`."""
    with _errors():
        import httpx
        from prefect.settings import PREFECT_API_URL

        from deployments.pool import PoolError, register
        from reportcycle.settings import PROJECT_ROOT

        api = PREFECT_API_URL.value()
        if not api:
            raise CliError("set PREFECT_API_URL to the Prefect server the workers use (e.g. http://host:4200/api)")
        try:
            done = register(pool, timezone)
        except PoolError as exc:
            raise CliError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise CliError(f"the Prefect API at {api} did not answer: {exc}") from None
        console.print(f"work pool {pool!r} ({'created' if done.pool_created else 'already there'}) on {api}")
        for name, _ in done.deployments:
            console.print(f"registered {name}", highlight=False)
        console.print(
            f"code: {PROJECT_ROOT} (the same path on every worker); on each machine: "
            f"prefect worker start --pool {pool} --type process",
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="The portal's address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The portal's port.")] = 8000,
    prefect_host: Annotated[str, typer.Option(help="Address of the Prefect server started here.")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server started here (UI and API).")] = 4200,
    timezone: Annotated[str, typer.Option(help="Time zone of the schedules.")] = "Europe/London",
    deployments: Annotated[
        bool, typer.Option(help="Serve the deployments here; --no-deployments when workers run them from a pool.")
    ] = True,
) -> None:
    """Run it for real: a Prefect server (or PREFECT_API_URL's), the scheduled deployments, and the portal."""
    with _errors():
        from reportcycle.serve import ServeError
        from reportcycle.serve import serve as run
        from reportcycle.settings import Settings

        settings = Settings()  # checked now, in full: a bad setting stops everything before anything starts
        try:
            run(
                settings,
                host=host,
                port=port,
                prefect_host=prefect_host,
                prefect_port=prefect_port,
                timezone=timezone,
                say=lambda line: console.print(line, highlight=False),
                with_deployments=deployments,
            )
        except ServeError as exc:
            raise CliError(str(exc)) from None


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its database and mail.")] = Path("out"),
) -> None:
    """Run the example through a whole year on a simulated clock, ending with the published report."""
    with _errors():
        from reportcycle.demo import run_demo

        run_demo(out, console)


if __name__ == "__main__":
    app()
