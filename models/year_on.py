"""A cycle's label, title and dates moved on (or back) by whole years: next year's plan from this year's."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from models.calendar import WorkingCalendar

# "2018/19", "2018-19", "2018–2019": two consecutive years, the second written with 2 or 4 digits.
_SPAN = re.compile(r"(?<!\d)(\d{4})([/\-–])(\d{4}|\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _is_span(first: str, second: str) -> bool:
    following = int(first) + 1
    return int(second) == (following if len(second) == 4 else following % 100)


def move_years(text: str, years: int, period_years: set[int]) -> str | None:
    """`text` with its year spans and its years of the period moved by `years`; None if it has none.

    A span of consecutive years ("2018/19") always moves. A lone year moves only when it is one of the
    period's own years, so "Annual Report 2019" moves on and "since 1998" stays.
    """
    moved = False

    def span(m: re.Match[str]) -> str:
        nonlocal moved
        first, sep, second = m.groups()
        if not _is_span(first, second):
            return m.group(0)
        moved = True
        start = int(first) + years
        end = start + 1 if len(second) == 4 else (start + 1) % 100
        return f"{start}{sep}{end:0{len(second)}d}"

    def year(m: re.Match[str]) -> str:
        nonlocal moved
        if int(m.group(1)) not in period_years:
            return m.group(0)
        moved = True
        return str(int(m.group(1)) + years)

    # Spans first, then lone years in what is left, so "2018/19" is not moved twice.
    parts = []
    last = 0
    for m in _SPAN.finditer(text):
        parts.append(_YEAR.sub(year, text[last : m.start()]))
        parts.append(span(m))
        last = m.end()
    parts.append(_YEAR.sub(year, text[last:]))
    return "".join(parts) if moved else None


def years_named(text: str) -> set[int]:
    """The years a text names: both years of a span such as 2018/19, and lone years."""
    named: set[int] = set()
    for m in _SPAN.finditer(text):
        if _is_span(m.group(1), m.group(3)):
            named |= {int(m.group(1)), int(m.group(1)) + 1}
    named |= {int(y) for y in _YEAR.findall(_SPAN.sub(" ", text))}
    return named


def same_day(day: dt.date, years: int, *, leap_day_to: str) -> dt.date:
    """The same day `years` on; a 29 February that does not exist then becomes 28 February or 1 March."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28) if leap_day_to == "earlier" else dt.date(year, 3, 1)
    return day.replace(year=year)


def period_end_on(day: dt.date, years: int) -> dt.date:
    """A period that ended on the last day of a month ends on the last day of that month: 28 February 2019
    becomes 29 February 2020, so no day of the year falls between two periods or in both."""
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        year = day.year + years
        return dt.date(year, day.month, calendar.monthrange(year, day.month)[1])
    return day.replace(year=day.year + years)


def _long(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Moved:
    """A date that fell on a day nobody works (or on a 29 February that does not exist) and was moved."""

    field: str
    shifted: dt.date  # the same day `years` on
    to: dt.date
    why: str


@dataclass(frozen=True)
class CycleDates:
    period_start: dt.date
    period_end: dt.date
    requests_on: dt.date
    contributions_due: dt.date
    review_due: dt.date
    publish_by: dt.date


def move_dates(dates: CycleDates, years: int, calendar_: WorkingCalendar) -> tuple[CycleDates, list[Moved]]:
    """The cycle's dates `years` on, and which of them had to move off a non-working day.

    - The period stays exact: it is a span of the year, not a day anyone acts on, so no working-day
      rule applies. A start on 29 February becomes 1 March; an end on a month's last day stays on it.
    - Requests, contributions and the review are days people act on: one that falls on a weekend or a
      bank holiday moves to the next working day (never earlier, so nobody gets less time than last
      year), and a 29 February becomes 1 March for the same reason.
    - Publish-by is the statutory limit: moving it later could break the law's timing, so it moves to
      the previous working day, and a 29 February becomes 28 February.
    The cut-off time of day is kept as it is.
    """
    moved: list[Moved] = []

    def working(field: str, day: dt.date, *, later: bool) -> dt.date:
        shifted = same_day(day, years, leap_day_to="later" if later else "earlier")
        to = shifted
        while not calendar_.is_working_day(to):
            to += dt.timedelta(days=1 if later else -1)
        reasons = []
        if shifted.day != day.day:
            reasons.append(f"{shifted.year} has no 29 February")
        if to != shifted:
            holiday = calendar_.holiday_name(shifted)
            what = f"is a bank holiday ({holiday})" if holiday else "falls at a weekend"
            reasons.append(f"{_long(shifted)} {what}")
        if reasons:
            moved.append(Moved(field, shifted, to, f"{'; '.join(reasons)}: {_long(to)} instead"))
        return to

    start = same_day(dates.period_start, years, leap_day_to="later")
    result = CycleDates(
        period_start=start,
        period_end=period_end_on(dates.period_end, years),
        requests_on=working("requests_on", dates.requests_on, later=True),
        contributions_due=working("contributions_due", dates.contributions_due, later=True),
        review_due=working("review_due", dates.review_due, later=True),
        publish_by=working("publish_by", dates.publish_by, later=False),
    )
    return result, moved
