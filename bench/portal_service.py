"""Benchmark: what one portal request costs to serve, in-process, on SQLite and on PostgreSQL.

The app is called through Starlette's test client in this process (no network, no queue), one request
at a time: open the contribution page, then save a draft, as `bench/portal_latency.py`'s clients do, and
a static file as the floor (what FastAPI and the middleware cost with the app doing nothing). Timed from
the app's call to its last byte: per action, the median wall time, the median CPU time of the process
(the client's thread waits meanwhile, so it is the app's; it counts less of what else the machine runs),
and the SQL statements issued; beside them the figures measured before issue 19's work on the same
machine. `--profile` prints cProfile's top functions, over the routes' worker threads, instead. The floor is
served from memory since the static files are (portal/assets.py): 1.3-1.5 ms CPU against 3.7-4.8 ms from disk
on the same busy machine; README has the figures of each pass, main's code beside this.

    python bench/portal_service.py [--requests 200] [--postgres URL | --postgres ''] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio.to_thread
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import event
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.chase_sweep import ensure_database
from bench.portal_latency import SECTION, draft, form_fields, prepare
from models.db import engine_for
from portal.app import create_app
from reportcycle.settings import Settings

OPEN, SAVE, FLOOR = "open the contribution page", "save a draft", "floor: a static file"
# Measured 2026-12-01 with this script on main before the work, alternating with the work's code (load average
# 5.5 on the 2 cores, shared): median wall ms, median CPU ms, statements a request.
BEFORE = {
    ("SQLite", OPEN): (12.9, 11.8, 9),
    ("SQLite", SAVE): (10.3, 9.1, 11),
    ("SQLite", FLOOR): (3.4, 3.3, 0),
    ("PostgreSQL", OPEN): (20.7, 16.6, 9),
    ("PostgreSQL", SAVE): (17.2, 13.0, 11),
    ("PostgreSQL", FLOOR): (3.9, 3.8, 0),
}


def serve(url: str, requests: int, profile: cProfile.Profile | None = None) -> dict[str, tuple[float, float, int]]:
    """Per action: (median wall ms, median CPU ms, SQL statements a request) over `requests` of each."""
    token = prepare(url, 1)[0]
    engine = engine_for(url)
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    app = create_app(Settings(database_url=url))
    warm: list[bool] = []  # profiled once the caches are warm
    if profile:
        profile_threads(profile, warm)
    actions = (OPEN, SAVE, FLOOR)
    walls: dict[str, list[float]] = {a: [] for a in actions}
    cpus: dict[str, list[float]] = {a: [] for a in actions}
    counted: dict[str, int] = {}
    served: list[tuple[float, float]] = []  # the last request's time inside the app, read below
    with TestClient(timed(app, served), follow_redirects=False) as http:
        path = http.post(f"/c/{token}").headers["location"]
        fields = form_fields(http.get(f"{path}/section/{SECTION}").text)
        event.listen(engine, "before_cursor_execute", count)
        try:
            for n in range(requests + 10):  # the first ten warm the caches and are not counted
                if n == 10:
                    warm.append(True)
                for action in actions:
                    statements = 0
                    if action == OPEN:
                        answer = http.get(path)
                    elif action == FLOOR:  # what FastAPI and the middleware cost, the app doing nothing
                        answer = http.get("/static/portal.js")
                    else:
                        answer = http.post(f"{path}/section/{SECTION}", data=draft(fields, n))
                        fields["version"] = str(int(fields["version"]) + 1)
                    wall, cpu = served[-1]
                    assert answer.status_code == (303 if action == SAVE else 200), answer.status_code
                    if n >= 10:
                        walls[action].append(wall * 1000)
                        cpus[action].append(cpu * 1000)
                        counted[action] = statements
        finally:
            event.remove(engine, "before_cursor_execute", count)
    return {a: (statistics.median(walls[a]), statistics.median(cpus[a]), counted[a]) for a in actions}


def timed(app: ASGIApp, served: list[tuple[float, float]]) -> ASGIApp:
    """The app, noting each request's (wall, CPU) seconds from its call to its last byte: the service time,
    without the test client's own work (the client's thread waits meanwhile, so the process's CPU is the app's)."""

    async def measured(scope: Scope, receive: Receive, send: Send) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        await app(scope, receive, send)
        served.append((time.perf_counter() - wall, time.process_time() - cpu))

    return measured


def profile_threads(profile: cProfile.Profile, warm: list[bool]) -> None:
    """Profile the work FastAPI hands to its worker threads (the routes, their database work and rendering),
    where a profiler enabled in this thread would see only the test client waiting."""
    handed = anyio.to_thread.run_sync

    async def profiled(work: Any, *args: Any, **kwargs: Any) -> Any:
        def run(*inner: Any) -> Any:
            if not warm:
                return work(*inner)
            profile.enable()
            try:
                return work(*inner)
            finally:
                profile.disable()

        return await handed(run, *args, **kwargs)

    anyio.to_thread.run_sync = profiled  # type: ignore[assignment]


def databases(postgres: str) -> list[tuple[str, str]]:
    """SQLite, then PostgreSQL unless its URL is "" (`--postgres ''`)."""
    sqlite = ("SQLite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'service.db'}")
    if not postgres:
        return [sqlite]
    ensure_database(postgres)
    return [sqlite, ("PostgreSQL", postgres)]


def table(requests: int, postgres: str) -> Table:
    found = Table(title=f"Portal service time in-process, one request at a time, median of {requests}")
    for column in ("database", "action", "wall ms", "CPU ms", "statements", "before: wall", "CPU", "statements"):
        found.add_column(column, justify="right")
    for name, url in databases(postgres):
        for action, (wall, cpu, statements) in serve(url, requests).items():
            old_wall, old_cpu, old_statements = BEFORE[name, action]
            found.add_row(
                name, action, f"{wall:.1f}", f"{cpu:.1f}", str(statements), f"{old_wall:.1f}", f"{old_cpu:.1f}",
                str(old_statements),
            )  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/reportcycle_bench")
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions for each database")
    parser.add_argument("--sort", default="cumulative", help="cProfile's order: cumulative or tottime")
    args = parser.parse_args()
    if args.profile:
        for name, url in databases(args.postgres):
            profile = cProfile.Profile()
            serve(url, args.requests, profile)
            print(f"=== {name}")
            pstats.Stats(profile).sort_stats(args.sort).print_stats(50)
        return
    Console(width=max(Console().width, 110)).print(table(args.requests, args.postgres))


if __name__ == "__main__":
    main()
