"""Plain values a cycle carries (stored as JSON on the cycle, validated here)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

if TYPE_CHECKING:
    from holidays import HolidayBase


class Value(BaseModel):
    # Validators are built on first use: a command that only reads a stored calendar builds none of them
    # (nor imports email_validator for the email addresses).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Person(Value):
    name: str = Field(min_length=1)
    email: EmailStr


class Recipient(Person):
    role: str = Field(min_length=1, description="why they receive the report, e.g. 'Leader of the Council'")
    national: bool = Field(
        default=False, description="a national body the report must reach within report.send_to_national_within_days"
    )


class Priority(Value):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1)


class BriefSection(Value):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    guidance: str = ""
    word_limit: int | None = Field(default=None, gt=0)
    required: bool = True
    per_priority: bool = Field(default=False, description="agencies report against each priority here")


class KeyFigure(Value):
    """A number each agency is asked for beside its text (e.g. staff trained), shown as a table in the report."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: str = Field(min_length=1)
    unit: str = ""
    required: bool = False


class Brief(Value):
    sections: tuple[BriefSection, ...] = Field(min_length=1)
    key_figures: tuple[KeyFigure, ...] = ()

    @model_validator(mode="after")
    def _unique_keys(self) -> Brief:
        for what, keys in (
            ("section", [s.key for s in self.sections]),
            ("key figure", [f.key for f in self.key_figures]),
        ):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"{what} keys must be unique; repeated: {', '.join(dupes)}")
        return self

    def section(self, key: str) -> BriefSection:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"the brief has no section {key!r}; its sections are {', '.join(s.key for s in self.sections)}")


class ReminderPolicy(Value):
    """When the chase run writes to an agency, counted from its own deadline."""

    before_days: tuple[int, ...] = Field(default=(14, 7, 2), description="calendar days before the deadline")
    overdue_every_working_days: int = Field(default=3, gt=0)
    escalate_after_working_days: int = Field(default=5, gt=0)
    final_after_working_days: int = Field(default=10, gt=0)
    escalation_needs_confirmation: bool = Field(
        default=False, description="hold escalations to a chief officer until the business manager confirms"
    )
    returned_deadline_working_days: int = Field(
        default=10, gt=0, description="working days an agency gets to revise a contribution the Chair returned"
    )

    @model_validator(mode="after")
    def _sane(self) -> ReminderPolicy:
        if any(d <= 0 for d in self.before_days):
            raise ValueError("before_days must be positive numbers of days before the deadline")
        if len(set(self.before_days)) != len(self.before_days):
            raise ValueError("before_days has a repeated day")
        if self.final_after_working_days < self.escalate_after_working_days:
            raise ValueError("final_after_working_days must not come before escalate_after_working_days")
        return self


class Calendar(Value):
    timezone: str = "Europe/London"
    holidays: str = Field(default="GB-ENG", description="country[-subdivision] for the `holidays` package")
    send_window_start: dt.time = dt.time(9, 0)
    send_window_end: dt.time = dt.time(17, 0)

    @model_validator(mode="after")
    def _window(self) -> Calendar:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}; use an IANA name such as 'Europe/London'") from None
        try:
            _check_holidays(self.holidays)
        except NotImplementedError as exc:
            raise ValueError(f"unknown holidays {self.holidays!r} ({exc}); use e.g. 'GB-ENG'") from None
        if self.send_window_end <= self.send_window_start:
            raise ValueError("send_window_end must be after send_window_start")
        return self


def holidays_for(code: str) -> HolidayBase:
    """The bank holidays a code names: a country, then a subdivision after a hyphen ('GB-ENG').
    NotImplementedError for one the holidays package does not know."""
    import holidays

    country, _, subdiv = code.partition("-")
    return holidays.country_holidays(country, subdiv=subdiv or None)


@functools.lru_cache(maxsize=64)
def _check_holidays(code: str) -> None:
    """Cached: every cycle read validates its calendar, and building a country's holidays costs more than
    the rest of that together."""
    holidays_for(code)
