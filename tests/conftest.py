"""Fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), a real SMTP server, Prefect."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reportcycle import prefect_env

prefect_env.apply()

from sqlalchemy import Connection, MetaData, text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import models.tables  # noqa: E402, F401
from models.db import engine_for  # noqa: E402
from reportcycle.mailsink import MailSink  # noqa: E402
from reportcycle.settings import PROJECT_ROOT, get_settings  # noqa: E402
from tests.dovecot import Dovecot  # noqa: E402


def _worker_database() -> None:
    """Under pytest-xdist, each worker runs its tests in a PostgreSQL database of its own (test_gw0, test_gw1...,
    created once and kept like `test`): the fixtures drop and create every table around each test."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not (worker and url.startswith("postgresql")):
        return
    from sqlalchemy.engine import make_url

    from tests.helpers import create_postgres_database, worker_name

    base = make_url(url)
    os.environ["TEST_DATABASE_URL"] = create_postgres_database(base, worker_name(str(base.database)), fresh=False)


_worker_database()

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"
SECOND = Path(__file__).parent / "data" / "riverside-sab.toml"
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def prefect() -> Iterator[None]:
    """One temporary Prefect server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows._runtime import short_runs

    with prefect_test_harness(server_startup_timeout=120), short_runs():
        yield


@pytest.fixture(scope="session", autouse=True)
def pdfs_rendered_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each distinct report PDF rendered once in the session, whichever process meets it first (tests/pdf_cache.py).
    Under pytest-xdist the workers' temporary directories share a parent, where the PDFs are kept."""
    import tasks.report.pdf
    import tasks.report.publish
    from tests.pdf_cache import remembering

    base = tmp_path_factory.getbasetemp()
    where = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "report-pdfs"
    source = Path(tasks.report.pdf.__file__).read_bytes()
    real = tasks.report.publish.render_pdf
    tasks.report.publish.render_pdf = remembering(real, where, source)
    yield
    tasks.report.publish.render_pdf = real


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


# Each test starts on today's tables, empty. Dropping and creating them cost a PostgreSQL test (262 of them) about 0.1 s
# on a quiet machine and 0.5-0.8 s under the suite's load, a SQLite test 50-70 ms; emptying the tables a test left
# costs 10-20 ms, copying a file made once a few.
_LAST_MADE: dict[str, tuple[object, ...]] = {}  # the PostgreSQL schema as create_all left it, per database


def fresh_schema(url: str) -> None:
    """Today's tables, empty, as `SQLModel.metadata.create_all` makes them, the quickest way each database allows."""
    if url.startswith("sqlite:///"):
        target = Path(url.removeprefix("sqlite:///"))
        if not target.exists():
            shutil.copyfile(_sqlite_template(), target)
            return
    elif url in _LAST_MADE and _emptied(url):
        return
    reset_schema(url)
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            _LAST_MADE[url] = _shape(conn)


@functools.cache
def _sqlite_template() -> Path:
    """A SQLite file holding today's empty tables, made once a process (WAL mode is kept in its header)."""
    path = Path(tempfile.mkdtemp(prefix="reportcycle-schema-")) / "template.db"
    engine = engine_for(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()  # the last connection's close folds the WAL back into the file
    return path


def _shape(conn: Connection) -> tuple[object, ...]:
    """What a test could have changed of the schema: each table's columns, the indexes and the triggers (a test
    that runs the migrations leaves alembic_version too). Emptying is only right when this is as create_all left it."""
    columns = conn.execute(
        text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY 1, 2"
        )
    ).all()
    indexes = conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"))
    triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"))
    return (tuple(columns), tuple(indexes.scalars()), tuple(triggers.scalars()))


def _emptied(url: str) -> bool:
    """Empty every table and restart every sequence, when the schema is still the one create_all made; False
    when it is not (or this role may not set the session's replication role), for a full reset instead."""
    try:
        with engine_for(url).begin() as conn:
            if _shape(conn) != _LAST_MADE[url]:
                return False
            # The audit table's triggers refuse DELETE (models.audit); as a replica the session fires none.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
            sequences = conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"))
            for name in sequences.scalars().all():
                conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
    except DBAPIError:
        return False
    return True


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        action="append",
        choices=DATABASES,
        help="run the database tests on this database (repeatable); default: SQLite, and PostgreSQL as well when "
        "TEST_DATABASE_URL names one",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the database runs once per database chosen, in one session (so that pytest-xdist
    balances the two); a test marked `once` does not depend on the database under test and runs on SQLite only,
    and a test that never touches the database runs once, whatever was chosen."""
    if "database_url" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("database") or [
        "sqlite",
        *(["postgresql"] if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else []),
    ]
    if metafunc.definition.get_closest_marker("once"):
        chosen = ["sqlite"]
    metafunc.parametrize("database_url", [d for d in DATABASES if d in chosen], indirect=True)


# The modules whose tests take tens of seconds (a year under Prefect, `serve`, real processes), longest first, from
# `--durations`. pytest-xdist hands tests out in collection order, so these go first: a long test that starts
# last leaves the other processes idle while it finishes. Their SQLite runs go before their PostgreSQL runs, so
# that what the two share (the PDFs of tests/pdf_cache.py) is rendered by the first and read by the second.
SLOWEST = (
    "test_demo_year",
    "test_serve",
    "test_cycle_flows",
    "test_cli_without_server",
    "test_publication_sign_off",
    "test_workers",
    "test_emails_and_gate",
    "test_report_output",
    "test_portal_schema",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, int]:
        module = item.path.stem
        if module not in SLOWEST:
            return (2, 0)
        return (1 if "[postgresql" in item.name else 0, SLOWEST.index(module))

    items.sort(key=rank)  # stable: the order within each rank is the collection's


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if getattr(request, "param", "sqlite") == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            pytest.fail("--database postgresql needs TEST_DATABASE_URL=postgresql+psycopg://… naming a database")
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    fresh_schema(url)
    monkeypatch.setenv("REPORTCYCLE_DATABASE_URL", url)
    # Drafts and sites go under the test's own folder, never the checkout's out/ (which two test processes share).
    monkeypatch.setenv("REPORTCYCLE_OUTPUT_DIR", str(tmp_path / "out"))
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
