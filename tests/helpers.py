"""Plain helpers for the flow tests: local instants, what the SMTP server got, table counts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import URL
from sqlmodel import Session, func, select

from models.audit import AuditEvent
from models.cycle import PersonalLink
from models.outbox import OutboundEmail
from reportcycle.mailsink import MailSink, Received

LONDON = ZoneInfo("Europe/London")


def local(day: str, hhmm: str = "09:30") -> dt.datetime:
    """A wall-clock moment in London as an aware UTC datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=LONDON).astimezone(dt.UTC)


def agency_of(address: str) -> str:
    """The first label of the address domain: each agency of the test partnerships has its own."""
    return address.split("@")[1].split(".")[0]


def local_date(received: Received) -> str:
    return parsedate_to_datetime(str(received.message["Date"])).astimezone(LONDON).date().isoformat()


def received_table(sink: MailSink) -> Counter[tuple[str, str, str]]:
    """(agency, kind, local date) for every message the SMTP server received."""
    return Counter(
        (agency_of(str(r.message["To"]).split(",")[0].strip()), r.kind, local_date(r)) for r in sink.received
    )


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(OutboundEmail)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
        session.exec(select(func.count()).select_from(PersonalLink)).one(),
    )


def expand(rows: list[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
    """Hand-written rows of (local date, kind, space-separated agencies) as a table of messages."""
    table: Counter[tuple[str, str, str]] = Counter()
    for day, kind, agencies in rows:
        for agency in agencies.split():
            slug, _, times = agency.partition("*")
            table[(slug, kind, day)] += int(times or 1)
    return table


def open_example_cycle(session: Session, path: object = None, *, commit: bool = True) -> dict[str, str]:
    """Load and open the example cycle (requests on 15 April 2019); each request's raw token by recipient.
    `commit=False` leaves it flushed only, for a caller that changes more in the same transaction."""
    import re

    from models.partnership_file import parse
    from models.store import find_cycle, load_partnership
    from reportcycle.settings import get_settings
    from tasks.asking.cycle_open import open_cycle
    from tests.conftest import EXAMPLE

    s = get_settings()
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    open_cycle(
        session,
        find_cycle(session),
        at=local("2019-04-15", "09:00"),
        actor="t",
        base_url=s.public_base_url,
        link_valid_days=120,
        templates_dir=s.templates_dir,
    )
    if commit:
        session.commit()
    else:
        session.flush()
    tokens = {}
    for row in session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")):
        (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", row.text_body)
        tokens[row.to_addrs[0]] = token
    return tokens


def worker_name(name: str) -> str:
    """`name` for this test process: under pytest-xdist each worker gets its own copy (name_gw0, name_gw1...) of
    every database and server a test creates, so that two workers never drop each other's tables."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def own_postgres_database(name: str) -> str:
    """A fresh database `name` (dropped and created again) on the PostgreSQL server the suite uses, for tests
    that need PostgreSQL whatever pass they run in; never CI's `test` database. Skipped when no server answers,
    failed instead when REQUIRE_POSTGRES is set (as in CI)."""
    import os

    import pytest
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    server = next(
        (
            make_url(u)
            for u in (os.environ.get(v, "") for v in ("TEST_POSTGRES_URL", "TEST_DATABASE_URL"))
            if u.startswith("postgresql")
        ),
        make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    try:
        return create_postgres_database(server, worker_name(name), fresh=True)
    except sa.exc.OperationalError as exc:
        reason = f"no PostgreSQL at {server.render_as_string(hide_password=True)} ({str(exc.orig).splitlines()[0]})"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"{reason}, and REQUIRE_POSTGRES is set")
        pytest.skip(f"{reason}: set TEST_POSTGRES_URL to a PostgreSQL server")


def create_postgres_database(server: URL, name: str, *, fresh: bool) -> str:
    """The URL of database `name` on `server`'s PostgreSQL, created when missing; `fresh`: dropped and created
    again even when it exists."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            if fresh:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if found is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def flat(text: str) -> str:
    """An email's plain text with its wrapping undone (every run of spaces and line ends as one space), so a test
    can look for a sentence wherever the wrap fell."""
    return " ".join(text.split())
