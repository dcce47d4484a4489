"""`partnership load` of a changed file: each difference shown, then applied (or, with --dry-run, only shown); a
change it cannot apply refused in one line with the command that does it, and nothing of the file applied; a
date off the working days refused with the nearest ones; `partnership export` loads back the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import Session, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.cycle import Cycle
from models.partnership import Agency
from models.partnership_file import parse
from models.store import load_partnership
from reportcycle.cli import app
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from reportcycle.cli import common

    monkeypatch.setattr(common, "console", Console(width=250))
    monkeypatch.setattr(common, "err_console", Console(width=250, stderr=True))


def _changed(tmp_path: Path, *swaps: tuple[str, str]) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in swaps:
        assert old in text, f"test setup: {old!r} not in the example"
        text = text.replace(old, new, 1)
    path = tmp_path / "changed.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "bscb-logo.svg").write_bytes((EXAMPLE.parent / "bscb-logo.svg").read_bytes())  # read beside it
    return path


MOVED = ("contributions_due = 2019-05-20", "contributions_due = 2019-05-24")
RENAMED = ('name = "Birmingham City Council"', 'name = "Birmingham City Council (Children)"')


def _stored(session: Session) -> tuple[dt.date, str]:
    session.expire_all()
    cycle = session.exec(select(Cycle)).one()
    return cycle.contributions_due, session.exec(select(Agency.name).where(Agency.slug == "bcc")).one()


def test_a_moved_deadline_on_a_planned_cycle_is_shown_then_applied(session: Session, tmp_path: Path) -> None:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    path = _changed(tmp_path, MOVED, RENAMED)
    shown = [
        "bscb: 2 change(s)",
        "  - agency bcc: name Birmingham City Council → Birmingham City Council (Children)",
        "  - cycle 2018/19: deadline 20 May 2019 → 24 May 2019",
    ]

    dry = CliRunner().invoke(app, ["partnership", "load", "--dry-run", str(path)])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [*shown, "dry run: nothing was written"]
    assert _stored(session) == (dt.date(2019, 5, 20), "Birmingham City Council")

    done = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[:3] == shown
    assert _stored(session) == (dt.date(2019, 5, 24), "Birmingham City Council (Children)")
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "partnership.load")).all()[-1]
    assert audit.detail["changes"] == [line.removeprefix("  - ") for line in shown[1:]]

    again = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert again.output.splitlines()[0] == "bscb: no changes"


def test_an_open_cycles_deadline_is_refused_with_the_command_and_nothing_applied(
    session: Session, tmp_path: Path
) -> None:
    open_example_cycle(session)
    path = _changed(tmp_path, MOVED, RENAMED)
    result = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.splitlines() == [
        f"error: {path}: the file was not loaded; nothing was written.",
        "  - cycle 2018/19 is open: its deadline (20 May 2019 → 24 May 2019) cannot move by loading a file; move "
        "each agency's with `reportcycle --cycle 2018/19 extend AGENCY YYYY-MM-DD`",
    ]
    # The agency's new name was not applied either: all of the file, or none of it.
    assert _stored(session) == (dt.date(2019, 5, 20), "Birmingham City Council")


def test_a_contact_sent_links_is_not_removed_by_a_file(session: Session, tmp_path: Path) -> None:
    open_example_cycle(session)
    deputy = (
        '[[agencies.contacts]]\nrole = "deputy"\nname = "Dev Anand-Shaw"\nemail = "dev.anand-shaw@bcc.example.org"\n'
    )
    path = _changed(tmp_path, (deputy, ""))
    result = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  - agency bcc: the deputy contact Dev Anand-Shaw cannot be removed: they have been sent personal links, "
        "which the records keep; to hand the role to someone else, give their name and email in the file instead"
    ]


def test_a_bank_holiday_deadline_is_refused_with_the_nearest_working_days(session: Session, tmp_path: Path) -> None:
    path = _changed(tmp_path, ("contributions_due = 2019-05-20", "contributions_due = 2019-05-27"))
    result = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  - cycle 2018/19: the deadline date Monday 27 May 2019 is not a working day (Spring Bank Holiday); the "
        "nearest working days are Friday 24 May 2019 and Tuesday 28 May 2019"
    ]
    assert session.exec(select(Cycle)).first() is None


def test_the_export_loads_back_the_same(session: Session, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["partnership", "load", str(EXAMPLE)]).exit_code == 0
    out = tmp_path / "bscb.toml"
    exported = CliRunner().invoke(app, ["partnership", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert parse(out) == parse(EXAMPLE)
    loaded = CliRunner().invoke(app, ["partnership", "load", "--dry-run", str(out)])
    assert loaded.output.splitlines()[0] == "bscb: no changes"


def test_the_toml_written_reads_back_as_it_was() -> None:
    import tomllib

    from models.toml_out import dumps

    data = {
        "guidance": 'He said "yes"\nthen\ta back\\slash, £ and “quotes”\x07',
        "word_limit": 300,
        "value": 10.25,
        "required": False,
        "day": dt.date(2026, 5, 22),
        "cut_off": dt.time(17, 0),
        "before_days": [14, 7, 2],
        "rows": [{"label": "A", "value": 1.0}],
        "table": {"key": "x", "inner": [{"key": "y"}, {"key": "z"}]},
        "sections": [{"key": "a", "contacts": [{"name": "N", "role": "lead"}]}],
    }
    assert tomllib.loads(dumps(data, preamble="a comment")) == data


def test_a_partnership_stored_against_todays_rules_is_replaced_by_the_file(session: Session) -> None:
    from models.partnership import Partnership
    from tasks.desk.partnership_diff import UNREADABLE

    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    stored = session.exec(select(Partnership)).one()
    stored.from_address = "annual-report at bscb"  # as no file could have written it
    session.add(stored)
    session.commit()
    result = CliRunner().invoke(app, ["partnership", "load", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == ["bscb: 1 change(s)", f"  - {UNREADABLE}"]
    session.expire_all()
    assert session.exec(select(Partnership.from_address)).one() == "annual-report@bscb.example.org"
