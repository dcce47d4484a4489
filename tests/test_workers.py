"""Two Prefect workers on one Prefect server and one PostgreSQL database run the same days' chase: nothing twice.

What the README's "More than one machine" recipe does, on one machine: `reportcycle deploy --pool`
registers the deployments to a process work pool on the test session's Prefect server, and two
`prefect worker start --pool ... --type process --limit 1` processes (each its own
REPORTCYCLE_WORKER_NAME, as two machines would have) take the flow runs of the daily chase. Each
day gets two runs at once, one per worker, against one application database on PostgreSQL and one
SMTP server; the outbox's idempotency keys and claims must make each email queued and sent once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, col, select
from typer.testing import CliRunner

from flows.open_cycle import open_cycle_flow
from models.audit import AuditEvent
from models.cycle import Contribution
from models.db import engine_for
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency
from models.partnership_file import parse
from models.store import load_partnership
from reportcycle.cli import app
from reportcycle.mailsink import MailSink
from reportcycle.settings import PROJECT_ROOT, get_settings
from tests.conftest import SECOND, reset_schema
from tests.helpers import local, own_postgres_database

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

DATABASE = "rc_pool_workers"  # our own: CI's `test` database is left alone
WORKERS = ("machine-a", "machine-b")
DEPLOYMENT = "chase-all/daily-chase"
# What the README tells each machine to run (`--limit 1`: one flow run at a time per worker).
WORKER_START = [sys.executable, "-m", "prefect", "worker", "start", "--type", "process", "--limit", "1"]
SECONDS = 180.0  # for the workers to come online, and for each day's runs to finish
SLUGS = ["rbc-asc", "rpol", "ramb", "rha", "ricb"]  # the five agencies' slugs in riverside-sab.toml
DOMAINS = ["rbc", "riverside-police", "riverside-ambulance", "riverside-housing", "riverside-icb"]  # their mail


@pytest.fixture
def postgres_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of our own on the PostgreSQL server the suite uses (TEST_DATABASE_URL's, or 127.0.0.1)."""
    url = own_postgres_database(DATABASE)
    reset_schema(url)
    SQLModel.metadata.create_all(engine_for(url))
    monkeypatch.setenv("REPORTCYCLE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    engine_for(url).dispose()
    get_settings.cache_clear()


class Workers:
    """`prefect worker start` processes, each writing its output to a file (read on failure)."""

    def __init__(self, pool: str, env: dict[str, str], where: Path) -> None:
        self.pool, self.env, self.where = pool, env, where
        self.logs = {name: where / f"{name}.log" for name in WORKERS}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for name, log in self.logs.items():
            with log.open("wb") as out:
                self.processes[name] = subprocess.Popen(
                    [*WORKER_START, "--pool", self.pool, "--name", name],
                    cwd=self.where,  # not the checkout: the deployments' pull step moves each run there
                    env={**self.env, "REPORTCYCLE_WORKER_NAME": name},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

    def output(self) -> str:
        tails = {name: log.read_text(errors="replace")[-6000:] for name, log in self.logs.items() if log.exists()}
        return "\n".join(f"--- {name} ---\n{tail}" for name, tail in tails.items())

    def check_running(self) -> None:
        for name, p in self.processes.items():
            assert p.poll() is None, f"worker {name} exited with code {p.returncode}\n{self.output()}"

    def stop(self) -> None:
        """Ctrl-C for each, as an operator would stop one; a kill for any still running after 30 s."""
        for p in self.processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.processes.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@contextmanager
def workers(pool: str, env: dict[str, str], where: Path) -> Iterator[Workers]:
    running = Workers(pool, env, where)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _wait(what: str, done: Callable[[], bool], running: Workers) -> None:
    started = time.perf_counter()
    while not done():
        running.check_running()
        assert time.perf_counter() - started < SECONDS, f"{what}: not within {SECONDS:.0f} s\n{running.output()}"
        time.sleep(0.5)


def test_two_workers_from_a_work_pool_run_the_same_days_chase_and_send_nothing_twice(
    prefect: None, postgres_url: str, mail: MailSink, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    assert api, "the harness gives a Prefect server"
    with Session(engine_for(postgres_url)) as session:
        load_partnership(session, parse(SECOND), at=local("2026-04-01"), actor="test")
        session.commit()
    open_cycle_flow(at=local("2026-04-20", "08:45"))

    # The operator's command: a fresh process work pool, the deployments registered to it.
    pool = f"reportcycle-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(app, ["deploy", "--pool", pool])
    assert result.exit_code == 0, result.output
    assert f"work pool '{pool}' (created)" in result.output
    registered = [line.removeprefix("registered ") for line in result.output.splitlines() if "registered" in line]
    assert registered == [
        "chase-all/daily-chase",
        "dispatch/dispatch-outbox",
        "inbound/read-mailbox",
        "weekly-summary/weekly-summary",
        "open-cycle/open-cycle",
        "collate/collate-draft",
        "review/apply-review",
        "publish/publish-report",
        "annual-cycle/annual-cycle",
    ]
    with get_client(sync_client=True) as client:
        assert client.read_work_pool(pool).type == "process"
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    assert (deployment.work_pool_name, deployment.entrypoint) == (pool, "flows/chase.py:chase_all_flow")
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_ROOT)}}
    ]
    assert (deployment.parameters, deployment.job_variables) == ({}, {})  # nothing secret rides along

    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "REPORTCYCLE_DATABASE_URL": postgres_url,
        "REPORTCYCLE_SMTP_HOST": mail.host,
        "REPORTCYCLE_SMTP_PORT": str(mail.port),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_LEVEL": "INFO",  # the workers' output is the failure message
    }
    # Wednesday 3 June: the 3-day reminder (the 10-day one was missed: superseded, not sent);
    # Monday 8 June: the first overdue notice. Two runs of each day at once: one per worker.
    days = [local("2026-06-03", "09:40"), local("2026-06-08", "09:00")]
    ran_by: dict[str, list[str]] = {}
    states: list[str] = []
    with workers(pool, env, tmp_path) as running, get_client(sync_client=True) as client:

        def online() -> bool:
            return {w.name for w in client.read_workers_for_work_pool(pool)} >= set(WORKERS)

        _wait("both workers online", online, running)
        for at in days:
            runs = [
                client.create_flow_run_from_deployment(deployment.id, parameters={"at": at.isoformat()})
                for _ in WORKERS
            ]

            def finished(runs: list[Any] = runs) -> bool:
                return all(s and s.is_final() for s in (client.read_flow_run(r.id).state for r in runs))

            _wait(f"the two chase runs for {at:%Y-%m-%d}", finished, running)
            for r in (client.read_flow_run(r.id) for r in runs):
                assert r.state is not None
                states.append(r.state.type.value)
                ran_by.setdefault(f"{at:%Y-%m-%d}", []).append(r.labels.get("prefect.worker.name", "none"))
        log = running.output()
    print(f"\nflow runs by worker: {ran_by}")

    # Four chase flow runs, all completed; each day's two ran one on each worker (the label Prefect's
    # worker puts on the runs it submits).
    assert states == ["COMPLETED"] * 4, log
    assert {day: sorted(names) for day, names in ran_by.items()} == {
        "2026-06-03": sorted(WORKERS),
        "2026-06-08": sorted(WORKERS),
    }, log

    # Each step of the ladder was queued once (its audit event is written with the row, only by the
    # run that inserted it), and each email received once.
    with Session(engine_for(postgres_url)) as session:
        slug_of = {
            f"contribution:{c.id}": a.slug
            for c, a in session.exec(select(Contribution, Agency).where(Contribution.agency_id == Agency.id))
        }
        steps = Counter(
            (slug_of[e.subject], e.action, e.detail["step"])
            for e in session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("chase.")))
        )
        rows = session.exec(select(OutboundEmail).where(OutboundEmail.kind != "request")).all()
    assert steps == Counter(
        [(a, "chase.superseded", "reminder-10d") for a in SLUGS]
        + [(a, "chase.reminder", "reminder-3d") for a in SLUGS]
        + [(a, "chase.overdue", "overdue-1") for a in SLUGS]
    )
    received = [r for r in mail.received if r.kind != "request"]
    assert Counter(r.message_id for r in received).most_common(1)[0][1] == 1, "a message arrived twice"
    assert Counter((r.kind, r.rcpt_tos[0].split("@")[1].split(".")[0]) for r in received) == Counter(
        [("reminder", d) for d in DOMAINS] + [("overdue", d) for d in DOMAINS] + [("digest", "riverside-sab")] * 2
    )
    assert Counter(r.status for r in rows) == {OutboxStatus.sent: 12, OutboxStatus.superseded: 5}
    claimed = Counter(r.claimed_by for r in rows if r.status == OutboxStatus.sent)
    print(f"emails sent by each worker: {dict(claimed)}")
    assert set(claimed) <= set(WORKERS)
