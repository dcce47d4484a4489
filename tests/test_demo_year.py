"""The whole year, end to end: the demo's scenario checked against hand-written expectations of what the
SMTP server received (who, which kind, which local date) and what the published report contains."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import re
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from rich.console import Console

from models.partnership_file import parse
from reportcycle.demo import run_demo
from tests.conftest import EXAMPLE, SECOND, reset_schema
from tests.email_reading import check_readable
from tests.helpers import LONDON, agency_of, expand, flat

# Example: requests Mon 15 April 2019; deadline Mon 20 May 17:00; bank holidays 6 and 27 May.
# Scripted (by agency order): bcc/swbh on time (1 May); bct/roh after the first reminder (8 May), returned
# by the Chair on 30 May (applied the next working day), revised 3 June, approved 7 June; bsol-ccg/uhb after
# the second reminder (16 May); bsmhft/wmp on the deadline day; bchc after an overdue notice (22 May);
# bwc after escalation (29 May); nps extended on 14 May to 3 June, submits 3 June; swm-crc never, excused
# 5 June. The Chair approves the rest on 7 June; the report is published on Monday 10 June.
EXAMPLE_YEAR = [
    ("2019-04-15", "request", "bcc*2 bct*2 bsol-ccg*2 bsmhft*2 bchc*2 bwc*2 nps*2 swm-crc*2 swbh*2 roh uhb*2 wmp*2"),
    ("2019-05-01", "receipt", "bcc swbh"),
    ("2019-05-03", "reminder", "bct bsol-ccg bsmhft bchc bwc nps swm-crc roh uhb wmp"),
    ("2019-05-08", "receipt", "bct roh"),
    ("2019-05-13", "reminder", "bsol-ccg bsmhft bchc bwc nps swm-crc uhb wmp"),
    ("2019-05-16", "receipt", "bsol-ccg uhb"),
    ("2019-05-17", "reminder", "bsmhft bchc bwc swm-crc wmp"),
    ("2019-05-20", "reminder", "nps"),  # 14 days before its new deadline
    ("2019-05-20", "receipt", "bsmhft wmp"),
    ("2019-05-21", "overdue", "bchc bwc swm-crc"),
    ("2019-05-22", "receipt", "bchc"),
    ("2019-05-24", "overdue", "bwc swm-crc"),
    ("2019-05-24", "reminder", "nps"),
    ("2019-05-28", "escalation", "bwc swm-crc"),
    ("2019-05-29", "receipt", "bwc"),
    ("2019-05-30", "overdue", "swm-crc"),
    ("2019-05-31", "returned", "bct roh"),
    ("2019-05-31", "reminder", "nps"),
    ("2019-06-03", "receipt", "bct roh nps"),
    ("2019-06-04", "final_notice", "swm-crc"),
    ("2019-06-05", "excused", "swm-crc"),  # told why, its calendar entry cancelled
    ("2019-05-14", "extension", "nps"),
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
            "2019-05-31",
            "2019-06-04",
        )
    ],
]

# Riverside: requests Mon 20 April 2026; deadline Fri 5 June 12:00; reminders 10 and 3 days before;
# bank holidays 4 and 25 May. rbc on 17 May; police on 24 May, returned 15 June (applied the 16th), reminded
# on the 19th under its new deadline and revising that afternoon; ambulance 1 June; housing 5 June;
# ICB on Sunday 7 June. Approved 23 June; published Wednesday 24 June.
SECOND_YEAR = [
    ("2026-04-20", "request", "rbc*2 riverside-police*2 riverside-ambulance*2 riverside-housing*2 riverside-icb*2"),
    ("2026-05-17", "receipt", "rbc"),
    ("2026-05-24", "receipt", "riverside-police"),
    ("2026-05-26", "reminder", "riverside-ambulance riverside-housing riverside-icb"),
    ("2026-06-01", "receipt", "riverside-ambulance"),
    ("2026-06-02", "reminder", "riverside-housing riverside-icb"),
    ("2026-06-05", "receipt", "riverside-housing"),
    ("2026-06-07", "receipt", "riverside-icb"),
    ("2026-06-16", "returned", "riverside-police"),
    ("2026-06-19", "reminder", "riverside-police"),
    ("2026-06-19", "receipt", "riverside-police"),
    *[(day, "digest", "riverside-sab") for day in ("2026-05-26", "2026-06-02", "2026-06-19")],
]


# The kinds the example year sends, each checked as its reader gets it (tests/email_reading.py); the desk's
# kinds (excused, extension requests, links, handovers) are checked in test_review_desk_http, the weekly
# summary in test_weekly_summary's.
EVERY_KIND_IN_THE_EXAMPLE_YEAR = {
    "request",
    "reminder",
    "overdue",
    "final_notice",
    "escalation",
    "receipt",
    "returned",
    "extension",
    "excused",
    "digest",
    "published",
}


def _messages(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _table(messages: list[EmailMessage]) -> Counter[tuple[str, str, str]]:
    table: Counter[tuple[str, str, str]] = Counter()
    for m in messages:
        if m["X-Reportcycle-Kind"] == "published":
            continue
        day = email.utils.parsedate_to_datetime(str(m["Date"])).astimezone(LONDON).date().isoformat()
        table[(agency_of(str(m["To"]).split(",")[0]), str(m["X-Reportcycle-Kind"]), day)] += 1
    return table


SITE_FILES = {"index.html", "report.pdf", "accessibility.html", "manifest.json"}
BSCB_CHARTS = {f"images/figure-{key}.svg" for key in ("key-facts", "training-places", "training-events")} | {
    "images/logo.svg"
}


def _check_publication(
    out: Path, site: Path, example: Path, published_on: str, excused: list[str], files: set[str]
) -> None:
    spec = parse(example)
    html = (site / "index.html").read_text(encoding="utf-8")
    for agency in spec.agencies:
        assert f">{agency.name.replace(chr(39), '&#39;')}</h3>" in html, agency.name
    for name in excused:
        assert f"{name} did not contribute to this report." in html
    assert "DRAFT" not in html and "<script" not in html
    assert (site / "report.pdf").read_bytes().startswith(b"%PDF-")
    sums = dict(line.split("  ")[::-1] for line in (site / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == files
    for name, digest in sums.items():
        assert hashlib.sha256((site / name).read_bytes()).hexdigest() == digest
    notices = [m for m in _messages(out / "mail") if m["X-Reportcycle-Kind"] == "published"]
    expected = {str(r.email) for r in spec.recipients} | {
        str(c.email) for a in spec.agencies for c in a.contacts if c.role in ("lead", "senior")
    }
    assert sorted(str(m["To"]) for m in notices) == sorted(expected)
    day = {email.utils.parsedate_to_datetime(str(m["Date"])).astimezone(LONDON).date().isoformat() for m in notices}
    assert day == {published_on}
    body = notices[0].get_body(("plain",)).get_content()
    # no checksum in an email to a person: the notice links the site's SHA256SUMS instead
    sums_link = f"/{site.parent.name}/{site.name}/SHA256SUMS"
    assert sums["report.pdf"] not in body and any(line.endswith(sums_link) for line in body.splitlines())


def test_the_example_year(prefect: None, database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    reset_schema(database_url)  # the demo builds its schema with the migrations
    result = run_demo(out, Console(file=io.StringIO(), width=120), EXAMPLE, database_url=database_url)
    assert _table(_messages(out / "mail")) == expand(EXAMPLE_YEAR)
    kinds = check_readable(_messages(out / "mail"))  # every email as its reader gets it
    methods = {
        (str(m["X-Reportcycle-Kind"]), str(part.get_param("method")))
        for m in _messages(out / "mail")
        for part in m.walk()
        if part.get_content_type() == "text/calendar"
    }
    assert methods == {
        ("request", "REQUEST"),
        ("extension", "REQUEST"),
        ("returned", "REQUEST"),
        ("receipt", "CANCEL"),
        ("excused", "CANCEL"),
    }
    assert kinds == EVERY_KIND_IN_THE_EXAMPLE_YEAR
    escalations = [m for m in _messages(out / "mail") if m["X-Reportcycle-Kind"] == "escalation"]
    assert all(str(m["Cc"]) == str(parse(EXAMPLE).partnership.business_manager.email) for m in escalations)
    # what is missing, by when, who was asked, and the way to more time; the agency's own staff not named
    wording = flat(escalations[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    for said in (
        "What is missing: your agency's contribution, its own chapter of the report, which covers Statutory role;",
        "When it was due: by 17:00 on Monday 20 May 2019. It is now 8 days overdue.",
        "Who was asked: the lead and deputy your agency named for the report, from 15 April 2019, with reminders",
        "the lead can ask for an extension from the contribution page, or you can reply to this email with a date: "
        "Morgan Ellery (copied) can agree a new deadline",
    ):
        assert said in wording, said
    juniors = [c.name for a in parse(EXAMPLE).agencies for c in a.contacts if c.role != "senior"]
    assert [n for n in juniors if n in wording] == []
    returned = [m for m in _messages(out / "mail") if m["X-Reportcycle-Kind"] == "returned"]
    text = flat(returned[0].get_body(("plain",)).get_content())
    assert 'returned it for revision, about the section "Looking ahead"' in text
    assert re.search(r"Please revise it by 17:00 on Friday 14 June 2019", text)
    site = out / "site" / "bscb" / "2018-19"
    _check_publication(
        out,
        site,
        EXAMPLE,
        "2019-06-10",
        excused=["Staffordshire and West Midlands Community Rehabilitation Company"],
        files=SITE_FILES | BSCB_CHARTS,
    )
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "In response to the Chair: next year we will report quarterly" in html  # the revised text is published
    drafts = sorted(p.name for p in (out / "drafts" / "bscb" / "2018-19").iterdir())
    assert drafts[:3] == ["draft-1-report.html", "draft-1.html", "draft-2-report.html"]  # each with its report
    assert result.flow_runs > 0 and result.timeline["swm-crc"][-1].endswith("excused by the business manager")


def test_the_second_partnership_year(prefect: None, database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    reset_schema(database_url)
    run_demo(out, Console(file=io.StringIO(), width=120), SECOND, database_url=database_url)
    assert _table(_messages(out / "mail")) == expand(SECOND_YEAR)
    check_readable(_messages(out / "mail"))
    _check_publication(
        out, out / "site" / "riverside-sab" / "2025-26", SECOND, "2026-06-24", excused=[], files=SITE_FILES
    )
