"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime in, an aware UTC datetime out.

    SQLite forgets the offset, so values are stored as naive UTC everywhere
    and given their zone back on the way out.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the application keeps aware UTC datetimes")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def json_column() -> Any:
    return JSON()


class AppendOnlyViolation(RuntimeError):
    pass


def append_only(cls: type[Any]) -> type[Any]:
    """Refuse updates and deletes of a table's rows through the ORM (audit events, revisions)."""

    def refuse(kind: str) -> Any:
        def listener(mapper: Any, connection: Any, target: Any) -> None:
            raise AppendOnlyViolation(f"{type(target).__name__} rows are append-only: {kind} refused")

        return listener

    event.listen(cls, "before_update", refuse("update"))
    event.listen(cls, "before_delete", refuse("delete"))
    return cls
