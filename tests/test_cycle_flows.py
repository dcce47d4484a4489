"""Open and chase over real SMTP: a scripted stretch of the example cycle, checked against a
hand-written table of who got which email on which local date."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from prefect import tags
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from rich.console import Console
from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.chase import chase_flow
from flows.dispatch import dispatch_flow
from flows.open_cycle import open_cycle_flow
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership_file import parse
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from reportcycle.cli import app
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tasks.contributions.submission import submit_file
from tasks.desk.desk import excuse, extend
from tests.conftest import EXAMPLE
from tests.helpers import counts, expand, local, received_table

ALL = "bcc*2 bct*2 bsol-ccg*2 bsmhft*2 bchc*2 bwc*2 nps*2 swm-crc*2 swbh*2 roh uhb*2 wmp*2"
LATE = "bsol-ccg bsmhft bchc bwc swbh roh uhb wmp"  # never answer in this stretch

# Deadline Monday 20 May 2019, 17:00. Bank holidays: 19 and 22 April (Easter), 6 and 27 May.
EXPECTED = [
    ("2019-04-15", "request", ALL),  # one per lead and deputy; roh has no deputy
    ("2019-04-30", "receipt", "bcc"),  # bcc submits before any reminder
    ("2019-05-03", "reminder", "bct nps swm-crc " + LATE),  # 14 days before is 6 May, a bank holiday
    ("2019-05-08", "receipt", "bct"),  # bct submits after one reminder
    ("2019-05-13", "reminder", "nps swm-crc " + LATE),  # 7 days before
    ("2019-05-14", "extension", "nps"),  # given until Monday 3 June; its ladder starts again from that date
    ("2019-05-17", "reminder", "swm-crc " + LATE),  # 2 days before is a Saturday: the Friday
    ("2019-05-20", "reminder", "nps"),  # 14 days before 3 June
    ("2019-05-21", "overdue", "swm-crc " + LATE),  # the first working day after the deadline
    # 22 May: swm-crc is excused by the business manager
    ("2019-05-24", "overdue", LATE),  # 3 working days on
    ("2019-05-24", "reminder", "nps"),  # 7 days before 3 June is 27 May, a bank holiday
    ("2019-05-28", "escalation", LATE),  # 5 working days overdue, skipping 27 May
    ("2019-05-30", "overdue", LATE),
    # the business manager's digest after every chase run that did something (bscb.example.org)
    *[
        (day, "digest", "bscb")
        for day in (
            "2019-05-03",
            "2019-05-13",
            "2019-05-17",
            "2019-05-20",
            "2019-05-21",
            "2019-05-24",
            "2019-05-28",
            "2019-05-30",
        )
    ],
]


def _act(url: str, day: str, what: str, slug: str, tmp_path: Path) -> None:
    from flows._runtime import in_session

    at = local(day, "10:00")
    settings = get_settings()

    def work(s: Session) -> None:
        cycle = find_cycle(s)
        agency = find_agency(s, cycle, slug)
        contribution = contribution_for(s, cycle, agency)
        if what == "submit":
            text = tmp_path / f"{slug}.md"
            text.write_text(
                "## Statutory role\n\nWe lead on safeguarding.\n\n## Activity against each priority\n\n- one\n- two\n\n"
                "## Looking ahead\n\nMore of the same.\n",
                encoding="utf-8",
            )
            submit_file(
                s,
                cycle,
                agency,
                contribution,
                text,
                at=at,
                actor=f"lead@{slug}",
                base_url=settings.public_base_url,
                templates_dir=settings.templates_dir,
            )
        elif what == "extend":
            extend(
                s,
                cycle,
                contribution,
                dt.date(2019, 6, 3),
                at=at,
                actor="manager",
                base_url=settings.public_base_url,
                templates_dir=settings.templates_dir,
            )
        elif what == "excuse":
            excuse(s, contribution, at=at, actor="manager", reason="test")

    in_session(settings, work, dry_run=False)
    dispatch_flow(at)


ACTIONS = {
    "2019-04-30": [("submit", "bcc")],
    "2019-05-08": [("submit", "bct")],
    "2019-05-14": [("extend", "nps")],
    "2019-05-22": [("excuse", "swm-crc")],
}


def _flow_runs(tag: str) -> list:  # type: ignore[type-arg]
    async def read() -> list:  # type: ignore[type-arg]
        async with get_client() as client:
            return await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])))

    return asyncio.run(read())


def test_scripted_stretch_of_the_example_cycle(
    prefect: None, database_url: str, mail: MailSink, session: Session, tmp_path: Path
) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="test")
    session.commit()
    tag = f"stretch-{tmp_path.name}"
    chase_runs = 0
    with tags(tag):
        opened = open_cycle_flow(at=local("2019-04-15", "09:00"))
        assert len(opened.emails) == 23 and opened.contributions_created == 12
        before = counts(session)
        again = open_cycle_flow(at=local("2019-04-15", "09:00"))
        assert again.emails == [] and again.contributions_created == 0
        assert counts(session) == before, "opening twice at the same instant must add nothing"

        day = dt.date(2019, 4, 15)
        while day <= dt.date(2019, 5, 30):
            iso = day.isoformat()
            if iso == "2019-05-24":  # a dry run first: it reports the day's work and writes nothing
                snapshot, received = counts(session), len(mail.received)
                dry = chase_flow(at=local(iso), dry_run=True)
                chase_runs += 1
                assert sorted((e.agency, e.kind) for e in dry.emails) == sorted(
                    [(a, "overdue") for a in LATE.split()] + [("nps", "reminder")]
                )
                assert counts(session) == snapshot and len(mail.received) == received
            report = chase_flow(at=local(iso))
            chase_runs += 1
            if iso == "2019-05-21":  # the same run again at the same instant adds nothing
                snapshot, received = counts(session), len(mail.received)
                assert chase_flow(at=local(iso)).emails == []
                chase_runs += 1
                assert counts(session) == snapshot and len(mail.received) == received
            if day.weekday() >= 5 or iso in ("2019-04-19", "2019-04-22", "2019-05-06", "2019-05-27"):
                assert report.skipped_because and "not a working day" in report.skipped_because
            for what, slug in ACTIONS.get(iso, []):
                _act(database_url, iso, what, slug, tmp_path)
            day += dt.timedelta(days=1)

    assert received_table(mail) == expand(EXPECTED)

    # Every message received is a sent outbox row (by Message-ID), and every sent row was received.
    rows = session.exec(select(OutboundEmail)).all()
    sent_ids = sorted(r.message_id for r in rows if r.status == OutboxStatus.sent)
    assert sorted(r.message_id for r in mail.received) == sent_ids
    assert len(sent_ids) == len(mail.received) == sum(expand(EXPECTED).values())
    assert all(r.smtp_reply == "2.0.0 Message accepted" for r in rows if r.status == OutboxStatus.sent)

    # Escalations go to the senior contact with the business manager copied.
    spec = parse(EXAMPLE)
    manager = str(spec.partnership.business_manager.email)
    seniors = {a.slug: str(c.email) for a in spec.agencies for c in a.contacts if c.role == "senior"}
    escalations = [r for r in mail.received if r.kind == "escalation"]
    assert {str(r.message["To"]) for r in escalations} == {seniors[a] for a in LATE.split()}
    assert all(str(r.message["Cc"]) == manager for r in escalations)
    assert all(set(r.rcpt_tos) == {str(r.message["To"]), manager} for r in escalations)

    # The flow runs are there in Prefect, named for what they did, all completed.
    runs = _flow_runs(tag)
    chases = [r for r in runs if r.name.startswith("chase")]
    assert len(chases) == chase_runs
    assert {r.state_type.value for r in runs} == {"COMPLETED"}
    assert any(r.name == "chase 2019-05-28 08:30 UTC" for r in chases)
    assert any(r.name == "chase 2019-05-24 08:30 UTC (dry run)" for r in chases)
    assert sum(r.name.startswith("open") for r in runs) == 2


def test_status_after_opening_shows_every_agency(
    prefect: None, database_url: str, mail: MailSink, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportcycle.cli import common as cli

    monkeypatch.setattr(cli, "console", Console(width=200))
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="test")
    session.commit()
    open_cycle_flow(at=local("2019-04-15", "09:00"))
    result = CliRunner().invoke(app, ["--at", "2019-05-21T10:00+01:00", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("overdue") == 12
    assert "Mon 20 May 2019 17:00" in result.output
    assert "2019-04-15 09:00" in result.output  # last activity, in local time


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["extend", "nobody", "2019-06-01"], "no agency 'nobody' in this partnership; known agencies: bcc, bchc"),
        (["extend", "bcc", "first of june"], "'first of june' is not a date; write it as YYYY-MM-DD"),
        (["extend", "bcc", "2019-04-01"], "the new deadline 2019-04-01 is not after today"),
        (["submit", "bcc", "/nonexistent.md"], "cannot read it as UTF-8 text"),
        (["--at", "2019-05-21T10:00", "status"], "has no UTC offset"),
    ],
)
def test_cli_errors_are_one_clear_line(
    prefect: None, database_url: str, mail: MailSink, session: Session, args: list[str], message: str
) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="test")
    session.commit()
    open_cycle_flow(at=local("2019-04-15", "09:00"))
    result = CliRunner().invoke(app, ["--at", "2019-04-20T10:00+01:00", *args] if args[0] != "--at" else args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_open_dry_run_writes_nothing_then_links_are_stored_hashed(
    prefect: None, database_url: str, mail: MailSink, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from reportcycle.cli import common as cli
    from tasks.links.tokens import hash_token

    monkeypatch.setattr(cli, "console", Console(width=250))
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="test")
    session.commit()
    before = counts(session)
    dry = CliRunner().invoke(app, ["--at", "2019-04-15T09:00+01:00", "cycle", "open", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would queue 23 requests" in dry.output
    assert counts(session) == before and mail.received == []
    assert find_cycle(session).status == "planned"

    real = CliRunner().invoke(app, ["--at", "2019-04-15T09:00+01:00", "cycle", "open"])
    assert real.exit_code == 0, real.output
    assert "queued 23 requests" in real.output
    assert len(mail.received) == 23
    from models.cycle import PersonalLink
    from models.partnership import Contact

    for r in mail.received:
        body = r.message.get_body(("plain",)).get_content()
        (token,) = re.findall(r"http://127\.0\.0\.1:8000/c/([A-Za-z0-9_-]{43})", body)
        link = session.exec(select(PersonalLink).where(PersonalLink.token_hash == hash_token(token))).one()
        contact = session.get(Contact, link.contact_id)
        assert contact is not None and contact.email == str(r.message["To"])
        assert link.expires_at - link.created_at == dt.timedelta(days=120)
        assert token not in str(link.model_dump())
