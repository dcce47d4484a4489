"""What will happen, laid out month by month: each day's emails and stages, and the bank holidays by name.

A view of the same forecast as the table (tasks.asking.forecast): nothing here decides a date. Emails of one
kind going out at one time on one day are counted together ("09:00 Reminder to 12 agencies"), so a month of a
large partnership still reads as a calendar; the table beside it lists every email.
"""

from __future__ import annotations

import calendar as months
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from models.calendar import WorkingCalendar
from tasks.asking.forecast import Forecast

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GONE = {"sent": "sent", "queued": "waiting to go", "held": "held for you"}


@dataclass(frozen=True)
class CalendarDay:
    on: dt.date
    stages: tuple[str, ...]  # "Contributions due (by 17:00)"
    emails: tuple[str, ...]  # "09:00 Reminder to 12 agencies"
    day_off: str | None  # the bank holiday's name; weekends are shown by their column

    @property
    def busy(self) -> bool:
        return bool(self.stages or self.emails)


@dataclass(frozen=True)
class CalendarMonth:
    first: dt.date
    weeks: tuple[tuple[CalendarDay | None, ...], ...]  # Monday to Sunday; None outside the month

    @property
    def title(self) -> str:
        return f"{self.first:%B %Y}"


def _stages(plan: Forecast) -> dict[dt.date, list[str]]:
    found: dict[dt.date, list[str]] = defaultdict(list)
    for stage in plan.stages:
        found[stage.on].append(stage.name + (f" ({stage.note})" if stage.note else ""))
    return found


def _emails(plan: Forecast) -> dict[dt.date, list[str]]:
    """Each day's emails counted by time, kind and state."""
    found: dict[dt.date, list[str]] = defaultdict(list)
    grouped: dict[tuple[dt.date, dt.time, str, str], set[str]] = defaultdict(set)
    for e in plan.emails:
        if e.state == "superseded":  # the chase never sends it: the calendar shows what goes
            continue
        grouped[(e.on, e.at, e.kind_text, e.state)].add(e.agency)
    for (on, at, kind, state), agencies in sorted(grouped.items()):
        to = next(iter(agencies)) if len(agencies) == 1 else f"{len(agencies)} agencies"
        gone = f" ({GONE.get(state, state)})" if state != "to come" else ""
        found[on].append(f"{at:%H:%M} {kind} to {to}{gone}")
    return found


def forecast_months(plan: Forecast, calendar: WorkingCalendar) -> list[CalendarMonth]:
    """Every month from the first email or stage to the last, each day with what happens on it."""
    stages, emails = _stages(plan), _emails(plan)
    days = set(stages) | set(emails)
    if not days:
        return []
    first, last = min(days), max(days)
    result = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        weeks = []
        for week in months.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append(
                tuple(
                    CalendarDay(day, tuple(stages.get(day, ())), tuple(emails.get(day, ())), calendar.holiday_name(day))
                    if day.month == month
                    else None
                    for day in week
                )
            )
        result.append(CalendarMonth(dt.date(year, month, 1), tuple(weeks)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result
