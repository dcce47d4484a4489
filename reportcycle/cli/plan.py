"""`reportcycle cycle plan`: what will happen, the same forecast as the desk's "What will happen" page."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from reportcycle.cli import common
from reportcycle.cli.common import OPTIONS, _errors, _in_session, _now


def cycle_plan(
    agency: Annotated[str | None, typer.Option(help="Only this agency's emails (its slug).")] = None,
) -> None:
    """Every email the chase will send if nobody answers (and what already went), the year's dates and the bank
    holidays they step around."""
    with _errors():
        from models.store import find_cycle
        from tasks.asking.forecast import forecast

        def work(s: Any) -> Any:
            return forecast(s, find_cycle(s, OPTIONS.partnership, OPTIONS.cycle), at=_now())

        plan = _in_session(work)
        emails = Table(title=f"{plan.cycle}: emails (times in {plan.timezone})")
        for column in ("date", "time", "agency", "email", "to", "cc", "state"):
            emails.add_column(column)
        for e in plan.emails:
            if agency is None or e.slug == agency:
                state = e.state + (f": {e.note}" if e.note else "")
                emails.add_row(
                    f"{e.on:%a %d %b %Y}", f"{e.at:%H:%M}", e.slug, e.kind_text, ", ".join(e.to), ", ".join(e.cc), state
                )
        common.console.print(emails)
        stages = Table(title="The year's dates")
        stages.add_column("stage")
        stages.add_column("date")
        for stage in plan.stages:
            stages.add_row(stage.name, f"{stage.on:%A %d %B %Y}" + (f" ({stage.note})" if stage.note else ""))
        common.console.print(stages)
        days = Table(title="Bank holidays and weekends the dates step around")
        for column in ("day", "why", "steps it moved"):
            days.add_column(column)
        for day in plan.days_off:
            days.add_row(f"{day.on:%A %d %B %Y}", day.name, ", ".join(day.stepped))
        common.console.print(days)
