"""Fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), a real SMTP server, Prefect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reportcycle import prefect_env

prefect_env.apply()

from sqlalchemy import MetaData, text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import models.tables  # noqa: E402, F401
from models.db import engine_for  # noqa: E402
from reportcycle.mailsink import MailSink  # noqa: E402
from reportcycle.settings import PROJECT_ROOT, get_settings  # noqa: E402
from tests.dovecot import Dovecot  # noqa: E402

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"
SECOND = Path(__file__).parent / "data" / "riverside-sab.toml"


@pytest.fixture(scope="session")
def prefect() -> Iterator[None]:
    """One temporary Prefect server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows._runtime import short_runs

    with prefect_test_harness(server_startup_timeout=120), short_runs():
        yield


_STALE_CLEARED: set[str] = set()


def reset_schema(url: str) -> None:
    engine = engine_for(url)
    if url not in _STALE_CLEARED:
        # Once a run: whatever an older checkout left in a database that outlives runs (PostgreSQL), tables
        # and constraints this code no longer knows included, so that dropping today's tables never trips on them.
        _STALE_CLEARED.add(url)
        stale = MetaData()
        stale.reflect(engine)
        stale.drop_all(engine)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"
    reset_schema(url)
    SQLModel.metadata.create_all(engine_for(url))
    monkeypatch.setenv("REPORTCYCLE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    engine_for(url).dispose()
    get_settings.cache_clear()


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    with Session(engine_for(database_url), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as sink:
        monkeypatch.setenv("REPORTCYCLE_SMTP_HOST", sink.host)
        monkeypatch.setenv("REPORTCYCLE_SMTP_PORT", str(sink.port))
        get_settings.cache_clear()
        yield sink
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One real IMAP server (Debian's dovecot) for the session, in a folder of its own under /tmp (its mail user
    must be able to reach it, which pytest's private temporary folders do not allow)."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="reportcycle-dovecot-"))
    try:
        with Dovecot(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap(dovecot_server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    """The IMAP server running, its folders empty, and the inbound settings pointing at it."""
    dovecot_server.start_if_stopped()
    dovecot_server.empty()
    for name, value in {
        "ADDRESS": "annual-report@bscb.example.org",
        "HOST": dovecot_server.host,
        "PORT": str(dovecot_server.port),
        "SECURITY": "none",
        "USER": dovecot_server.user,
        "PASSWORD": dovecot_server.password,
    }.items():
        monkeypatch.setenv(f"REPORTCYCLE_INBOUND_{name}", value)
    get_settings.cache_clear()
    yield dovecot_server
    get_settings.cache_clear()
