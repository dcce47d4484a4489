"""Working days and local time for a partnership: its time zone, bank holidays, send window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from models.values import Calendar, holidays_for

if TYPE_CHECKING:  # the package is imported on the first working-day question, not before
    import holidays


@dataclass(frozen=True)
class WorkingCalendar:
    spec: Calendar = field(default_factory=Calendar)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.spec.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays_for(self.spec.holidays)

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.zone)

    def at_local(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The UTC instant of a wall-clock time on a local day (DST handled by zoneinfo)."""
        return dt.datetime.combine(day, time, tzinfo=self.zone).astimezone(dt.UTC)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def holiday_name(self, day: dt.date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def on_or_before(self, day: dt.date) -> dt.date:
        """The working day itself, or the last working day before it."""
        while not self.is_working_day(day):
            day -= dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n >= 1)."""
        while n > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def in_send_window(self, at: dt.datetime) -> bool:
        local = self.local(at)
        return (
            self.is_working_day(local.date())
            and self.spec.send_window_start <= local.time() < self.spec.send_window_end
        )

    def next_send_time(self, at: dt.datetime) -> dt.datetime:
        """`at` if it is inside the send window, else the start of the next window."""
        if self.in_send_window(at):
            return at
        local = self.local(at)
        day = local.date()
        if local.time() >= self.spec.send_window_start:
            day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return self.at_local(day, self.spec.send_window_start)


def working_calendar(partnership: Any) -> WorkingCalendar:
    """The calendar of a partnership (its table row, or a Core row of its columns).

    Not validated again: these columns are written only from a validated Calendar (`load_partnership`), and
    validating checks the holidays code by importing every country's holidays, a fifth of a second that a
    command asking no working-day question (`status`) need not pay. A bad code still fails on first use.
    """
    return WorkingCalendar(
        Calendar.model_construct(
            timezone=partnership.timezone,
            holidays=partnership.holidays,
            send_window_start=dt.time.fromisoformat(partnership.send_window_start),
            send_window_end=dt.time.fromisoformat(partnership.send_window_end),
        )
    )
