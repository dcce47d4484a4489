"""`reportcycle audit` and `reportcycle outbox`: what an operator sees and types."""

from __future__ import annotations

import datetime as dt
import getpass
import json

import pytest
from rich.console import Console
from sqlmodel import Session, select
from typer.testing import CliRunner

from models.audit import AuditEvent, record
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.store import find_cycle, load_partnership
from reportcycle.cli import app
from reportcycle.cli import common as cli
from tasks.mail.outbox import Envelope, enqueue
from tasks.mail.render import RenderedEmail
from tests.conftest import EXAMPLE

UTC = dt.UTC


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wrapping, so each row and each error is one line to match."""
    monkeypatch.setattr(cli, "console", Console(width=300))
    monkeypatch.setattr(cli, "err_console", Console(width=300, stderr=True))


@pytest.fixture
def cycle_id(database_url: str, session: Session) -> int:
    """The example partnership (its load is event 1, on 1 April 09:00 BST) and three events of our own."""
    load_partnership(session, parse(EXAMPLE), at=dt.datetime(2019, 4, 1, 8, 0, tzinfo=UTC), actor="loader")
    cycle = find_cycle(session)
    assert cycle.id is not None
    for at, actor, action, detail in [
        # 22:30 UTC on 14 April is 23:30 in London: before --since 2019-04-15
        (dt.datetime(2019, 4, 14, 22, 30, tzinfo=UTC), "cli:ann", "contribution.extend", {"new_due": "2019-06-03"}),
        # 23:30 UTC on 14 April is 00:30 on the 15th in London: after it
        (dt.datetime(2019, 4, 14, 23, 30, tzinfo=UTC), "chair@p.example.org", "review.return.recorded", {}),
        (dt.datetime(2019, 4, 16, 9, 0, tzinfo=UTC), "w1", "email.sent", {"to": ["a@x.org", "b@x.org"], "n": "[b]x"}),
    ]:
        record(session, at=at, actor=actor, action=action, subject="cycle:1", cycle_id=cycle.id, **detail)
    session.commit()
    return cycle.id


def test_audit_is_a_table_oldest_first(wide: None, cycle_id: int) -> None:
    result = CliRunner().invoke(app, ["audit", "2018/19"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│ 2019")]
    assert [[cell.strip() for cell in r.split("│")[1:4]] for r in rows] == [
        ["2019-04-01 09:00", "loader", "partnership.load"],
        ["2019-04-14 23:30", "cli:ann", "contribution.extend"],
        ["2019-04-15 00:30", "chair@p.example.org", "review.return.recorded"],
        ["2019-04-16 10:00", "w1", "email.sent"],
    ]
    assert "to=a@x.org, b@x.org; n=[b]x" in rows[3]  # what people typed is shown as typed, never as markup


def test_audit_filters_and_json_lines(wide: None, cycle_id: int) -> None:
    result = CliRunner().invoke(app, ["--cycle", "2018/19", "audit", "--since", "2019-04-15", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["at"], x["actor"], x["action"]) for x in lines] == [
        ("2019-04-14T23:30:00+00:00", "chair@p.example.org", "review.return.recorded"),
        ("2019-04-16T09:00:00+00:00", "w1", "email.sent"),
    ]
    assert lines[1]["detail"] == {"to": ["a@x.org", "b@x.org"], "n": "[b]x"}
    assert lines[1]["subject"] == "cycle:1"
    by_action = CliRunner().invoke(app, ["audit", "--action", "contribution.", "--json"])
    assert [json.loads(line)["action"] for line in by_action.output.splitlines()] == ["contribution.extend"]
    # "_" is a letter here, not a LIKE wildcard: "review.return_" matches nothing
    assert CliRunner().invoke(app, ["audit", "--action", "review.return_", "--json"]).output == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "2017/18"], "error: no 2017/18 cycle found; the cycles are: bscb 2018/19 (planned); name one"),
        (["audit", "--since", "last week"], "--since 'last week': write a date as YYYY-MM-DD, or an instant as"),
        (["outbox", "--status", "lost"], "error: unknown status lost; choose from queued, sending, sent, failed"),
        (["outbox", "retry", "999"], "error: no email 999 in the outbox; `reportcycle outbox` lists them"),
    ],
)
def test_bad_input_is_one_line(wide: None, cycle_id: int, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_outbox_list_retry_cancel(wide: None, session: Session, cycle_id: int) -> None:
    def email(key: str) -> int:
        envelope = Envelope(key=key, kind="reminder", from_addr="r@p.example.org", to=[f"{key}@bcc.example.org"])
        row = enqueue(session, envelope, RenderedEmail("S", "t", "<p>t</p>"), at=dt.datetime(2019, 5, 13, tzinfo=UTC))
        assert row is not None and row.id is not None
        return row.id

    failed, queued = email("gone"), email("later")
    row = session.get(OutboundEmail, failed)
    assert row is not None
    row.status, row.attempts, row.last_error = "failed", 1, "550 5.1.1 mailbox unavailable"
    session.commit()
    at = ["--at", "2019-05-13T10:00+01:00"]

    listed = CliRunner().invoke(app, [*at, "outbox"])
    assert listed.exit_code == 0, listed.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.output.splitlines() if line.startswith("│")]
    assert rows == [
        [
            str(failed),
            "failed",
            "reminder",
            "gone@bcc.example.org",
            "1",
            "2019-05-13 00:00",
            "550 5.1.1 mailbox unavailable",
        ],
        [str(queued), "queued", "reminder", "later@bcc.example.org", "0", "2019-05-13 00:00", ""],
    ]
    only_failed = CliRunner().invoke(app, [*at, "outbox", "--status", "failed"]).output
    assert "gone@" in only_failed and "later@" not in only_failed

    retried = CliRunner().invoke(app, [*at, "outbox", "retry", str(failed), "--by", "ann@p.example.org"])
    assert retried.exit_code == 0, retried.output
    assert f"email {failed} (reminder to gone@bcc.example.org): queued again, due now" in retried.output
    again = CliRunner().invoke(app, [*at, "outbox", "retry", str(failed)])
    assert again.exit_code == 1
    assert "it is already queued for 2019-05-13 09:00 UTC; dispatch sends it then" in again.output

    cancelled = CliRunner().invoke(app, [*at, "outbox", "cancel", str(queued), "--reason", "sent by hand"])
    assert cancelled.exit_code == 0, cancelled.output
    session.expire_all()
    assert [
        (e.actor, e.action, e.subject, e.at) for e in session.exec(select(AuditEvent).where(AuditEvent.id > 4))
    ] == [
        ("ann@p.example.org", "email.retry", f"email:{failed}", dt.datetime(2019, 5, 13, 9, 0, tzinfo=UTC)),
        (f"cli:{getpass.getuser()}", "email.cancel", f"email:{queued}", dt.datetime(2019, 5, 13, 9, 0, tzinfo=UTC)),
    ]
    assert [session.get(OutboundEmail, i).status for i in (failed, queued)] == ["queued", "cancelled"]  # type: ignore[union-attr]


def test_deploy_needs_the_prefect_server_the_workers_use(wide: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PREFECT_API_URL, Prefect would register to a throwaway server no worker ever sees: refused."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["deploy", "--pool", "reportcycle"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: set PREFECT_API_URL to the Prefect server the workers use (e.g. http://host:4200/api)"
    )
