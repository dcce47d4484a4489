"""The audit log refuses changes in the database itself, whoever asks: the ORM, raw SQL, psql."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from models.audit import AuditEvent, record
from models.db import engine_for
from tasks.ops.schema import alembic_config, upgrade
from tests.conftest import reset_schema

AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)
REFUSED = "audit_event is append-only: record a new event instead of changing or removing one"


def _one_event(database_url: str) -> None:
    with Session(engine_for(database_url)) as session:
        record(session, at=AT, actor="cli:ann", action="test.first", subject="x:1", note="first")
        session.commit()


def _refused(database_url: str, sql: str, operation: str) -> None:
    with engine_for(database_url).connect() as conn:
        with pytest.raises(DBAPIError, match=rf"append-only: record a new event .*\({operation} refused\)"):
            conn.execute(text(sql))
        conn.rollback()


def _events(database_url: str) -> list[tuple[str, str]]:
    with Session(engine_for(database_url)) as session:
        return [(e.actor, e.action) for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def _raw_sql_is_refused_and_inserts_still_work(database_url: str) -> None:
    _one_event(database_url)
    _refused(database_url, "UPDATE audit_event SET actor = 'someone else'", "UPDATE")
    _refused(database_url, "DELETE FROM audit_event", "DELETE")
    _refused(database_url, "DELETE FROM audit_event WHERE action = 'test.first'", "DELETE")
    if database_url.startswith("postgresql"):
        _refused(database_url, "TRUNCATE audit_event", "TRUNCATE")
    with engine_for(database_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor, action, subject, detail) "
                "VALUES ('2019-05-14 09:00:00', 'psql', 'test.second', 'x:2', '{}')"
            )
        )
    assert _events(database_url) == [("cli:ann", "test.first"), ("psql", "test.second")]


def test_tables_made_by_create_all_refuse_raw_update_and_delete(database_url: str) -> None:
    _raw_sql_is_refused_and_inserts_still_work(database_url)


def test_tables_made_by_alembic_refuse_raw_update_and_delete(database_url: str) -> None:
    reset_schema(database_url)
    upgrade(database_url)
    _raw_sql_is_refused_and_inserts_still_work(database_url)


def test_downgrade_removes_the_refusal_and_upgrade_restores_it(database_url: str) -> None:
    reset_schema(database_url)
    upgrade(database_url)
    _one_event(database_url)
    command.downgrade(alembic_config(database_url), "36dd94531889")
    with engine_for(database_url).begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'fixed by hand'"))
    assert _events(database_url) == [("fixed by hand", "test.first")]
    upgrade(database_url)
    _refused(database_url, "UPDATE audit_event SET actor = 'again'", "UPDATE")
