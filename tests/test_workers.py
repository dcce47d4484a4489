"""Two workers on one Prefect server and one PostgreSQL database run the same days' chase: nothing twice.

The workers are two processes that each run the chase-all flow as real flow runs recorded by the
test session's Prefect server (the harness's API, a separate server process), against one
application database on PostgreSQL and one SMTP server. Both start at the same instant for the
same days; the outbox's idempotency keys and claims must make each email queued and sent once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

from flows.open_cycle import open_cycle_flow
from models.db import engine_for
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership_file import parse
from models.store import load_partnership
from reportcycle.mailsink import MailSink
from reportcycle.settings import PROJECT_ROOT, get_settings
from tests.conftest import SECOND, reset_schema
from tests.helpers import local, own_postgres_database

pytestmark = pytest.mark.once  # independent of TEST_DATABASE_URL: the SQLite pass runs it

WORKER = Path(__file__).parent / "chase_worker.py"
DATABASE = "rc_serve_workers"  # our own: CI's `test` database is left alone
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


def _flow_runs(api: str) -> list[dict[str, object]]:
    import httpx

    body = {"flows": {"name": {"any_": ["chase-all"]}}, "sort": "START_TIME_DESC", "limit": 50}
    return list(httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json())


def test_two_workers_run_the_same_days_chase_and_send_nothing_twice(
    prefect: None, postgres_url: str, mail: MailSink, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    assert api, "the harness gives a Prefect server"
    with Session(engine_for(postgres_url)) as session:
        load_partnership(session, parse(SECOND), at=local("2026-04-01"), actor="test")
        session.commit()
    open_cycle_flow(at=local("2026-04-20", "08:45"))
    before = len(_flow_runs(api))

    # Wednesday 3 June: the 3-day reminder (the 10-day one was missed: superseded, not sent);
    # Monday 8 June: the first overdue notice. Each worker runs both days.
    days = [local("2026-06-03", "09:40").isoformat(), local("2026-06-08", "09:00").isoformat()]
    go = tmp_path / "go"
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "REPORTCYCLE_DATABASE_URL": postgres_url,
        "REPORTCYCLE_SMTP_HOST": mail.host,
        "REPORTCYCLE_SMTP_PORT": str(mail.port),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(go), *days],
            cwd=PROJECT_ROOT,
            env={**env, "REPORTCYCLE_WORKER_NAME": name},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("machine-a", "machine-b")
    ]
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready", w.stderr and w.stderr.read()
    go.touch()
    queued: Counter[str] = Counter()
    shares = []
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        mine = json.loads(out.strip().splitlines()[-1])["queued"]
        shares.append(len(mine))
        queued.update(mine)
    print(f"steps queued by each worker: {shares}")

    # Each step was queued by exactly one of the two workers.
    assert queued == Counter([f"{a}:reminder:reminder-3d" for a in SLUGS] + [f"{a}:overdue:overdue-1" for a in SLUGS])
    received = [r for r in mail.received if r.kind != "request"]
    assert Counter(r.message_id for r in received).most_common(1)[0][1] == 1, "a message arrived twice"
    assert Counter((r.kind, r.rcpt_tos[0].split("@")[1].split(".")[0]) for r in received) == Counter(
        [("reminder", d) for d in DOMAINS] + [("overdue", d) for d in DOMAINS] + [("digest", "riverside-sab")] * 2
    )
    with Session(engine_for(postgres_url)) as session:
        rows = session.exec(select(OutboundEmail).where(OutboundEmail.kind != "request")).all()
    assert Counter(r.status for r in rows) == {OutboxStatus.sent: 12, OutboxStatus.superseded: 5}
    assert {r.claimed_by for r in rows if r.status == OutboxStatus.sent} <= {"machine-a", "machine-b"}
    # Four chase flow runs (two workers, two days), recorded by the one Prefect server, all completed.
    runs = _flow_runs(api)[: len(_flow_runs(api)) - before]
    assert sorted(r["state_type"] for r in runs) == ["COMPLETED"] * 4
