"""`import-report`: a previous annual report (Markdown) becomes last year's approved contributions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.cycle import Contribution, Cycle, Revision
from models.partnership_file import parse
from models.store import NotFound, contribution_for, find_agency, find_cycle, load_partnership
from reportcycle.cli import app
from tasks.contributions.content import html_to_markdown
from tasks.contributions.working_copy import last_year
from tasks.years.import_report import ReportImportError, import_report
from tasks.years.report_chapters import find_chapters, place
from tests.conftest import EXAMPLE
from tests.helpers import local

REFERENCE = EXAMPLE.parent / "bscb-2018-19" / "annual-report-2018-19.md"  # the published 2018/19 report
AT = local("2019-04-02", "10:00")
TWELVE = ["bcc", "bct", "bsol-ccg", "bsmhft", "bchc", "bwc", "nps", "swm-crc", "swbh", "roh", "uhb", "wmp"]

# A made-up report: agencies at two levels, one by an alias, a chapter's own heading at its level,
# sub-headings that are the brief's titles, a priority's title, and none at all.
SMALL = """# Annual Report 2017/18

## Foreword

The Chair's words.

## Part 4 – Partners

Introduction to the part.

### BCC

Schools text.

#### Our schools

More schools.

### West Midlands Police

We police.

#### Looking ahead to next year

More.

### WMP custody

Custody text.

## National Probation Service

Probation text.

### Strong leadership and strong partnership

Lead text.

## Glossary

Terms.
"""


def _count(session: Session, table: type) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(table)).one()


def _counts(session: Session) -> tuple[int, int, int, int]:
    return (
        _count(session, Cycle),
        _count(session, Contribution),
        _count(session, Revision),
        _count(session, AuditEvent),
    )


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables and messages to the terminal's width (and folds long temporary paths)."""
    from reportcycle.cli import common as cli

    monkeypatch.setattr(cli, "console", Console(width=250))
    monkeypatch.setattr(cli, "err_console", Console(width=250, stderr=True))


@pytest.fixture
def loaded(session: Session) -> Session:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    return session


def _sections(session: Session, cycle: Cycle, slug: str) -> dict[str, str]:
    contribution = contribution_for(session, cycle, find_agency(session, cycle, slug))
    revision = session.exec(select(Revision).where(Revision.contribution_id == contribution.id)).one()
    return {k: html_to_markdown(v) for k, v in revision.sections.items() if v}


def test_the_reference_report_gives_all_twelve_agencies(loaded: Session) -> None:
    spec = parse(EXAMPLE)
    report = import_report(loaded, spec, REFERENCE.read_text(encoding="utf-8"), source="ref.md", at=AT, actor="t")
    loaded.commit()

    assert [c.slug for c in report.chapters] == TWELVE
    assert report.missing == []
    assert next(c for c in report.chapters if c.slug == "roh").heading == "The Royal Orthopedic Hospital NHS Trust"
    assert (report.label, report.title) == ("2017/18", "Annual Report 2017/18")
    assert (report.period_start, report.period_end) == (dt.date(2017, 4, 1), dt.date(2018, 3, 31))
    assert report.notes == [
        "the report's title 'Annual Report 2018/19' names other years than 2017/18 (2017-04-01 to 2018-03-31), "
        "the year it was imported as; if that is wrong, give --label, --period-start and --period-end"
    ]

    cycle = find_cycle(loaded, "bscb", "2017/18")
    assert cycle.status == "closed"
    rows = loaded.exec(select(Contribution).where(Contribution.cycle_id == cycle.id)).all()
    assert sorted(c.status for c in rows) == ["approved"] * 12

    bcc = _sections(loaded, cycle, "bcc")
    assert bcc["statutory-role"].startswith("Birmingham City Council (BCC) has responsibility for a wide range")
    assert "Since 1 April 2018 children's social care" not in " ".join(bcc.values())  # that is the next chapter
    assert bcc["looking-ahead"].startswith("There are three key challenges to be addressed next year:")
    wmp = _sections(loaded, cycle, "wmp")
    assert wmp["statutory-role"].startswith("West Midlands Police (WMP) vision is 'Preventing crime, protecting")
    assert "Safeguarding Priorities 2019-21" not in " ".join(wmp.values())  # Part 5 is not the police's
    # the community rehabilitation company (##) ends where the hospital trust (###) begins
    crc = " ".join(_sections(loaded, cycle, "swm-crc").values())
    assert "Sandwell and West Birmingham Hospitals NHS Trust (SWBT)" not in crc
    # the orthopaedic hospital's own headings at its chapter's level stay in its chapter
    assert "### Training and education" in _sections(loaded, cycle, "roh")["statutory-role"]

    events = loaded.exec(select(AuditEvent).where(AuditEvent.action == "cycle.import")).all()
    assert [(e.cycle_id, e.detail["source"], e.detail["not_found"]) for e in events] == [(cycle.id, "ref.md", [])]


def test_the_file_cycle_is_then_offered_the_imported_text(loaded: Session) -> None:
    import_report(loaded, parse(EXAMPLE), REFERENCE.read_text(encoding="utf-8"), source="ref.md", at=AT, actor="t")
    loaded.commit()
    this_year = find_cycle(loaded, "bscb", "2018/19")
    offered = last_year(loaded, this_year, find_agency(loaded, this_year, "nps"))
    assert offered["statutory-role"].startswith("The National Probation Service (NPS) is a public-sector")
    assert offered["priority-activity"].startswith("#### Strong leadership and strong partnership")


def test_chapters_are_found_by_name_and_alias_and_placed_by_the_brief() -> None:
    spec = parse(EXAMPLE)
    found = find_chapters(SMALL, spec.agencies, [c.title for c in spec.central_sections])
    assert [(c.slug, c.heading, c.line, c.level) for c in found.found] == [
        ("bcc", "BCC", 11, 3),
        ("wmp", "West Midlands Police", 19, 3),
        ("nps", "National Probation Service", 31, 2),
    ]
    assert found.missing == ["bct", "bsol-ccg", "bsmhft", "bchc", "bwc", "swm-crc", "swbh", "roh", "uhb"]

    bcc = place(found.found[0], spec.brief, spec.priorities)
    assert (bcc.split, bcc.sections) == (
        False,
        {"statutory-role": "Schools text.\n\n### Our schools\n\nMore schools."},
    )
    assert bcc.where(spec.brief) == "all in statutory-role (no sub-heading matches the brief)"

    wmp = place(found.found[1], spec.brief, spec.priorities)
    assert wmp.sections == {
        "statutory-role": "We police.",
        "looking-ahead": "More.\n\n### WMP custody\n\nCustody text.",
    }
    assert wmp.where(spec.brief) == "statutory-role (2), looking-ahead (5)"

    nps = place(found.found[2], spec.brief, spec.priorities)
    assert nps.sections == {
        "statutory-role": "Probation text.",
        "priority-activity": "### Strong leadership and strong partnership\n\nLead text.",
    }
    assert nps.words == 2 + 7


def test_cli_imports_once_then_refuses_and_writes_nothing(loaded: Session, tmp_path: Path) -> None:
    report = tmp_path / "old.md"
    report.write_text(SMALL, encoding="utf-8")
    args = ["--at", "2019-04-02T10:00+01:00", "import-report", str(report), "--partnership", str(EXAMPLE)]

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "bscb 2017/18: Annual Report 2017/18 (2017-04-01 to 2018-03-31), imported 3 of 12" in out
    assert "│ wmp │ West Midlands Police │ 19 │ 7 │ statutory-role (2), looking-ahead (5) │" in out
    assert "not found: roh: no heading is 'The Royal Orthopaedic Hospital NHS Foundation Trust', 'ROH'" in out
    before = _counts(loaded)
    assert before[:3] == (2, 3, 3)

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1
    assert "Traceback" not in again.output
    assert "error: bscb already has a cycle '2017/18' (closed); nothing was imported" in " ".join(again.output.split())
    assert _counts(loaded) == before


def test_dry_run_shows_the_import_and_writes_nothing(loaded: Session, tmp_path: Path) -> None:
    report = tmp_path / "old.md"
    report.write_text(SMALL, encoding="utf-8")
    before = _counts(loaded)
    result = CliRunner().invoke(app, ["import-report", str(report), "--partnership", str(EXAMPLE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would import 3 of 12" in " ".join(result.output.split())
    assert "dry run: nothing was written" in result.output
    assert _counts(loaded) == before


def test_a_report_with_no_agency_heading_is_refused(loaded: Session, tmp_path: Path) -> None:
    report = tmp_path / "minutes.md"
    report.write_text("# Minutes\n\n## Apologies\n\nBirmingham City Council sent apologies.\n", encoding="utf-8")
    before = _counts(loaded)
    result = CliRunner().invoke(app, ["import-report", str(report), "--partnership", str(EXAMPLE)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "error: minutes.md: no heading names an agency of bscb, so nothing was imported" in out
    assert "'## Birmingham City Council'" in out and "aliases" in out
    assert _counts(loaded) == before


def test_an_explicit_year_and_an_overlapping_one(loaded: Session) -> None:
    spec = parse(EXAMPLE)
    report = import_report(
        loaded,
        spec,
        SMALL,
        source="old.md",
        at=AT,
        actor="t",
        label="2016/17",
        period_start=dt.date(2016, 4, 1),
        period_end=dt.date(2017, 3, 31),
    )
    assert (report.label, report.title) == ("2016/17", "Annual Report 2016/17")  # the file's title, 2 years back
    cycle = find_cycle(loaded, "bscb", "2016/17")
    # the other dates keep the file's distance from the period's end (15, 50, 82 and 122 days)
    assert (cycle.requests_on, cycle.contributions_due, cycle.review_due, cycle.publish_by) == (
        dt.date(2017, 4, 15),
        dt.date(2017, 5, 20),
        dt.date(2017, 6, 21),
        dt.date(2017, 7, 31),
    )
    with pytest.raises(ReportImportError, match=r"overlaps cycle 2018/19 \(2018-04-01 to 2019-03-31\)"):
        import_report(
            loaded,
            spec,
            SMALL,
            source="old.md",
            at=AT,
            actor="t",
            label="odd",
            period_start=dt.date(2018, 10, 1),
            period_end=dt.date(2019, 9, 30),
        )
    with pytest.raises(ReportImportError, match="give both --period-start and --period-end"):
        import_report(loaded, spec, SMALL, source="old.md", at=AT, actor="t", period_start=dt.date(2016, 4, 1))


def test_a_partnership_not_loaded_is_refused(session: Session) -> None:
    with pytest.raises(NotFound, match=r"'bscb' is not in the database; load its file first"):
        import_report(session, parse(EXAMPLE), SMALL, source="old.md", at=AT, actor="t")


def test_a_report_that_cannot_be_read_is_refused(loaded: Session, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.md"
    result = CliRunner().invoke(app, ["import-report", str(missing), "--partnership", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "nowhere.md: cannot read it as UTF-8 text" in " ".join(result.output.split())
    latin = tmp_path / "latin.md"
    latin.write_bytes("## Caf\xe9\n".encode("latin-1"))
    result = CliRunner().invoke(app, ["import-report", str(latin), "--partnership", str(EXAMPLE)])
    assert result.exit_code == 1
    assert "save the report as UTF-8 Markdown" in " ".join(result.output.split())
