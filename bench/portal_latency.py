"""Benchmark: portal latency with 50 concurrent agencies, on PostgreSQL (and SQLite beside it).

Each client has its own contribution and personal link. It exchanges the link for a session, then
repeatedly opens its contribution page (the task-list summary) and saves a draft (a section's page, Save).
The portal runs in its own process
(uvicorn, as `reportcycle portal` starts it, with one process and with one process a core); the
clients are httpx on asyncio. Prints p50 and p95 for each action beside the figures before issue 19's
work, and the ratio of one to several. `bench/portal_service.py` times one request in-process.

    python bench/portal_latency.py [--clients 50] [--rounds 10] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, SQLModel, select

import models.tables  # noqa: F401
from bench.chase_sweep import ensure_database
from models.db import engine_for
from models.outbox import OutboundEmail
from models.partnership_file import AgencySpec, ContactSpec, parse
from models.store import find_cycle, load_partnership
from reportcycle.clock import SystemClock
from reportcycle.mailsink import free_port
from reportcycle.settings import PROJECT_ROOT
from tasks.asking.cycle_open import open_cycle

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"
SECTION = "statutory-role"  # a section of the example's brief
PORTAL = [sys.executable, "-c", "from reportcycle.cli import app; app()", "portal"]  # as an operator starts it


def prepare(url: str, clients: int) -> list[str]:
    """A partnership of `clients` agencies, its cycle opened; the leads' personal link tokens."""
    engine = engine_for(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    spec = parse(EXAMPLE)
    agencies = tuple(
        AgencySpec(
            slug=f"agency-{i}",
            name=f"Agency {i}",
            contacts=(ContactSpec(role="lead", name=f"Lead {i}", email=f"lead@agency-{i}.example.org"),),
        )
        for i in range(clients)
    )
    spec = spec.model_copy(update={"agencies": agencies})
    now = SystemClock().now()
    with Session(engine) as session:
        load_partnership(session, spec, at=now, actor="bench")
        open_cycle(
            session,
            find_cycle(session),
            at=now,
            actor="bench",
            base_url="http://bench",
            link_valid_days=1,
            templates_dir=PROJECT_ROOT / "templates",
        )
        session.commit()
        bodies = session.exec(select(OutboundEmail.text_body).where(OutboundEmail.kind == "request")).all()
    return [re.findall(r"/c/([A-Za-z0-9_-]{43})", body)[0] for body in bodies]


async def client(base: str, token: str, rounds: int, opens: list[float], saves: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60) as http:
        entered = await http.post(f"/c/{token}")
        path = entered.headers["location"]
        # The summary is a task list with no form: the section's page gives the form's token and version.
        form = await http.get(f"{path}/section/{SECTION}")
        fields = form_fields(form.text)
        for n in range(rounds):
            started = time.perf_counter()
            page = await http.get(path)
            opens.append(time.perf_counter() - started)
            assert page.status_code == 200, page.status_code
            started = time.perf_counter()
            saved = await http.post(f"{path}/section/{SECTION}", data=draft(fields, n))
            saves.append(time.perf_counter() - started)
            assert saved.status_code == 303, saved.status_code
            fields["version"] = str(int(fields["version"]) + 1)  # this client alone writes its contribution


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf|version)" value="([^"]*)"', html))


def draft(fields: dict[str, str], n: int) -> dict[str, str]:
    """A section's form as Save posts it: the person's text, then back to the summary."""
    return {**fields, "action": "save", f"section-{SECTION}": f"Draft {n} of our statutory role."}


def run(url: str, clients: int, rounds: int, workers: int) -> tuple[list[float], list[float]]:
    tokens = prepare(url, clients)
    port = free_port()
    env = {**os.environ, "REPORTCYCLE_DATABASE_URL": url}
    server = subprocess.Popen(
        [*PORTAL, "--port", str(port), "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        opens: list[float] = []
        saves: list[float] = []

        async def everyone() -> None:
            await asyncio.gather(*(client(base, t, rounds, opens, saves) for t in tokens))

        asyncio.run(everyone())
        return opens, saves
    finally:
        server.terminate()
        server.wait(timeout=10)


# p50/p95 ms before issue 19's work (README, 2026-11-28, the machine quiet), by (database, clients, processes,
# action): printed beside each run's figures. Then a request cost 9 SQL statements and the save posted the summary.
BEFORE = {
    ("PostgreSQL", 1, 1, "open the contribution page"): "17/27",
    ("PostgreSQL", 1, 1, "save a draft"): "16/25",
    ("PostgreSQL", 50, 1, "open the contribution page"): "865/1682",
    ("PostgreSQL", 50, 1, "save a draft"): "799/1074",
    ("PostgreSQL", 50, 2, "open the contribution page"): "557/940",
    ("PostgreSQL", 50, 2, "save a draft"): "466/770",
    ("SQLite", 1, 1, "open the contribution page"): "10/21",
    ("SQLite", 1, 1, "save a draft"): "10/20",
    ("SQLite", 50, 1, "open the contribution page"): "646/1249",
    ("SQLite", 50, 1, "save a draft"): "576/1105",
    ("SQLite", 50, 2, "open the contribution page"): "295/816",
    ("SQLite", 50, 2, "save a draft"): "290/966",
}


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes for the second run")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/reportcycle_bench")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))  # the table unbroken in a narrow terminal or a log
    table = Table(title=f"Portal latency, {args.clients} concurrent clients x {args.rounds} rounds (ms)")
    for column in ("database", "clients", "processes", "action", "requests", "p50", "p95", "2026-11-28 p50/p95"):
        table.add_column(column, justify="right")
    ensure_database(args.postgres)
    ratios = []
    # One client alone first: the time a request takes to serve, against which the queueing of many is read.
    runs = [(1, 1), (args.clients, 1), (args.clients, args.workers)]
    for name, url in (("PostgreSQL", args.postgres), ("SQLite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'b.db'}")):
        p50: dict[tuple[int, int, str], float] = {}
        for clients, workers in runs:
            with console.status(f"{name}: {clients} client(s), {workers} portal process(es)"):
                opens, saves = run(url, clients, args.rounds if clients > 1 else 5 * args.rounds, workers)
            for action, values in (("open the contribution page", opens), ("save a draft", saves)):
                p50[clients, workers, action] = middle = pct(values, 50)
                row = (str(clients), str(workers), action, str(len(values)), f"{middle:.0f}", f"{pct(values, 95):.0f}")
                table.add_row(name, *row, BEFORE.get((name, clients, workers, action), ""))
        for action in ("open the contribution page", "save a draft"):
            ratios.append(
                f"{name}, {action}, {args.clients} clients: p50 with 1 process / with {args.workers} = "
                f"{p50[args.clients, 1, action] / p50[args.clients, args.workers, action]:.2f}; "
                f"p50 with {args.clients} clients / with 1 (1 process) = "
                f"{p50[args.clients, 1, action] / p50[1, 1, action]:.0f}"
            )
    console.print(table)
    for line in ratios:
        console.print(line)


if __name__ == "__main__":
    main()
