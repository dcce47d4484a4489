"""The year runs itself, and publishing is deliberate: the annual-cycle flow with no cycle named opens a planned
cycle on its requests date, and publishes only a report the board signed off, on the day chosen for it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from flows.annual_cycle import annual_cycle_flow
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.report import Publication
from models.store import find_cycle, load_partnership
from reportcycle.cli import app
from reportcycle.mailsink import MailSink
from tasks.desk.sign_off import SignOffRefused, record_sign_off
from tasks.review.review import apply_decisions, record_decision
from tests.conftest import SECOND
from tests.helpers import local
from tests.test_second_half import AT, cycle_with_texts  # noqa: F401  (the fixture: Riverside, all submitted)

EVERYTHING = ("rbc-asc", "rpol", "ramb", "rha", "ricb", "chairs-foreword", "year-in-numbers", "looking-forward")


def test_a_planned_cycle_opens_on_its_requests_date_with_no_command(
    prefect: None, session: Session, mail: MailSink
) -> None:
    """Riverside's requests date is Monday 20 April 2026: the scheduled run (no cycle named) opens it then."""
    load_partnership(session, parse(SECOND), at=local("2026-04-01"), actor="test")
    session.commit()
    assert annual_cycle_flow(at=local("2026-04-17", "08:30")) == []  # the Friday before: nothing
    assert annual_cycle_flow(at=local("2026-04-19", "23:59")) == []  # nor the last minute of the day before
    assert find_cycle(session).status == "planned"
    done = annual_cycle_flow(at=local("2026-04-20", "08:30"))
    assert done[0] == "riverside-sab 2025/26: open"
    session.expire_all()
    assert find_cycle(session).status == "open"
    requests = select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "request")
    count = session.exec(requests).one()
    assert count > 0
    # run again the same morning: nothing is opened or asked twice
    assert "riverside-sab 2025/26: open" not in annual_cycle_flow(at=local("2026-04-20", "10:00"))
    assert session.exec(requests).one() == count


def _approve_everything(session: Session, cycle) -> None:  # type: ignore[no-untyped-def]
    for name in EVERYTHING:
        record_decision(session, cycle, name, "approve", at=AT, actor="chair")
    apply_decisions(session, cycle, at=AT, actor="t", base_url="http://x", templates_dir=_templates())
    session.commit()


def _templates():  # type: ignore[no-untyped-def]
    from reportcycle.settings import get_settings

    return get_settings().templates_dir


def test_publishing_waits_for_the_sign_off_and_the_chosen_day(
    prefect: None,
    session: Session,
    mail: MailSink,
    cycle_with_texts,  # noqa: F811
) -> None:
    _approve_everything(session, cycle_with_texts)
    # Everything approved: nothing publishes by itself.
    assert "riverside-sab 2025/26: publish" not in annual_cycle_flow(at=local("2026-06-10", "08:30"))
    session.expire_all()
    assert find_cycle(session).status == "in_review"
    # The board agreed it on Wednesday 10 June; the business manager chooses Friday 12 June.
    cycle = find_cycle(session)
    record_sign_off(
        session,
        cycle,
        signed_off_by="the Board at its meeting on 10 June",
        signed_off_on=dt.date(2026, 6, 10),
        publish_on=dt.date(2026, 6, 12),
        at=AT,
        actor="bm",
    )
    session.commit()
    assert "riverside-sab 2025/26: publish" not in annual_cycle_flow(at=local("2026-06-11", "08:30"))
    session.expire_all()
    assert find_cycle(session).status == "in_review"
    assert session.exec(select(Publication)).first() is None
    done = annual_cycle_flow(at=local("2026-06-12", "08:30"))
    assert "riverside-sab 2025/26: publish" in done
    session.expire_all()
    assert find_cycle(session).status == "published"
    notices = select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "published")
    assert session.exec(notices).one() == 13
    # A re-run changes nothing: one publication, the same notices.
    assert "riverside-sab 2025/26: publish" not in annual_cycle_flow(at=local("2026-06-12", "10:00"))
    assert session.exec(select(func.count()).select_from(Publication)).one() == 1
    assert session.exec(notices).one() == 13


def _refused(session: Session, cycle, **change: object) -> str:  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "signed_off_by": "the Board at its meeting on 10 June",
        "signed_off_on": dt.date(2026, 6, 10),
        "publish_on": dt.date(2026, 6, 12),
        **change,
    }
    with pytest.raises(SignOffRefused) as refusal:
        record_sign_off(session, cycle, at=AT, actor="bm", **values)  # type: ignore[arg-type]
    return f"{refusal.value.field}: {refusal.value}"


def test_the_sign_off_is_refused_with_the_field_and_the_reason(session: Session, cycle_with_texts) -> None:  # noqa: F811
    cycle = cycle_with_texts
    assert _refused(session, cycle).startswith(
        "who: The report is not ready to publish: still open: rbc-asc is submitted; rpol is submitted"
    )
    _approve_everything(session, cycle)
    assert _refused(session, cycle, signed_off_by="  ") == (
        "who: Enter who signed the report off, like the Board at its meeting on 12 June"
    )
    assert _refused(session, cycle, signed_off_on=dt.date(2026, 6, 11)) == (
        "agreed: The date the board agreed the report must be today or in the past, not Thursday 11 June 2026"
    )
    assert _refused(session, cycle, publish_on=dt.date(2026, 6, 9)) == (
        "publish-on: The day to publish must be today or later, not Tuesday 9 June 2026"
    )
    assert _refused(session, cycle, publish_on=dt.date(2026, 6, 13)) == (
        "publish-on: Saturday 13 June 2026 is at a weekend: choose a working day, like Friday 12 June 2026 "
        "or Monday 15 June 2026"
    )
    assert _refused(session, cycle, publish_on=dt.date(2026, 8, 31)) == (
        "publish-on: Monday 31 August 2026 is a bank holiday (Late Summer Bank Holiday): choose a working day, "
        "like Friday 28 August 2026 or Tuesday 1 September 2026"
    )
    assert find_cycle(session).publish_on is None


def test_cli_publish_records_the_sign_off_and_says_what_is_wrong_in_one_line(
    prefect: None,
    session: Session,
    mail: MailSink,
    cycle_with_texts,  # noqa: F811
) -> None:
    runner = CliRunner()
    at = ["--at", "2026-06-10T10:00+01:00"]

    def line(*args: str) -> str:
        result = runner.invoke(app, [*at, "publish", *args])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        # one message, though the console wraps it at the terminal's width
        assert result.output.count("error:") == 1
        return " ".join(result.output.split())

    _approve_everything(session, cycle_with_texts)
    assert line().startswith("error: the board's sign-off is not recorded: record it on the desk, or with")
    assert line("--on", "2026-06-12") == 'error: --agreed and --on go with --signed-off-by "who agreed the report"'
    assert line("--signed-off-by", "the Board", "--on", "12/06/2026") == (
        "error: --on '12/06/2026' is not a date; write it as YYYY-MM-DD"
    )
    assert line("--signed-off-by", "the Board", "--on", "2026-06-13") == (
        "error: Saturday 13 June 2026 is at a weekend: choose a working day, like Friday 12 June 2026 or "
        "Monday 15 June 2026"
    )
    later = runner.invoke(
        app, [*at, "publish", "--signed-off-by", "the Board at its meeting on 10 June", "--on", "2026-06-12"]
    )
    assert later.exit_code == 0, later.output
    assert "signed off; the morning run publishes it on Friday 12 June 2026" in later.output
    assert line() == "error: the report is to be published on Friday 12 June 2026; the morning run publishes it then"
    now = runner.invoke(app, [*at, "publish", "--signed-off-by", "the Board at its meeting on 10 June"])
    assert now.exit_code == 0, now.output
    assert "published to" in now.output
    session.expire_all()
    cycle = find_cycle(session)
    assert (cycle.status, cycle.board_signed_off_by, cycle.board_signed_off_on, cycle.publish_on) == (
        "published",
        "the Board at its meeting on 10 June",
        dt.date(2026, 6, 10),
        dt.date(2026, 6, 10),
    )
