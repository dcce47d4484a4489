"""The daily chase sweeps every running cycle of every partnership; the weekly summary goes once a week;
/health and `reportcycle status` say when no chase has run by the expected hour."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.chase import chase_all_flow
from flows.open_cycle import open_cycle_flow
from flows.weekly_summary import weekly_summary_flow
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.store import load_partnership
from portal.app import create_app
from reportcycle.cli import app
from reportcycle.clock import FixedClock
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tests.conftest import EXAMPLE, SECOND
from tests.email_reading import check_readable
from tests.helpers import flat, local

RIVERSIDE = ["rbc", "riverside-police", "riverside-ambulance", "riverside-housing", "riverside-icb"]


def _load(session: Session, *files: object) -> None:
    for f in files:
        load_partnership(session, parse(f), at=local("2019-04-01"), actor="test")  # type: ignore[arg-type]
    session.commit()


def test_chase_with_no_cycle_named_sweeps_every_partnership(
    prefect: None, database_url: str, mail: MailSink, session: Session
) -> None:
    _load(session, EXAMPLE, SECOND)
    open_cycle_flow("bscb", "2018/19", local("2019-04-15", "09:00"))
    open_cycle_flow("riverside-sab", "2025/26", local("2026-04-20", "08:45"))
    # Before, a chase with no cycle named refused ("more than one cycle matches"); now it sweeps both.
    result = CliRunner().invoke(app, ["--at", "2026-06-03T09:40+01:00", "chase"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "bscb 2018/19 on 2026-06-03: queued" in out
    assert "riverside-sab 2025/26 on 2026-06-03: queued 5" in out
    reports = chase_all_flow(at=local("2026-06-03", "09:40"))  # the same instant again: nothing new
    assert [(r.cycle, r.emails) for r in reports] == [("bscb 2018/19", []), ("riverside-sab 2025/26", [])]
    digests = session.exec(select(OutboundEmail.to_addrs).where(OutboundEmail.kind == "digest")).all()
    assert sorted(d[0] for d in digests) == sorted(["tamsin.greaves@riverside-sab.example.net", _bscb_manager()])
    reminders = [r for r in mail.received if r.kind == "reminder"]
    # one reminder per riverside agency, to its lead and deputy together (bscb is long past its reminders)
    assert sorted(str(r.message["To"]).split("@")[1].split(".")[0] for r in reminders) == sorted(RIVERSIDE)


def _bscb_manager() -> str:
    return str(parse(EXAMPLE).partnership.business_manager.email)


def test_weekly_summary_once_a_week_and_not_on_a_bank_holiday(
    prefect: None, database_url: str, mail: MailSink, session: Session
) -> None:
    _load(session, SECOND)
    open_cycle_flow(at=local("2026-04-20", "08:45"))
    days = {
        "2026-05-25": 0,  # Spring bank holiday (Monday): nothing
        "2026-05-26": 1,  # the first working day of week 22
        "2026-05-27": 0,  # already sent this week
        "2026-06-01": 1,  # week 23
    }
    for day, expected in days.items():
        results = weekly_summary_flow(at=local(day, "09:00"))
        assert sum(r.queued for r in results) == expected, day
    summaries = [r for r in mail.received if r.kind == "weekly_summary"]
    # what and when first, under 80 characters
    assert [str(r.message["Subject"]) for r in summaries] == [
        "Weekly summary, Tue 26 May: 5 requested (2025/26)",
        "Weekly summary, Mon 1 Jun: 5 requested (2025/26)",
    ]
    assert check_readable(r.message for r in summaries) == {"weekly_summary"}
    assert {r.rcpt_tos for r in summaries} == {("tamsin.greaves@riverside-sab.example.net",)}
    body = summaries[0].message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Contributions due: Friday 5 June 2026 (10 days to go)" in flat(text)
    assert "No agency is overdue." in text


def test_health_and_status_alert_when_no_chase_by_eleven(
    prefect: None, database_url: str, mail: MailSink, session: Session
) -> None:
    _load(session, SECOND)
    open_cycle_flow(at=local("2026-04-20", "08:45"))
    clock = FixedClock(local("2026-05-29", "10:30"))  # a Friday no other test chases on
    with TestClient(create_app(get_settings(), clock)) as client:
        early = client.get("/health")
        assert early.status_code == 200, early.json()
        assert {k: early.json()[k] for k in ("status", "database", "smtp", "prefect", "chase_alert")} == {
            "status": "ok",
            "database": "ok",
            "smtp": "ok",
            "prefect": "ok",
            "chase_alert": None,
        }
        clock.set(local("2026-05-29", "11:30"))
        late = client.get("/health")
        assert late.status_code == 503
        assert late.json()["status"] == "failing"
        assert late.json()["chase_alert"].startswith(
            "no chase has run today (Friday 29 May 2026) by 11:00 Europe/London for riverside-sab 2025/26; "
        )
        status = CliRunner().invoke(app, ["--at", "2026-05-29T11:30+01:00", "status"])
        assert status.exit_code == 1, status.output  # an alert is a failing check: a monitor reads the code
        assert "ALERT: no chase has run today (Friday 29 May 2026)" in " ".join(status.output.split())

        chase_all_flow(at=local("2026-05-29", "11:40"))
        clock.set(local("2026-05-29", "11:45"))
        after = client.get("/health")
        assert after.status_code == 200, after.json()
        assert after.json()["last_chase"] == "2026-05-29T10:40:00+00:00"

        clock.set(local("2026-05-25", "12:00"))  # a bank holiday: no chase expected
        assert client.get("/health").json()["chase_alert"] is None

    with MailSink() as elsewhere:
        port = elsewhere.port
    s = get_settings().model_copy(update={"smtp_port": port})  # nothing listens there now
    with TestClient(create_app(s, FixedClock(local("2026-05-29", "10:30")))) as client:
        down = client.get("/health")
    assert down.status_code == 503
    assert down.json()["smtp"].startswith(f"failing: 127.0.0.1:{port}: ")
