"""Engines and sessions. Data-access functions take a session explicitly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

if TYPE_CHECKING:  # a command reading with SQLAlchemy Core (`status`) imports no ORM
    from sqlmodel import Session

# A pooled connection unused this long is checked with a round trip before it is handed out (the server may have
# restarted or dropped it meanwhile); one in steady use is not, since a ping per checkout was a round trip on every
# portal request. A busy connection the server dropped fails its statement once, and the pool then starts afresh.
PING_AFTER_IDLE_SECONDS = 10.0
# Worker threads a portal process runs its routes' database work in (anyio's default is 40). On two cores more
# threads only queue for the interpreter's lock, each holding a connection meanwhile.
PORTAL_THREADS = 16


def engine_for(url: str) -> Engine:
    return _engines(url)[0]


def reading_engine(url: str) -> Engine:
    """The engine for work that only reads: on PostgreSQL in autocommit, so each read is one round trip without
    BEGIN and ROLLBACK around it. SQLite's driver opens no transaction for a SELECT anyway. It is made and kept
    with the engine of `engine_for` (one cache for both): cached apart, the two could disagree once one had let
    an engine go, and reads would run on a second pool."""
    return _engines(url)[1]


@lru_cache(maxsize=8)
def _engines(url: str) -> tuple[Engine, Engine]:
    engine = _create(url)
    return engine, engine if url.startswith("sqlite") else engine.execution_options(isolation_level="AUTOCOMMIT")


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    # The portal runs up to PORTAL_THREADS worker threads a process, each holding a connection only while its work
    # runs: the pool keeps that many open, since a connection beyond the pool's size is closed when it comes back
    # and opened afresh for the next request (a new PostgreSQL session each time, under load).
    engine = create_engine(url, pool_size=PORTAL_THREADS, max_overflow=10, pool_timeout=30)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that has sat unused; a dead one is replaced by the pool (DisconnectionError)."""
    checked_in = record.info.get("checked_in")  # None: a connection just made
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_conn.rollback()  # the ping opened a transaction: what the caller runs next starts its own
    except Exception as exc:  # whatever the driver raises for a dead connection
        raise DisconnectionError(str(exc)) from exc


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    from sqlmodel import Session

    with Session(engine_for(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
