"""The one place that reads the system time.

Everything else asks a `Clock` for "now", so tests and the demo can run a
whole year in seconds by handing in a `FixedClock`.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """An aware UTC datetime."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that only moves when told to (tests, the demo, `--at`)."""

    def __init__(self, at: dt.datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> dt.datetime:
        return self._at

    def set(self, at: dt.datetime) -> None:
        self._at = as_utc(at)


def as_utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} has no time zone; give an offset, e.g. {at.isoformat()}+00:00")
    return at.astimezone(dt.UTC)


def resolve(at: dt.datetime | None) -> dt.datetime:
    """`at` when given (a flow parameter), else the system time."""
    return as_utc(at) if at is not None else SystemClock().now()
