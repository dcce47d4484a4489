"""Collate, review, publish: the draft, the Chair's decisions, the published report."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reportcycle.cli import common
from reportcycle.cli.common import OPTIONS, CliError, _check_cycle, _errors, _in_session, _now, _stage_runs


def collate() -> None:
    """Collate a numbered draft of the report (HTML) from every current revision and the central sections."""
    with _errors():
        _check_cycle()
        with _stage_runs():
            from flows.collate import collate_flow

            result = collate_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        verb = "collated" if result.created else "nothing changed since"
        common.console.print(f"{verb} draft {result.number}: {result.path}")
        common.console.print(f"collation report: {result.report_path}")
        from tasks.report.findings import summary_lines

        for line in summary_lines(result.summary):
            common.console.print(f"  {line}", highlight=False)


def review(
    name: Annotated[str, typer.Argument(help="An agency slug or a central section key.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve what the Chair read.")] = False,
    return_: Annotated[str | None, typer.Option("--return", help="Return it with these comments.")] = None,
    section: Annotated[str | None, typer.Option(help="The brief section a return points at.")] = None,
    chair: Annotated[str | None, typer.Option(help="Who decided (default: the cycle's Chair).")] = None,
) -> None:
    """Record the Chair's decision and apply it (a return goes back to the agency with a new deadline)."""
    with _errors():
        from models.store import cycle_values, find_cycle
        from tasks.review.review import record_decision

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
        with _stage_runs():
            from flows.review import review_flow

            report = review_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        for item in report.applied:
            common.console.print(f"applied: {item}")
        for item in report.stale:
            common.err_console.print(f"[yellow]not applied[/yellow] (the text changed after it was read): {item}")


def _day(value: str | None, what: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD") from None


def _override(keys: list[str], reason: str) -> None:
    """Record each override in its own transaction, before publishing: kept even if something else still
    holds the report back."""
    from models.store import find_cycle
    from tasks.report.publish import NotReadyToPublish, let_through

    def let(s: Any) -> None:
        cycle = find_cycle(s, OPTIONS.partnership, OPTIONS.cycle)
        for key in keys:
            try:
                held = let_through(
                    s,
                    cycle,
                    key,
                    reason=reason,
                    at=_now(),
                    actor=OPTIONS.actor,
                    templates_dir=common._settings().templates_dir,
                )
            except NotReadyToPublish as refusal:
                raise CliError(str(refusal)) from None
            common.console.print(f"let through: {held.kind} in {held.where}", highlight=False)

    _in_session(let)


def publish(
    signed_off_by: Annotated[
        str | None,
        typer.Option("--signed-off-by", help='Who agreed the report, e.g. "the Board at its meeting on 12 June".'),
    ] = None,
    agreed: Annotated[
        str | None, typer.Option("--agreed", help="The date the board agreed it, YYYY-MM-DD (default: today).")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="The working day to publish, YYYY-MM-DD (default: today, at once).")
    ] = None,
    let_through: Annotated[
        list[str] | None,
        typer.Option(
            "--override",
            help="Let one thing the content gate holds back be published as it is, by its key from the collation "
            "report (repeat for each); recorded with --reason.",
        ),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the overridden things may be published.")] = "",
) -> None:
    """Record the board's sign-off and publish: today at once, or on the day given by the morning run.

    Without --signed-off-by, publishes a cycle whose sign-off is already recorded (on the desk) and due.
    """
    with _errors():
        _check_cycle()
        if let_through:
            if not reason.strip():
                raise CliError('--override needs --reason "why it may be published as it is"')
            _override(let_through, reason)
        agreed_on, publish_on = _day(agreed, "--agreed"), _day(on, "--on")
        if signed_off_by is None and (agreed_on or publish_on):
            raise CliError('--agreed and --on go with --signed-off-by "who agreed the report"')
        if signed_off_by is not None:
            from models.store import calendar_of, find_cycle, partnership_of
            from tasks.desk.sign_off import SignOffRefused, record_sign_off

            def sign(s: Any) -> Any:
                cycle = find_cycle(s, OPTIONS.partnership, OPTIONS.cycle)
                today = calendar_of(partnership_of(s, cycle)).local(_now()).date()
                day = publish_on or today
                try:
                    record_sign_off(
                        s,
                        cycle,
                        signed_off_by=signed_off_by,
                        signed_off_on=agreed_on or today,
                        publish_on=day,
                        at=_now(),
                        actor=OPTIONS.actor,
                    )
                except SignOffRefused as refusal:
                    raise CliError(str(refusal)) from None
                return day if day > today else None

            later = _in_session(sign)
            if later is not None:
                common.console.print(f"signed off; the morning run publishes it on {later:%A %-d %B %Y}")
                return
        with _stage_runs():
            from flows.publish import publish_flow

            result = publish_flow(OPTIONS.partnership, OPTIONS.cycle, _now(), actor=OPTIONS.actor)
        if result.refused:
            raise CliError(result.refused)
        common.console.print(f"published to {result.folder} ({result.notices_queued} notices queued)")
        for f in result.files:
            common.console.print(f"  {f['sha256']}  {f['name']}")
