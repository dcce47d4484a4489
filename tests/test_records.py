"""Revisions and audit events: append-only, numbered, hashed; bad submissions change nothing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent, record
from models.cycle import Contribution, Revision
from models.partnership_file import parse
from models.revisions import IncompleteContribution, add_revision, content_hash
from models.store import cycle_values, find_cycle, load_partnership
from models.types import AppendOnlyViolation
from reportcycle.settings import PROJECT_ROOT
from tasks.contributions.submission import SubmissionFileError, split_sections
from tests.conftest import EXAMPLE

AT = dt.datetime(2019, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def contribution(session: Session) -> Contribution:
    load_partnership(session, parse(EXAMPLE), at=AT, actor="test")
    cycle = find_cycle(session)
    c = Contribution(
        cycle_id=cycle.id or 0,
        agency_id=1,
        status="requested",
        due_date=dt.date(2019, 5, 20),
        cut_off=dt.time(17),
        deadline_set_on=dt.date(2019, 4, 15),
    )
    session.add(c)
    session.commit()
    return c


SECTIONS = {"statutory-role": "<p>Role</p>", "priority-activity": "<p>Work</p>", "looking-ahead": "<p>Next</p>"}


def test_revisions_are_numbered_hashed_and_immutable(session: Session, contribution: Contribution) -> None:
    brief = cycle_values(find_cycle(session))[0]
    first = add_revision(session, contribution, SECTIONS, brief=brief, source="cli", at=AT, actor="a")
    second = add_revision(
        session, contribution, {**SECTIONS, "performance": "<p>Data</p>"}, brief=brief, source="cli", at=AT, actor="a"
    )
    session.commit()
    assert (first.number, second.number, contribution.current_revision) == (1, 2, 2)
    assert first.content_hash == content_hash({**SECTIONS, "performance": ""}) != second.content_hash
    assert len(first.content_hash) == 64
    first.sections = {"statutory-role": "<p>rewritten</p>"}
    session.add(first)
    with pytest.raises(AppendOnlyViolation, match="Revision rows are append-only: update refused"):
        session.commit()
    session.rollback()
    assert session.get(Revision, first.id).sections["statutory-role"] == "<p>Role</p>"  # type: ignore[union-attr]


def test_missing_required_section_is_refused_and_changes_nothing(session: Session, contribution: Contribution) -> None:
    brief = cycle_values(find_cycle(session))[0]
    with pytest.raises(IncompleteContribution, match="required section\\(s\\) empty: Looking ahead"):
        add_revision(
            session, contribution, {**SECTIONS, "looking-ahead": " "}, brief=brief, source="cli", at=AT, actor="a"
        )
    session.rollback()
    assert session.exec(select(Revision)).all() == []
    assert session.get(Contribution, contribution.id).status == "requested"  # type: ignore[union-attr]


def test_audit_events_cannot_be_changed_or_deleted(session: Session) -> None:
    event = record(session, at=AT, actor="a", action="test", subject="x:1", note="first")
    session.commit()
    session.delete(event)
    with pytest.raises(AppendOnlyViolation, match="delete refused"):
        session.commit()
    session.rollback()
    assert session.exec(select(AuditEvent)).one().detail == {"note": "first"}


def test_submission_file_is_split_by_the_brief_headings(session: Session, tmp_path: Path) -> None:
    load_partnership(session, parse(EXAMPLE), at=AT, actor="test")
    brief = cycle_values(find_cycle(session))[0]
    good = tmp_path / "good.md"
    good.write_text(
        "# Statutory Role\n\nWe **lead**.<script>alert(1)</script>\n\n#### Our team\n\n"
        "## looking-ahead\n\n- a\n- [b](javascript:alert(2))\n",
        encoding="utf-8",
    )
    assert split_sections(good, brief) == {
        # sanitised Markdown; the agency's own sub-headings sit one level below the brief's sections
        "statutory-role": "<p>We <strong>lead</strong>.</p>\n<h5>Our team</h5>",
        "looking-ahead": '<ul>\n<li>a</li>\n<li><a rel="noopener noreferrer">b</a></li>\n</ul>',
    }
    stray = tmp_path / "stray.md"
    stray.write_text("## Statutory role\n\nx\n\n## Our vision\n\ny\n", encoding="utf-8")
    with pytest.raises(SubmissionFileError, match=r"stray.md:5: heading 'Our vision' matches no section"):
        split_sections(stray, brief)


def test_only_the_clock_module_reads_the_system_time() -> None:
    # The offender is handed to ruff on stdin under a name in tasks/, so nothing is written into the source tree
    # (where another test process could see it).
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ruff"),
            "check",
            "--select",
            "TID251",
            "--stdin-filename",
            "tasks/_clock_offender_test.py",
        ],
        input="import datetime as dt\n\nNOW = dt.datetime.now(dt.UTC)\nTODAY = dt.date.today()\n",
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "`datetime.datetime.now` is banned" in result.stdout
    assert "`datetime.date.today` is banned" in result.stdout
    clean = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--select", "TID251", "models", "tasks", "flows"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert clean.returncode == 0, clean.stdout
