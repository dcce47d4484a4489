"""`reportcycle status` answers without the ORM: what its process imports, the Core columns it reads, and the
rule that lets a table module be imported alone (issue 15's 1 s target; the timing is `bench/cli_latency.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Date, Time
from sqlmodel import Session, SQLModel, select

from models.cycle import Contribution
from models.outbox import OutboundEmail
from models.partnership import Agency
from models.status import LIGHT_TABLES
from models.types import UTCDateTime
from reportcycle.mailsink import MailSink
from tests.helpers import open_example_cycle

ROOT = Path(__file__).resolve().parents[1]
# What `status` must not import without a Prefect server: each costs a tenth of a second or more.
HEAVY = (
    "prefect",
    "fastapi",
    "jinja2",
    "httpx",
    "sqlmodel",
    "sqlalchemy.orm",
    "holidays",
    "email_validator",
    "models.partnership_file",
    "models.cycle",
    "models.outbox",
    "models.audit",
    "models.store",
    "tasks.inbound",
    "imaplib",
)
# Runs the command, then writes the modules it imported to the file named in argv[1].
PROGRAM = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from reportcycle.cli import app
app()
"""


def test_status_imports_no_orm_and_counts_right(tmp_path: Path, database_url: str, session: Session) -> None:
    open_example_cycle(session)
    # One delivered reminder for West Midlands Police, and its request refused: 1 chaser sent, 1 failed.
    wmp = session.exec(select(Contribution).join(Agency).where(Agency.slug == "wmp")).one()
    request, *_ = session.exec(select(OutboundEmail).where(OutboundEmail.contribution_id == wmp.id)).all()
    request.status = "failed"
    session.add(request)
    session.add(
        OutboundEmail(
            **request.model_dump(exclude={"id", "idempotency_key", "reply_tag", "message_id", "status", "kind"}),
            idempotency_key="test-reminder",
            message_id="<test-reminder@bscb.example.org>",
            kind="reminder",
            status="sent",
        )
    )
    session.commit()
    modules = tmp_path / "modules.json"
    with MailSink() as sink:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")} | {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "REPORTCYCLE_DATABASE_URL": database_url,
            "REPORTCYCLE_SMTP_HOST": sink.host,
            "REPORTCYCLE_SMTP_PORT": str(sink.port),
            "COLUMNS": "200",
        }
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM, str(modules), "--at", "2019-05-13T09:30+01:00", "status"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        cells[0]: cells[1:]
        for line in done.stdout.splitlines()
        if line.startswith("│") and len(cells := [c.strip() for c in line.strip("│").split("│")]) == 7
    }
    assert rows["West Midlands Police"] == [
        "requested",
        "Mon 20 May 2019 17:00",
        "7 days left",
        "1",
        "1",
        "2019-04-15 09:00",
    ]
    assert rows["National Probation Service"] == [
        "requested",
        "Mon 20 May 2019 17:00",
        "7 days left",
        "0",
        "0",
        "2019-04-15 09:00",
    ]
    assert len(rows) == 12  # the twelve agencies
    assert "outbox: 0 waiting for the relay, 1 failed" in done.stdout
    imported = set(json.loads(modules.read_text()))
    assert {m for m in imported for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")} == set()
    assert "models.status" in imported  # the program ran the command, and this is the module it read with


def test_the_light_columns_are_the_tables_columns() -> None:
    """The Core reader names columns by hand: each must be a column of the table the ORM declares."""
    for light in LIGHT_TABLES:
        declared = SQLModel.metadata.tables[light.name]
        assert set(light.c.keys()) <= set(declared.c.keys()), light.name
        for name, column in light.c.items():
            # Types that convert what the database returns (dates, times, UTC instants) are the declared ones.
            if isinstance(column.type, Date | Time | UTCDateTime):
                assert type(column.type) is type(declared.c[name].type), (light.name, name)


@pytest.mark.parametrize(
    "module", ["audit", "cycle", "inbound", "outbox", "partnership", "portal", "report", "reviews"]
)
def test_a_table_module_alone_resolves_its_foreign_keys(module: str) -> None:
    """A flush resolves every foreign key of a table: a module imported alone must bring the tables its keys name."""
    program = (
        f"import models.{module}\n"
        "from sqlmodel import SQLModel\n"
        "print(sorted(fk.column.table.name for t in SQLModel.metadata.tables.values() for fk in t.foreign_keys))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
