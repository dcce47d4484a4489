"""Benchmark: the chase sweep over many open cycles, on SQLite and on PostgreSQL.

Builds N cycles of A agencies each (every contribution awaiting, mid-ladder), then
chases them two ways side by side: "every cycle" (the chase before issue 19: every
running cycle read and its ladder worked out) and "due only" (the daily chase now:
one query finds the contributions whose stored next step has come, and only their
cycles are read). Each way runs on a day when no step is due (the steady state of
most working days: the day before's chase left each contribution's next step) and
on a day when one reminder per contribution is due. Prints wall time, CPU time and SQL
statements for two sizes of cycle: on a quiet day "due only" must cost a constant
number of statements, whatever the cycles and agencies; on the busy day, the cost
of each email queued (target: 1.5 ms on SQLite), and a constant number of
statements per cycle, however many emails it sends.

    python bench/chase_sweep.py [--cycles 1000] [--agencies 20] [--quiet-only] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sqlalchemy import event, insert, text
from sqlmodel import Session, SQLModel

import models.tables  # noqa: F401
from models.cycle import Contribution, Cycle
from models.db import engine_for
from models.partnership import Agency, Contact, Partnership
from models.store import running_cycles
from models.values import Brief, BriefSection, ReminderPolicy
from reportcycle.settings import PROJECT_ROOT
from tasks.asking.chase import chase_cycle, due_cycle_ids

LONDON = ZoneInfo("Europe/London")
DAY_BEFORE = dt.datetime(2019, 5, 7, 9, 30, tzinfo=LONDON).astimezone(dt.UTC)  # no step due either
QUIET_DAY = dt.datetime(2019, 5, 8, 9, 30, tzinfo=LONDON).astimezone(dt.UTC)  # no step due
BUSY_DAY = dt.datetime(2019, 5, 13, 9, 30, tzinfo=LONDON).astimezone(dt.UTC)  # the 7-day reminder for everyone


def build(url: str, cycles: int, agencies: int) -> None:
    engine = engine_for(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    brief = Brief(sections=(BriefSection(key="role", title="Statutory role"),)).model_dump(mode="json")
    with engine.begin() as conn:
        conn.execute(
            insert(Partnership).values(
                id=1,
                slug="bench",
                name="Bench Partnership",
                from_address="r@bench.example.org",
                business_manager_name="BM",
                business_manager_email="bm@bench.example.org",
                timezone="Europe/London",
                holidays="GB-ENG",
                send_window_start="09:00",
                send_window_end="17:00",
            )
        )
        conn.execute(
            insert(Agency),
            [
                {"id": a + 1, "partnership_id": 1, "slug": f"a{a}", "name": f"Agency {a}", "active": True}
                for a in range(agencies)
            ],
        )
        conn.execute(
            insert(Contact),
            [
                {"agency_id": a + 1, "role": role, "name": f"{role} {a}", "email": f"{role}{a}@a{a}.example.org"}
                for a in range(agencies)
                for role in ("lead", "deputy", "senior")
            ],
        )
        conn.execute(
            insert(Cycle),
            [
                {
                    "id": c + 1,
                    "partnership_id": 1,
                    "label": f"c{c:04d}",
                    "title": f"Report {c}",
                    "status": "open",
                    "period_start": dt.date(2018, 4, 1),
                    "period_end": dt.date(2019, 3, 31),
                    "requests_on": dt.date(2019, 4, 15),
                    "contributions_due": dt.date(2019, 5, 20),
                    "cut_off": dt.time(17),
                    "review_due": dt.date(2019, 6, 21),
                    "publish_by": dt.date(2019, 7, 31),
                    "chair": {"name": "Chair", "email": "chair@bench.example.org"},
                    "priorities": [],
                    "brief": brief,
                    "reminder_policy": ReminderPolicy().model_dump(mode="json"),
                    "recipients": [],
                    "report": {},
                }
                for c in range(cycles)
            ],
        )
        conn.execute(
            insert(Contribution),
            [
                {
                    "cycle_id": c + 1,
                    "agency_id": a + 1,
                    "status": "requested",
                    "due_date": dt.date(2019, 5, 20),
                    "cut_off": dt.time(17),
                    "deadline_set_on": dt.date(2019, 5, 4),
                    "current_revision": 0,
                    "calendar_sequence": 0,
                }
                for c in range(cycles)
                for a in range(agencies)
            ],
        )


def ensure_database(url: str) -> None:
    """The bench's own database (never the tests' one: it drops every table)."""
    base, _, name = url.rpartition("/")
    with engine_for(f"{base}/postgres").connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))


def sweep(url: str, at: dt.datetime, due_only: bool) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds, SQL statements, emails queued) for one chase run over every cycle, or over those
    due. The CPU time is what a busy machine inflates least: compare two runs by it when others share the cores."""
    engine = engine_for(url)
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    queued = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        with Session(engine) as session:
            due = due_cycle_ids(session, at) if due_only else None
            for cycle, _ in running_cycles(session):
                if due is not None and cycle.id not in due:
                    continue
                report = chase_cycle(
                    session, cycle, at=at, actor="bench", base_url="http://x", templates_dir=PROJECT_ROOT / "templates"
                )
                queued += len(report.emails)
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return time.perf_counter() - started, time.process_time() - cpu_started, statements, queued


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--quiet-only", action="store_true", help="skip the busy day (minutes at full size)")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/reportcycle_bench")
    args = parser.parse_args()
    console = Console()
    table = Table(title=f"Chase sweep over {args.cycles} open cycles")
    columns = (
        "database",
        "agencies/cycle",
        "way",
        "day",
        "seconds",
        "CPU s",
        "statements",
        "per cycle",
        "emails queued",
    )
    for column in (*columns, "ms per email (CPU)"):
        table.add_column(column, justify="right")
    tmp = Path(tempfile.mkdtemp())
    databases = [("SQLite", f"sqlite:///{tmp / 'bench.db'}")]
    try:
        ensure_database(args.postgres)
        databases.append(("PostgreSQL", args.postgres))
    except Exception as exc:
        console.print(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only")
    per_cycle: dict[tuple[str, int, str], float] = {}
    seconds_of: dict[tuple[str, int, str], float] = {}
    per_email: dict[tuple[str, int], tuple[float, float]] = {}
    # The day before primes each contribution's next step, as the chase that ran then would have.
    runs = (
        ("every cycle", "quiet", DAY_BEFORE, False),
        ("due only", "quiet", QUIET_DAY, True),
        ("due only", "busy", BUSY_DAY, True),
        ("every cycle", "busy", BUSY_DAY, False),
    )
    for name, url in databases:
        for agencies in (args.agencies // 2, args.agencies):
            for way, label, at, due_only in runs:
                if label == "busy" and args.quiet_only:
                    continue
                if way == "every cycle":  # a fresh build: the busy day's emails are not queued yet
                    with console.status(f"{name}: building {args.cycles} cycles x {agencies} agencies"):
                        build(url, args.cycles, agencies)
                with console.status(f"{name}: {way}, {label} day, {agencies} agencies"):
                    seconds, cpu, statements, queued = sweep(url, at, due_only)
                per_cycle[(name, agencies, f"{way} {label}")] = statements / args.cycles
                seconds_of[(name, agencies, f"{way} {label}")] = seconds
                each = f"{1000 * seconds / queued:.2f} ({1000 * cpu / queued:.2f})" if queued else ""
                if queued and way == "due only":
                    per_email[(name, agencies)] = (1000 * seconds / queued, 1000 * cpu / queued)
                table.add_row(
                    name,
                    str(agencies),
                    way,
                    label,
                    f"{seconds:.2f}",
                    f"{cpu:.2f}",
                    str(statements),
                    f"{statements / args.cycles:.2f}",
                    str(queued),
                    each,
                )
        engine_for(url).dispose()
    console.print(table)
    for name, _ in databases:
        for agencies in (args.agencies // 2, args.agencies):
            before, now = (
                seconds_of[(name, agencies, "every cycle quiet")],
                seconds_of[(name, agencies, "due only quiet")],
            )
            console.print(
                f"{name}, {agencies} agencies, quiet day: due only {now:.3f} s against every cycle {before:.2f} s "
                f"({before / max(now, 1e-9):.0f}x); target <= 0.5 s"
            )
    for (name, agencies), (wall, cpu) in per_email.items():
        console.print(
            f"{name}, {agencies} agencies, busy day: {wall:.2f} ms per email queued ({cpu:.2f} ms CPU)", end=""
        )
        console.print("; target <= 1.5 ms on SQLite" if name == "SQLite" else "")


if __name__ == "__main__":
    main()
