"""Benchmark: portal latency with 50 concurrent agencies, on PostgreSQL (and SQLite beside it).

Each client has its own contribution and personal link. It exchanges the link for a session, then
repeatedly opens its contribution page (the task-list summary) and saves a draft (a section's page, Save).
The portal runs in its own process
(uvicorn, as `reportcycle portal` starts it, with one process and with one process a core); the
clients are httpx on asyncio, and in a last run lean clients (one keep-alive connection each, see LeanClient)
that leave the cores to the portal. Prints p50 and p95 for each action beside the figures before issue 19's
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
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

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


class Answer(NamedTuple):
    status_code: int
    headers: dict[str, str]
    text: str


class LeanClient:
    """One keep-alive HTTP/1.1 connection and its cookies, and nothing else, as a load generator such as wrk
    sends: to see whether the 50 clients' own process, on the portal's 2 cores, makes the tail. Measured
    2026-12-08 on a quiet machine: httpx costs its process 1.3-2.5 ms of CPU a request, this 0.1-0.2 ms, and
    the 50-client p95s with 2 portal processes were no better with it (PostgreSQL 358/332 ms against httpx's
    709/365): the tail is the portal's and the database's, not the clients'."""

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.cookies: dict[str, str] = {}

    async def __aenter__(self) -> LeanClient:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    async def get(self, path: str) -> Answer:
        return await self._send("GET", path, b"")

    async def post(self, path: str, data: dict[str, str] | None = None) -> Answer:
        return await self._send("POST", path, urlencode(data or {}).encode())

    async def _send(self, method: str, path: str, body: bytes) -> Answer:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in raw[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "set-cookie":
                key, _, kept = value.strip().split(";", 1)[0].partition("=")
                self.cookies[key] = kept
            elif name:
                headers[name.lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await self.reader.readline()).strip(), 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            content = b"".join(chunks)
        else:
            content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(int(raw[0].split()[1]), headers, content.decode())


CLIENTS: dict[str, Callable[[str], Any]] = {
    "httpx": lambda base: httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60),
    "lean": LeanClient,
}


async def client(kind: str, base: str, token: str, rounds: int, opens: list[float], saves: list[float]) -> None:
    async with CLIENTS[kind](base) as http:
        entered = await http.post(f"/c/{token}")
        path = entered.headers["location"]
        # The summary is a task list with no form: the section's page gives the form's token and version.
        form = await http.get(f"{path}/section/{SECTION}")
        fields = form_fields(form.text)
        for n in range(rounds):
            started = time.perf_counter()
            page = await http.get(path)
            opens.append(time.perf_counter() - started)
            assert page.status_code == 200 and "govuk-task-list" in page.text, page.status_code
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


def run(
    url: str, clients: int, rounds: int, workers: int, kind: str = "httpx"
) -> tuple[list[float], list[float], float]:
    """Each action's times in seconds, and the clients' own CPU a request in ms."""
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
            await asyncio.gather(*(client(kind, base, t, rounds, opens, saves) for t in tokens))

        cpu = time.process_time()
        asyncio.run(everyone())
        return opens, saves, (time.process_time() - cpu) * 1000 / (len(opens) + len(saves) + 2 * clients)
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
    columns = ("database", "client", "clients", "processes", "action", "requests", "p50", "p95", "client CPU/req")
    for column in (*columns, "2026-11-28 p50/p95"):
        table.add_column(column, justify="right")
    ensure_database(args.postgres)
    ratios = []
    # One client alone first: the time a request takes to serve, against which the queueing of many is read; the
    # last run is the same load from lean clients (LeanClient), which leave the 2 cores to the portal.
    runs = [("httpx", 1, 1), ("httpx", args.clients, 1), ("httpx", args.clients, args.workers)]
    runs.append(("lean", args.clients, args.workers))
    for name, url in (("PostgreSQL", args.postgres), ("SQLite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'b.db'}")):
        p50: dict[tuple[str, int, int, str], float] = {}
        for kind, clients, workers in runs:
            with console.status(f"{name}: {clients} {kind} client(s), {workers} portal process(es)"):
                opens, saves, cpu = run(url, clients, args.rounds if clients > 1 else 5 * args.rounds, workers, kind)
            for action, values in (("open the contribution page", opens), ("save a draft", saves)):
                p50[kind, clients, workers, action] = middle = pct(values, 50)
                row = (kind, str(clients), str(workers), action, str(len(values)), f"{middle:.0f}")
                before = BEFORE.get((name, clients, workers, action), "") if kind == "httpx" else ""
                table.add_row(name, *row, f"{pct(values, 95):.0f}", f"{cpu:.1f}", before)
        for action in ("open the contribution page", "save a draft"):
            many, spread = p50["httpx", args.clients, 1, action], p50["httpx", args.clients, args.workers, action]
            ratios.append(
                f"{name}, {action}, {args.clients} clients: p50 with 1 process / with {args.workers} = "
                f"{many / spread:.2f}; "
                f"p50 with {args.clients} clients / with 1 (1 process) = {many / p50['httpx', 1, 1, action]:.0f}; "
                f"p50 httpx / lean ({args.workers} processes) = "
                f"{spread / p50['lean', args.clients, args.workers, action]:.2f}"
            )
    console.print(table)
    for line in ratios:
        console.print(line)


if __name__ == "__main__":
    main()
