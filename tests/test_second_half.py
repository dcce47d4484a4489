"""Collate, review and publish as reconcilers: re-runs, refusals, stale decisions, an interrupted publish."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from models.cycle import ReviewDecision
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.report import Draft, Publication
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from reportcycle.cli import app
from reportcycle.settings import get_settings
from tasks.contributions.submission import submit_file
from tasks.desk.central import set_central_text
from tasks.desk.sign_off import record_sign_off
from tasks.report.collate import collate
from tasks.report.publish import AlreadyPublished, NotReadyToPublish, publish
from tasks.review.review import ReviewError, apply_decisions, record_decision
from tests.conftest import SECOND
from tests.helpers import local

AT = local("2026-06-10", "10:00")


@pytest.fixture
def cycle_with_texts(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Riverside, opened by hand: every agency has submitted, every central section has text."""
    from tasks.asking.cycle_open import open_cycle

    monkeypatch.setenv("REPORTCYCLE_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    s = get_settings()
    spec = parse(SECOND)
    load_partnership(session, spec, at=local("2026-04-01"), actor="test")
    cycle = find_cycle(session)
    open_cycle(
        session,
        cycle,
        at=local("2026-04-20", "09:00"),
        actor="test",
        base_url=s.public_base_url,
        link_valid_days=30,
        templates_dir=s.templates_dir,
    )
    texts = SECOND.with_suffix("")
    for a in spec.agencies:
        agency = find_agency(session, cycle, a.slug)
        submit_file(
            session,
            cycle,
            agency,
            contribution_for(session, cycle, agency),
            texts / "contributions" / f"{a.slug}.md",
            at=local("2026-06-01"),
            actor="lead",
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
        )
    for c in spec.central_sections:
        set_central_text(session, cycle, c.key, (texts / "central" / f"{c.key}.md").read_text(), at=AT, actor="bm")
    session.commit()
    return cycle


def _kw() -> dict:  # type: ignore[type-arg]
    s = get_settings()
    return {"output_dir": s.output_dir, "templates_dir": s.templates_dir}


def test_collating_twice_returns_the_same_draft(session: Session, cycle_with_texts) -> None:  # type: ignore[no-untyped-def]
    first = collate(session, cycle_with_texts, at=AT, actor="t", **_kw())
    again = collate(session, cycle_with_texts, at=AT + dt.timedelta(hours=1), actor="t", **_kw())
    session.commit()
    assert (first.number, first.created, again.number, again.created) == (1, True, 1, False)
    assert session.exec(select(func.count()).select_from(Draft)).one() == 1
    html = Path(first.path).read_text(encoding="utf-8")
    assert "DRAFT 1" in html and "Riverside Police" in html
    # ramb left out the optional case story: the draft shows the gap and the summary lists it
    assert "Riverside Ambulance Service: A case that shows impact" in first.summary["empty_sections"]
    assert "[This section is empty.]" in html
    # a new revision makes a new draft
    rpol = find_agency(session, cycle_with_texts, "rpol")
    record_decision(session, cycle_with_texts, "rpol", "return", comments="More on outcomes.", at=AT, actor="chair")
    apply_decisions(
        session, cycle_with_texts, at=AT, actor="t", base_url="http://x", templates_dir=_kw()["templates_dir"]
    )
    path = SECOND.with_suffix("") / "contributions" / "rha.md"
    submit_file(
        session,
        cycle_with_texts,
        rpol,
        contribution_for(session, cycle_with_texts, rpol),
        path,
        at=AT,
        actor="lead",
        base_url="http://x",
        templates_dir=_kw()["templates_dir"],
    )
    assert collate(session, cycle_with_texts, at=AT, actor="t", **_kw()).number == 2


def test_review_refusals_and_a_stale_decision(session: Session, cycle_with_texts) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReviewError, match="a returned contribution needs comments"):
        record_decision(session, cycle_with_texts, "rpol", "return", at=AT, actor="chair")
    with pytest.raises(ReviewError, match="the brief has no section 'foreword'"):
        record_decision(
            session, cycle_with_texts, "rpol", "return", comments="x", brief_section="foreword", at=AT, actor="chair"
        )
    with pytest.raises(Exception, match="'nobody' is neither an agency nor a central section"):
        record_decision(session, cycle_with_texts, "nobody", "approve", at=AT, actor="chair")
    # The Chair approves revision 1, but the agency submits revision 2 before the review run applies it.
    record_decision(session, cycle_with_texts, "rha", "approve", at=AT, actor="chair")
    rha = find_agency(session, cycle_with_texts, "rha")
    submit_file(
        session,
        cycle_with_texts,
        rha,
        contribution_for(session, cycle_with_texts, rha),
        SECOND.with_suffix("") / "contributions" / "rha.md",
        at=AT,
        actor="lead",
        base_url="http://x",
        templates_dir=_kw()["templates_dir"],
    )
    report = apply_decisions(
        session, cycle_with_texts, at=AT, actor="t", base_url="http://x", templates_dir=_kw()["templates_dir"]
    )
    assert report.stale == ["rha approve"] and report.applied == []
    assert contribution_for(session, cycle_with_texts, rha).status == "submitted"
    assert session.exec(select(ReviewDecision)).one().outcome == "stale"


def test_publish_is_gated_then_completes_after_an_interruption(session: Session, cycle_with_texts) -> None:  # type: ignore[no-untyped-def]
    kw = {**_kw(), "site_url": "https://example.net/site"}
    with pytest.raises(NotReadyToPublish, match=r"rbc-asc is submitted; .*central section chairs-foreword is draft"):
        publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    for name in ("rbc-asc", "rpol", "ramb", "rha", "ricb", "chairs-foreword", "year-in-numbers", "looking-forward"):
        record_decision(session, cycle_with_texts, name, "approve", at=AT, actor="chair")
    apply_decisions(session, cycle_with_texts, at=AT, actor="t", base_url="http://x", templates_dir=kw["templates_dir"])
    session.commit()
    # Everything approved is not enough: the board signs it off and the business manager chooses the day.
    with pytest.raises(NotReadyToPublish, match=r"the board's sign-off is not recorded: record it on the desk"):
        publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    signed = {"signed_off_by": "the Board at its meeting on 10 June", "signed_off_on": AT.date(), "actor": "bm"}
    record_sign_off(session, cycle_with_texts, publish_on=dt.date(2026, 6, 11), at=AT, **signed)  # type: ignore[arg-type]
    with pytest.raises(NotReadyToPublish, match=r"to be published on Thursday 11 June 2026; the morning run"):
        publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    record_sign_off(session, cycle_with_texts, publish_on=AT.date(), at=AT, **signed)  # type: ignore[arg-type]
    session.commit()

    # A crash after the files were written but before the freeze committed: nothing is recorded...
    publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    session.rollback()
    assert session.exec(select(Publication)).first() is None
    # ...and the next run completes it: frozen, notified, the cycle published.
    result = publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    session.commit()
    assert result.newly_frozen and result.notices_queued == 13
    assert find_cycle(session).status == "published"
    site = Path(result.folder)
    html = (site / "index.html").read_text(encoding="utf-8")
    assert all(f">{a.name}</h3>" in html for a in parse(SECOND).agencies)
    # The static site: the report, its PDF, the accessibility statement, a manifest and SHA256SUMS.
    names = sorted(f["name"] for f in result.files)
    assert names == ["accessibility.html", "index.html", "manifest.json", "report.pdf"]
    manifest = json.loads((site / "manifest.json").read_text())
    assert [f["name"] for f in manifest["files"]] == ["index.html", "report.pdf", "accessibility.html"]
    for f in manifest["files"]:
        assert hashlib.sha256((site / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    sums = (site / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in sums] == ["index.html", "report.pdf", "accessibility.html", "manifest.json"]
    assert (
        'href="accessibility.html"' in html
        and "Accessibility statement for the" in (site / "accessibility.html").read_text()
    )
    # Publishing again is refused, saying when and where, and that the files still match; nothing is sent.
    with pytest.raises(AlreadyPublished, match=r"was published on 10 June 2026 .* Its files match their SHA-256"):
        publish(session, cycle_with_texts, at=AT + dt.timedelta(days=1), actor="t", **kw)
    published = select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "published")
    assert session.exec(published).one() == 13
    # A frozen file that changed is reported in the refusal, not silently replaced.
    (site / "report.pdf").write_bytes(b"%PDF-tampered")
    with pytest.raises(AlreadyPublished, match=r"Warning: .*report\.pdf is missing or changed since it was frozen"):
        publish(session, cycle_with_texts, at=AT, actor="t", **kw)
    assert (site / "report.pdf").read_bytes() == b"%PDF-tampered"


def test_cli_review_and_publish_refusals(prefect: None, session: Session, cycle_with_texts) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    both = runner.invoke(app, ["--at", "2026-06-10T10:00+01:00", "review", "rpol", "--approve", "--return", "x"])
    assert both.exit_code == 1 and "give exactly one of --approve or --return" in both.output
    early = runner.invoke(app, ["--at", "2026-06-10T10:00+01:00", "publish"])
    assert early.exit_code == 1 and "cannot publish yet" in early.output and "Traceback" not in early.output
    ok = runner.invoke(
        app,
        [
            "--at",
            "2026-06-10T10:00+01:00",
            "review",
            "rpol",
            "--return",
            "More on outcomes.",
            "--section",
            "case-story",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "applied: rpol return" in ok.output
    drafted = runner.invoke(app, ["--at", "2026-06-10T11:00+01:00", "collate"])
    assert drafted.exit_code == 0 and "collated draft 1" in drafted.output
