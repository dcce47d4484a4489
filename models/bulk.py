"""Rows written a table at a time, for a run that adds many rows of a few kinds.

The chase adds an outbox row, a personal link and an audit event for every step it sends. Built as ORM objects,
each costs a model's constructor and, at the flush, an INSERT of its own (SQLite gives the new ids back a row at
a time); a busy day spent more on that than on writing the emails. Held here as plain values, each table's rows
go to the database in one statement. Nothing reads these rows back as objects, so no identity is lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, inspect
from sqlmodel import Session, SQLModel


class RowBatch:
    """Rows to insert, by table, in the order they were added; `write` sends them and empties the batch."""

    def __init__(self) -> None:
        self._rows: dict[type[SQLModel], list[dict[str, Any]]] = {}

    def add(self, model: type[SQLModel], **values: Any) -> None:
        # A column left out gets its column default, not the model's field default: callers give every field
        # whose default lives only on the model (`outbox_values`, `new_link`).
        self._rows.setdefault(model, []).append(values)

    def write(self, session: Session) -> None:
        """Insert every held row, one statement per table (an executemany; no ids are asked for)."""
        # Core's insert, not the ORM's bulk insert: the rows are plain values already, and the ORM's bookkeeping
        # for them cost a third again as much.
        connection = session.connection()
        for model, rows in self._rows.items():
            connection.execute(insert(inspect(model).local_table), rows)
        self._rows.clear()
