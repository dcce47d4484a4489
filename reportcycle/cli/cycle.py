"""The cycle, agency by agency: open it, run what is due, extend, excuse, links, escalations, submissions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from reportcycle.cli import common
from reportcycle.cli.common import (
    OPTIONS,
    CliError,
    _check_cycle,
    _contribution_action,
    _errors,
    _in_session,
    _now,
    _print_emails,
    _settings,
    _stage_runs,
)


def cycle_open(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing.")] = False,
) -> None:
    """Open the cycle: a contribution per agency, personal links, request emails."""
    with _errors():
        _check_cycle()
        with _stage_runs():
            from flows.open_cycle import open_cycle_flow

            report = open_cycle_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), dry_run=dry_run, actor=OPTIONS.actor)
        for warning in report.warnings:
            common.err_console.print(f"[yellow]warning:[/yellow] {warning}")
        verb = "would queue" if dry_run else "queued"
        _print_emails(f"{report.cycle}: {verb} {len(report.emails)} requests", report.emails)


def cycle_run() -> None:
    """Run every stage of the cycle that is due now (open, review, chase, collate, publish)."""
    with _errors():
        _check_cycle()
        with _stage_runs():
            from flows.annual_cycle import annual_cycle_flow

            done = annual_cycle_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        common.console.print(f"stages run: {', '.join(done) or 'none due'}")


def extend(agency: str, date: Annotated[str, typer.Argument(help="New deadline, YYYY-MM-DD")]) -> None:
    """Move an agency's deadline (its reminders move with it)."""
    with _errors():
        from tasks.desk.desk import extend as extend_deadline

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
            common.err_console.print(f"[yellow]warning:[/yellow] {warning}")
        common.console.print(f"{agency}: deadline moved to {new_date:%A %d %B %Y}; the agency will be told")


def excuse(
    agency: str,
    reason: Annotated[str, typer.Option(help="Why the agency is excused (or, with --undo, asked again).")] = "",
    undo: Annotated[
        bool, typer.Option("--undo", help="Undo an excusal: the agency is asked and chased again.")
    ] = False,
) -> None:
    """Excuse an agency from this cycle; the report names it as not having contributed. --undo reverses it."""
    with _errors():
        from tasks.desk.desk import excuse as excuse_agency
        from tasks.desk.desk import unexcuse

        if undo:
            before = _contribution_action(
                agency, lambda s, _cy, _a, c: unexcuse(s, c, at=_now(), actor=OPTIONS.actor, reason=reason)
            )
            common.console.print(f"{agency}: no longer excused; back to {before}, and chased from where it stands")
            return
        from tasks.desk.excused import tell_excused

        def excused(s: Any, cycle: Any, _a: Any, c: Any) -> list[str]:
            excuse_agency(s, c, at=_now(), actor=OPTIONS.actor, reason=reason)
            # the agency hears why, as from the desk; without a reason there is nothing to tell it
            return (
                tell_excused(s, cycle, c, reason=reason, at=_now(), templates_dir=_settings().templates_dir)
                if reason
                else []
            )

        told = _contribution_action(agency, excused)
        common.console.print(f"{agency}: excused (`reportcycle excuse {agency} --undo` reverses it)")
        common.console.print(
            f"{len(told)} contact(s) told by email (`reportcycle dispatch` sends it)"
            if told
            else "the agency was not told: give --reason to email its contacts why"
        )


def link(
    role: Annotated[str, typer.Argument(help="chair (the review) or manager (the business manager's desk)")],
) -> None:
    """Email the Chair or the business manager a personal link to their page in the portal."""
    with _errors():
        from models.store import find_cycle
        from tasks.links.staff_link import send_staff_link

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
        common.console.print(f"a personal link for the {role} is queued to {address}; dispatch sends it")


def confirm_escalation(agency: str) -> None:
    """Send an escalation the cycle's policy held for your confirmation."""
    with _errors():
        from tasks.desk.desk import confirm_escalation as confirm

        n = _contribution_action(agency, lambda s, cycle, _a, c: confirm(s, cycle, c, at=_now(), actor=OPTIONS.actor))
        common.console.print(
            f"{agency}: {n} escalation{'s' if n != 1 else ''} released; dispatch sends it in the window"
        )


def submit(agency: str, file: Path) -> None:
    """Record a contribution received by other means (a text file, '## Section' headings)."""
    with _errors():
        from tasks.contributions.submission import submit_file

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
        common.console.print(f"{agency}: revision {revision.number} recorded ({revision.content_hash[:12]})")
        with _stage_runs():
            from flows.dispatch import dispatch_flow

            dispatch_flow(_now())


def central_set(key: str, file: Path) -> None:
    """Set a central section's text from a Markdown file (the Chair sees it again)."""
    with _errors():
        from models.store import find_cycle
        from tasks.desk.central import set_central_text

        try:
            body = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{file}: cannot read it as UTF-8 text ({exc})") from None
        section = _in_session(
            lambda s: set_central_text(
                s, find_cycle(s, OPTIONS.partnership, OPTIONS.cycle), key, body, at=_now(), actor=OPTIONS.actor
            )
        )
        common.console.print(f"{key}: {len(body.split())} words, {section.status}")
