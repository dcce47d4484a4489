"""The suite's own reset between tests (tests/conftest.py `fresh_schema`): whatever a test leaves behind, rows,
numbered ids, a changed table or a dropped trigger, the next test starts on today's tables, empty, with the
audit log still refusing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from models.audit import AuditEvent, record
from models.db import engine_for
from models.partnership import Partnership
from tests.conftest import fresh_schema

AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)


def _leave_rows(url: str) -> None:
    with Session(engine_for(url)) as session:
        for n in range(3):
            record(session, at=AT, actor="t", action=f"test.{n}", subject="x:1")
        session.commit()


def _ids_and_counts(url: str) -> tuple[int, int, int | None]:
    """Events and partnerships left, and the id the next event is given."""
    with Session(engine_for(url)) as session:
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
        partnerships = session.exec(select(func.count()).select_from(Partnership)).one()
        event = record(session, at=AT, actor="t", action="test.next", subject="x:1")
        session.flush()
        next_id = event.id
        session.rollback()
    return events, partnerships, next_id


def test_rows_and_ids_a_test_left_are_gone(database_url: str) -> None:
    _leave_rows(database_url)
    assert _ids_and_counts(database_url)[0] == 3
    fresh_schema(database_url)
    assert _ids_and_counts(database_url) == (0, 0, 1)


def _delete_refused(url: str) -> None:
    with engine_for(url).connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_event"))


def test_a_schema_a_test_changed_is_made_again(database_url: str) -> None:
    engine = engine_for(database_url)
    _leave_rows(database_url)
    postgres = database_url.startswith("postgresql")
    with engine.begin() as conn:  # as a careless test or a half-run migration might leave it
        conn.execute(text("ALTER TABLE audit_event ADD COLUMN left_behind integer"))
        conn.execute(
            text(
                "DROP TRIGGER audit_event_no_change ON audit_event"
                if postgres
                else "DROP TRIGGER audit_event_no_delete"
            )
        )
        conn.execute(text("DELETE FROM audit_event WHERE action = 'test.0'"))  # the trigger is gone
    fresh_schema(database_url)
    engine.dispose()
    columns = {c["name"] for c in inspect(engine).get_columns("audit_event")}
    assert "left_behind" not in columns and "actor" in columns
    assert _ids_and_counts(database_url) == (0, 0, 1)
    _leave_rows(database_url)
    _delete_refused(database_url)  # the dropped trigger is back
    fresh_schema(database_url)  # emptied, the triggers set aside for that transaction only
    _leave_rows(database_url)
    _delete_refused(database_url)
