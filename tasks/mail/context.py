"""What the email templates are given about a contribution and its deadline."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from models.calendar import WorkingCalendar
from models.cycle import Contribution, Cycle
from models.partnership import Agency, Contact, Partnership
from models.store import cycle_values


@dataclass(frozen=True)
class ReportNames:
    full: str  # for "Published: ...", "your contribution to the ...": the partnership's name and the title
    own: str  # the title without the partnership's name, for "<partnership> has published its ..."


def _words(text: str) -> list[str]:
    return [re.sub(r"\W", "", w).casefold() for w in text.split()]


# Every email's subject and footer ask for these (three times an email); two strings in, a frozen value out.
@functools.lru_cache(maxsize=256)
def report_names(partnership: str, title: str) -> ReportNames:
    """The report's names, with the partnership's name once however the cycle's title is written.

    "Westshire SAB" and "Annual Report 2025/26" give "Westshire SAB Annual Report 2025/26"; a title that
    starts with the whole name ("Westshire SAB Annual Report") is used as it is; a title that starts with
    the end of the name ("SAB Annual Report" for "Westshire SAB") shares those words. Every subject and
    opening that names the report goes through here (the templates call it as `report_names`)."""
    name, words, said = partnership.split(), title.split(), _words(title)
    spoken = _words(partnership)
    if said[: len(spoken)] == spoken and len(words) > len(spoken):
        return ReportNames(title, " ".join(words[len(spoken) :]))
    if any(said[i : i + len(spoken)] == spoken for i in range(len(said))):
        return ReportNames(title, title)  # the name inside the title: nothing to add or take away
    for shared in range(min(len(spoken), len(said) - 1), 0, -1):
        if spoken[-shared:] == said[:shared]:
            rest = " ".join(words[shared:])
            return ReportNames(f"{' '.join(name)} {rest}", rest)
    return ReportNames(f"{partnership} {title}", title)


def day_text(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def date_text(day: dt.date) -> str:
    """A date in a period, without its weekday: "1 April 2018" (the weekday of a year's first day says nothing)."""
    return f"{day.day} {day:%B %Y}"


def short_day_text(day: dt.date) -> str:
    """A deadline in a subject line, where room is short: "Mon 20 May"."""
    return f"{day:%a} {day.day} {day:%b}"


def days_text(deadline: dt.date, today: dt.date) -> str:
    n = (deadline - today).days
    if n > 1:
        return f"{n} days from today"
    if n == 1:
        return "tomorrow"
    if n == 0:
        return "today"
    return "1 day overdue" if n == -1 else f"{-n} days overdue"


def in_days_text(deadline: dt.date, today: dt.date) -> str:
    """For a subject line: "in 7 days", "tomorrow", "today"."""
    n = (deadline - today).days
    return {0: "today", 1: "tomorrow"}.get(n, f"in {n} days")


def email_context(
    *,
    partnership: Partnership,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    contact: Contact | Any,
    calendar: WorkingCalendar,
    at: dt.datetime,
    link: str,
    **extra: Any,
) -> dict[str, Any]:
    today = calendar.local(at).date()
    return {
        **cycle_context(partnership, cycle),
        **contribution_context(agency=agency, contribution=contribution, contact=contact, today=today),
        "link": link,
        **extra,
    }


def cycle_context(partnership: Partnership, cycle: Cycle) -> dict[str, Any]:
    """What every email of a cycle says alike: the partnership, the cycle, its brief. A run that writes many
    emails (the chase) works it out once and gives each email a copy with `contribution_context`."""
    brief, priorities, _, _, _ = cycle_values(cycle)
    return {
        "partnership": {"name": partnership.name},
        "business_manager": {"name": partnership.business_manager_name, "email": partnership.business_manager_email},
        "cycle": {
            "title": cycle.title,
            "label": cycle.label,
            "period_text": f"{date_text(cycle.period_start)} to {date_text(cycle.period_end)}",
            "requested_text": date_text(cycle.requests_on),
        },
        "brief": brief.model_dump(),
        "priorities": [p.model_dump() for p in priorities],
    }


def contribution_context(
    *, agency: Agency, contribution: Contribution, contact: Contact | Any, today: dt.date
) -> dict[str, Any]:
    """What one email says of its agency, its reader and the deadline, on the partnership's local `today`."""
    return {
        "agency": {"name": agency.name, "slug": agency.slug},
        "contact": {"name": contact.name, "email": contact.email},
        "deadline": dict(_deadline(contribution.due_date, contribution.cut_off, today)),
    }


# A cycle's agencies mostly share a deadline: its sentences are written once a run, not once an email.
@functools.lru_cache(maxsize=256)
def _deadline(due: dt.date, cut_off: dt.time, today: dt.date) -> dict[str, str]:
    return {
        "date_text": day_text(due),
        "short": short_day_text(due),
        "text": f"{cut_off:%H:%M} on {day_text(due)}",
        "days_text": days_text(due, today),
        "in_text": in_days_text(due, today),
    }
