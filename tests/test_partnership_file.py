"""Partnership files: the example, a second made-up partnership, and bad files refused whole."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.cycle import Cycle
from models.partnership import Agency, Contact, Partnership
from models.partnership_file import PartnershipFileError, parse
from models.store import load_partnership
from reportcycle.cli import app
from reportcycle.settings import PROJECT_ROOT
from tests.conftest import EXAMPLE, SECOND

AT = __import__("datetime").datetime(2019, 4, 1, 9, tzinfo=__import__("datetime").UTC)


def test_the_example_is_twelve_agencies_three_priorities_four_sections() -> None:
    spec = parse(EXAMPLE)
    assert [a.slug for a in spec.agencies] == [
        "bcc",
        "bct",
        "bsol-ccg",
        "bsmhft",
        "bchc",
        "bwc",
        "nps",
        "swm-crc",
        "swbh",
        "roh",
        "uhb",
        "wmp",
    ]
    assert [p.key for p in spec.priorities] == ["leadership", "child-protection", "early-help"]
    assert [s.title for s in spec.brief.sections] == [
        "Statutory role",
        "Activity against each priority",
        "Performance and impact",
        "Looking ahead",
    ]
    assert all(str(c.email).endswith(".example.org") for a in spec.agencies for c in a.contacts)
    assert len(spec.recipients) == 7
    assert str(spec.cycle.contributions_due) == "2019-05-20"
    assert spec.agencies[11].aliases == ("WMP",)
    assert spec.agencies[9].aliases == ("ROH", "The Royal Orthopedic Hospital NHS Trust", "Royal Orthopaedic Hospital")


def test_second_partnership_shares_nothing_with_the_first(session: Session) -> None:
    spec = parse(SECOND)
    assert len(spec.agencies) == 5 and len(spec.priorities) == 4
    assert [s.key for s in spec.brief.sections] == ["member-statement", "case-story", "next-year"]
    load_partnership(session, parse(EXAMPLE), at=AT, actor="test")
    load_partnership(session, spec, at=AT, actor="test")
    session.commit()
    assert session.exec(select(func.count()).select_from(Partnership)).one() == 2
    assert session.exec(select(func.count()).select_from(Agency)).one() == 17
    assert session.exec(select(func.count()).select_from(Cycle)).one() == 2


def test_loading_twice_updates_instead_of_duplicating(session: Session) -> None:
    first = load_partnership(session, parse(EXAMPLE), at=AT, actor="test")
    again = load_partnership(session, parse(EXAMPLE), at=AT, actor="test")
    session.commit()
    assert (first.agencies_added, again.agencies_added, again.agencies_updated) == (12, 0, 12)
    assert again.cycle_action == "updated"
    assert session.exec(select(func.count()).select_from(Contact)).one() == 35  # roh has no deputy


def test_nothing_names_the_example_outside_examples_and_tests() -> None:
    found = subprocess.run(
        ["git", "grep", "-il", "birmingham", "--", ".", ":!examples", ":!tests"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode in (0, 1), found.stderr
    assert found.stdout == ""


def _broken(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in the example"
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    _logo_beside(path)
    return path


def _logo_beside(path: Path) -> None:
    """The example names its logo file, which is read from beside the partnership file."""
    (path.parent / "bscb-logo.svg").write_bytes((EXAMPLE.parent / "bscb-logo.svg").read_bytes())


BAD_FILES = [
    # (what is changed, replaced by, the message must contain)
    ("[partnership]\n", '[partnership]\ncolor = "blue"\n', r"partnership\.color: unknown key \(remove it"),
    ('slug = "bct"', 'slug = "bcc"', r"duplicate agency slug 'bcc'"),
    (
        "contributions_due = 2019-05-20",
        "contributions_due = 2019-04-01",
        r"contributions_due \(2019-04-01\) must come after requests_on \(2019-04-15\)",
    ),
    ('@bcc.example.org"', '@@bcc"', r"agencies\[0:bcc\]\.contacts\[0\]\.email: value is not a valid email"),
    ('timezone = "Europe/London"', 'timezone = "Europe/Lndon"', r"unknown time zone 'Europe/Lndon'"),
    ('role = "lead"', 'role = "boss"', r"agencies\[0:bcc\]\.contacts\[0\]\.role: String should match"),
    # the same alias on two agencies (written differently: aliases are compared without case)
    (
        'aliases = ["BCC"]',
        'aliases = ["BCC", "bct"]',
        r"'BCT' would match two agencies: it is an alias of 'bcc' and an alias of 'bct'; .*remove it",
    ),
    (
        'aliases = ["WMP"]',
        'aliases = ["WMP", "National Probation Service"]',
        r"'National Probation Service' would match two agencies: it is the name of 'nps' and an alias of 'wmp'",
    ),
    ('aliases = ["NPS"]', 'aliases = ["NPS", "**"]', r"agencies\[6:nps\]: .*alias '\*\*', which has no letters"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_FILES)
def test_bad_file_is_refused_naming_file_field_and_fix(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(PartnershipFileError) as caught:
        parse(path)
    assert str(path) in str(caught.value)
    assert re.search(message, str(caught.value)), str(caught.value)


def test_missing_agencies_are_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "no-agencies.toml"
    path.write_text(text[: text.index("[[agencies]]")] + text[text.index("[[recipients]]") :], encoding="utf-8")
    _logo_beside(path)
    with pytest.raises(PartnershipFileError, match=r"agencies: Field required \(add it\)"):
        parse(path)


def test_agency_without_a_lead_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, 'role = "lead"', 'role = "deputy"')  # bcc now has two deputies and no lead
    with pytest.raises(PartnershipFileError, match="agency 'bcc' has no lead contact"):
        parse(path)


def test_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[partnership\nname = 1", encoding="utf-8")
    with pytest.raises(PartnershipFileError, match="not valid TOML"):
        parse(path)


def test_cli_refuses_a_bad_file_and_writes_nothing(tmp_path: Path, session: Session) -> None:
    path = _broken(tmp_path, 'slug = "bct"', 'slug = "bcc"')
    before = [session.exec(select(func.count()).select_from(t)).one() for t in (Partnership, Agency, AuditEvent)]
    result = CliRunner().invoke(app, ["partnership", "load", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nothing was written" in result.output and "duplicate agency slug 'bcc'" in result.output
    after = [session.exec(select(func.count()).select_from(t)).one() for t in (Partnership, Agency, AuditEvent)]
    assert before == after == [0, 0, 0]


def test_cli_loads_the_example(session: Session) -> None:
    result = CliRunner().invoke(app, ["partnership", "load", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "loaded bscb: 12 agencies added" in result.output
    assert session.exec(select(func.count()).select_from(Agency)).one() == 12
