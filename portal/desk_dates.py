"""A cycle's title and dates as typed on the desk: each a GOV.UK date input, each refusal on its field.

A day nobody works on comes back with the nearest working days as radio choices (`name-instead`, with the
refused day in `name-refused`); continuing with one chosen uses it, as long as the date typed is still the one
refused. Every check is tasks.desk.next_cycle's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from models.calendar import WorkingCalendar
from models.year_on import CycleDates
from portal.desk_confirm import DATE_PARTS, typed_date
from tasks.desk.next_cycle import ORDER, WORDS, check_dates
from tasks.mail.context import day_text

# Each date's form name (its GOV.UK date input's id), legend and hint, in the partnership file's order.
FIELDS: dict[str, tuple[str, str, str]] = {
    "period_start": ("period-start", "The year reported on starts", "For example, 1 4 2026"),
    "period_end": ("period-end", "The year reported on ends", "For example, 31 3 2027"),
    "requests_on": (
        "requests-on",
        "Requests go out",
        "A working day after the year ends: the year's morning run opens the cycle then",
    ),
    "contributions_due": ("contributions-due", "Contributions due", "The agencies' deadline: a working day"),
    "review_due": ("review-due", "The Chair's review due", "A working day after the deadline"),
    "publish_by": ("publish-by", "Publish by", "A working day after the review"),
}


@dataclass
class DateForm:
    """What the date form shows: the values as typed (`sent`, by field id), the errors, and the working days
    offered instead of a day nobody works on (by form name)."""

    label: str = ""
    title: str = ""
    dates: CycleDates | None = None
    cut_off: dt.time | None = None
    sent: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    marked: dict[str, list[str]] = field(default_factory=dict)
    offers: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    refused_days: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def field_errors(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for e in self.errors:
            found.setdefault(e["href"].removeprefix("#"), e["text"])
        return found

    @property
    def fields(self) -> list[tuple[str, str, str]]:
        return list(FIELDS.values())

    def refuse(self, text: str, href: str) -> None:
        self.errors.append({"text": text[:1].upper() + text[1:], "href": href})

    @classmethod
    def of(cls, title: str, dates: CycleDates, cut_off: dt.time) -> DateForm:
        """The form filled from a stored cycle."""
        sent = {"title": title, "cut-off": f"{cut_off:%H:%M}"}
        for name, value in asdict(dates).items():
            form_name = FIELDS[name][0]
            sent |= {f"{form_name}-day": str(value.day), f"{form_name}-month": str(value.month)}
            sent[f"{form_name}-year"] = str(value.year)
        return cls(title=title, dates=dates, cut_off=cut_off, sent=sent)


def _chosen(form: Any, name: str, typed: dt.date) -> dt.date:
    """The working day chosen instead of `typed`, when the choice was offered for that very date."""
    instead = str(form.get(f"{name}-instead", ""))
    if str(form.get(f"{name}-refused", "")) != typed.isoformat() or not instead:
        return typed
    try:
        return dt.date.fromisoformat(instead)
    except ValueError:
        return typed


def _time(typed: str) -> dt.time | None:
    """A time of day typed as 17:00 (or 17.00, or 9:30)."""
    hours, sep, minutes = typed.strip().replace(".", ":").partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(hours) > 2 or len(minutes) != 2:
        return None
    try:
        return dt.time(int(hours), int(minutes))
    except ValueError:
        return None


def read_dates(form: Any, calendar: WorkingCalendar, *, kind: str | None, at: dt.datetime, new: bool) -> DateForm:
    """The form as typed: its dates when every check passes, else each problem on its field."""
    result = DateForm(label=str(form.get("label", "")).strip(), title=" ".join(str(form.get("title", "")).split()))
    result.sent = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    if new and not result.label:
        result.refuse("Enter a label for the cycle, like 2026/27", "#label")
    elif new and len(result.label) > 32:
        result.refuse("The label must be 32 characters or fewer", "#label")
    if not result.title:
        result.refuse("Enter the cycle's title, like Annual Report 2026/27", "#title")
    elif len(result.title) > 300:
        result.refuse("The title must be 300 characters or fewer", "#title")
    result.cut_off = _time(str(form.get("cut-off", "")))
    if result.cut_off is None:
        result.refuse("Enter the cut-off time as hours and minutes on the 24-hour clock, like 17:00", "#cut-off")
    values: dict[str, dt.date] = {}
    for name in ORDER:
        form_name = FIELDS[name][0]
        day, problem, parts = typed_date(form, form_name, WORDS[name])
        if problem:
            result.refuse(problem, f"#{form_name}-{parts[0]}")
            result.marked[form_name] = parts
        elif day is not None:
            chosen = _chosen(form, form_name, day)
            if chosen != day:  # show the day chosen in the fields, in case something else is refused
                result.sent |= {f"{form_name}-{p}": str(getattr(chosen, p)) for p in DATE_PARTS}
            values[name] = chosen
    if len(values) < len(ORDER):
        return result
    dates = CycleDates(**values)
    problems, result.warnings = check_dates(dates, calendar, kind=kind, today=calendar.local(at).date())
    for p in problems:
        form_name = FIELDS[p.field][0]
        result.refuse(p.message, f"#{form_name}-day")
        result.marked[form_name] = list(DATE_PARTS)
        if p.instead:
            before, after = p.instead
            result.offers[form_name] = [
                {"value": before.isoformat(), "text": f"{day_text(before)}, the working day before"},
                {"value": after.isoformat(), "text": f"{day_text(after)}, the working day after"},
            ]
            result.refused_days[form_name] = getattr(dates, p.field).isoformat()
    if not result.errors:
        result.dates = dates
    return result
