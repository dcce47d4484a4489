"""Issue 18: emails as a chief executive reads them, calendar entries that behave, and the publication gate.

The calendar sequence is parsed with `icalendar` and compared with an expectation written by hand; the gate is
run on a report holding a note for the business manager, a placeholder address and a broken link."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.outbox import OutboundEmail
from models.store import contribution_for, find_agency, find_cycle
from reportcycle.cli import app
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tasks.contributions.submission import submit_file
from tasks.desk.central import set_central_text
from tasks.desk.desk import excuse, extend
from tasks.desk.excused import tell_excused
from tasks.desk.sign_off import record_sign_off
from tasks.mail.calendar_entry import vtimezone
from tasks.mail.messages import build_message
from tasks.mail.render import fit_subject, wrap_text
from tasks.report.content_gate import find_holdbacks, is_placeholder, notes_in
from tasks.report.publish import NotReadyToPublish, current_holdbacks, let_through, publish
from tests.conftest import EXAMPLE
from tests.email_reading import check_readable, parsed
from tests.helpers import local
from tests.test_chase_mail import _open
from tests.test_publication_sign_off import _approve_everything
from tests.test_second_half import AT, cycle_with_texts  # noqa: F401  (the fixture: Riverside, all submitted)

URL = "https://portal.bscb.example.org/contribution/12345678901234567890123456789012345678901234567890"


def test_paragraphs_wrap_at_76_and_a_url_stays_whole_on_its_own_line() -> None:
    text = (
        "Dear Sam,\n\nA reminder that West Midlands Police's contribution to the Annual Report 2018/19 is due by "
        f"17:00 on Monday 20 May 2019. Submit it here: {URL}\n-- \n- a list item that runs on well past the "
        "seventy-eighth column of the line, so it wraps under its text\n"
    )
    assert wrap_text(text).split("\n") == [
        "Dear Sam,",
        "",
        "A reminder that West Midlands Police's contribution to the Annual Report",
        "2018/19 is due by 17:00 on Monday 20 May 2019. Submit it here:",
        URL,
        "-- ",
        "- a list item that runs on well past the seventy-eighth column of the line,",
        "  so it wraps under its text",
        "",
    ]


def test_a_subject_over_79_characters_is_cut_at_a_word() -> None:
    long = "Extension asked, to Mon 3 Jun: Staffordshire and West Midlands Community Rehabilitation Company"
    assert fit_subject(long) == "Extension asked, to Mon 3 Jun: Staffordshire and West Midlands Community…"
    assert fit_subject("Reminder: your Annual Report 2018/19 contribution is due Mon 20 May") == (
        "Reminder: your Annual Report 2018/19 contribution is due Mon 20 May"
    )


def test_the_time_zone_is_sent_with_its_yearly_rules() -> None:
    ics = vtimezone("Europe/London", dt.date(2019, 4, 14), dt.date(2020, 5, 20)).to_ical().decode()
    assert ics.split("\r\n") == [
        "BEGIN:VTIMEZONE",
        "TZID:Europe/London",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T010000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "TZNAME:BST",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0100",
        "END:DAYLIGHT",
        "BEGIN:STANDARD",
        "DTSTART:19701025T020000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "TZNAME:GMT",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0000",
        "END:STANDARD",
        "END:VTIMEZONE",
        "",
    ]
    tokyo = vtimezone("Asia/Tokyo", dt.date(2026, 4, 1), dt.date(2027, 6, 1))
    (standard,) = tokyo.subcomponents
    assert (standard.name, str(standard["TZNAME"]), "RRULE" in standard) == ("STANDARD", "JST", False)


def _entries(session: Session, contribution_id: int) -> list[tuple[str, str, str, int, str, str]]:
    """(kind, METHOD, UID, SEQUENCE, STATUS, DTEND) of every calendar part sent for a contribution, in order,
    read from the built message as a mail program gets it."""
    found = []
    rows = session.exec(
        select(OutboundEmail).where(OutboundEmail.contribution_id == contribution_id).order_by(col(OutboundEmail.id))
    ).all()
    for row in rows:
        message = parsed(build_message(row))
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                cal = icalendar.Calendar.from_ical(part.get_content())
                (event,) = cal.walk("VEVENT")
                assert part.get_param("method") == str(cal["METHOD"])
                found.append(
                    (
                        row.kind,
                        str(cal["METHOD"]),
                        str(event["UID"]),
                        int(event["SEQUENCE"]),
                        str(event["STATUS"]),
                        event.decoded("DTEND").isoformat(),
                    )
                )
    return found


def test_the_calendar_entry_is_requested_moved_and_cancelled_on_submission(session: Session) -> None:
    s = get_settings()
    cycle = _open(session)
    agency = find_agency(session, cycle, "nps")
    contribution = contribution_for(session, cycle, agency)
    extend(
        session,
        cycle,
        contribution,
        dt.date(2019, 6, 3),
        at=local("2019-05-14", "10:00"),
        actor="bm",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    submit_file(
        session,
        cycle,
        agency,
        contribution,
        EXAMPLE.with_suffix("") / "contributions" / "nps.md",
        at=local("2019-05-30", "11:00"),
        actor="lead",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    uid = f"contribution-{contribution.id}-cycle-{cycle.id}@bscb.example.org"
    assert _entries(session, contribution.id or 0) == [
        ("request", "REQUEST", uid, 0, "CONFIRMED", "2019-05-20T17:00:00+01:00"),  # to the lead
        ("request", "REQUEST", uid, 0, "CONFIRMED", "2019-05-20T17:00:00+01:00"),  # to the deputy
        ("extension", "REQUEST", uid, 1, "CONFIRMED", "2019-06-03T17:00:00+01:00"),
        ("receipt", "CANCEL", uid, 2, "CANCELLED", "2019-06-03T17:00:00+01:00"),
    ]
    receipt = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "receipt")).one()
    assert (receipt.to_addrs, receipt.cc_addrs) == (
        ["gareth.millward@nps.example.org"],
        ["amira.latchford@nps.example.org"],
    )  # the deputy had the entry too: the cancel reaches both calendars
    assert check_readable(
        build_message(r) for r in session.exec(select(OutboundEmail).where(OutboundEmail.cycle_id == cycle.id))
    ) == {"request", "extension", "receipt"}


def test_an_excused_agency_is_told_why_and_its_entry_is_cancelled_once(session: Session) -> None:
    s = get_settings()
    cycle = _open(session)
    agency = find_agency(session, cycle, "swm-crc")
    contribution = contribution_for(session, cycle, agency)
    at = local("2019-06-05", "10:00")
    excuse(session, contribution, reason="The CRC closed in June; probation now covers its work.", at=at, actor="bm")
    tell_excused(session, cycle, contribution, reason="The CRC closed in June.", at=at, templates_dir=s.templates_dir)
    session.commit()
    entries = _entries(session, contribution.id or 0)
    assert [(kind, method, seq, status) for kind, method, _, seq, status, _ in entries] == [
        ("request", "REQUEST", 0, "CONFIRMED"),
        ("request", "REQUEST", 0, "CONFIRMED"),
        ("excused", "CANCEL", 1, "CANCELLED"),
    ]
    row = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).one()
    assert "The reason given:\nThe CRC closed in June." in row.text_body
    # told again (excused, asked again, excused again): no second CANCEL of an entry already cancelled
    tell_excused(
        session,
        cycle,
        contribution,
        reason="Still closed.",
        at=at + dt.timedelta(days=1),
        templates_dir=s.templates_dir,
    )
    session.commit()
    assert len(_entries(session, contribution.id or 0)) == 3


# --- the publication gate ------------------------------------------------------------------------------

LOOKING_FORWARD = """Next year the Board will focus on self-neglect.

Note for the business manager: check these commitments with the ICB before publishing.

Read the [strategy](https://strategy.riverside.invalid/2026) and the [action plan](#no-such-part).
"""


def test_holdbacks_name_each_kind_with_where_it_is() -> None:
    html = (
        "<p>Text.</p><p><strong>Note for the business manager:</strong> ask Sam.</p>"
        '<p><a href="https://www.example.com/x">x</a> <a href="https://www.gov.uk/">real</a></p>'
    )
    assert notes_in(html) == ["Note for the business manager: ask Sam."]
    assert [is_placeholder(u) for u in ("https://report.invalid/a", "http://localhost:8000/", "https://gov.uk/")] == [
        True,
        True,
        False,
    ]
    found = find_holdbacks(
        [("Governance", "governance", html)],
        [("by-agency", "Figure 3: Budget by agency", "Governance", True), ("funding", "Figure 2", "Governance", False)],
        [("Governance", "#nowhere", "no part of the report has this id")],
    )
    assert [(h.kind, h.where, h.what) for h in found] == [
        ("illustrative figure", "Governance", "Figure 3: Budget by agency (its values are made up)"),
        ("note for the business manager", "Governance", "Note for the business manager: ask Sam."),
        ("placeholder address", "Governance", "https://www.example.com/x leads to no real page"),
        ("broken link", "Governance", "#nowhere: no part of the report has this id"),
    ]
    assert found[0].key == "figure:by-agency" and found[2].key == "link:governance:https://www.example.com/x"


def test_the_gate_refuses_naming_each_then_publishes_once_each_is_let_through(
    prefect: None,
    session: Session,
    mail: MailSink,
    cycle_with_texts,  # noqa: F811
) -> None:
    s = get_settings()
    cycle = cycle_with_texts
    set_central_text(session, cycle, "looking-forward", LOOKING_FORWARD, at=AT, actor="bm")
    session.commit()
    _approve_everything(session, cycle)
    record_sign_off(
        session,
        cycle,
        signed_off_by="the Board at its meeting on 10 June",
        signed_off_on=AT.date(),
        publish_on=AT.date(),
        at=AT,
        actor="bm",
    )
    session.commit()
    kw = {"output_dir": s.output_dir, "templates_dir": s.templates_dir, "site_url": "https://reports.riverside.gov.uk"}
    with pytest.raises(NotReadyToPublish) as refused:
        publish(session, cycle, at=AT, actor="bm", **kw)  # type: ignore[arg-type]
    session.rollback()
    held = current_holdbacks(session, cycle, at=AT, templates_dir=s.templates_dir)
    assert [(h.kind, h.where, h.what) for h in held] == [
        (
            "note for the business manager",
            "Looking forward",
            "Note for the business manager: check these commitments with the ICB before publishing.",
        ),
        ("placeholder address", "Looking forward", "https://strategy.riverside.invalid/2026 leads to no real page"),
        ("broken link", "Looking forward", "#no-such-part: no part of the report has this id"),
    ]
    message = str(refused.value)
    assert message.startswith("not published: the report holds 3 things not fit to publish: note for the business")
    for h in held:
        assert h.line() in message
    assert "\n" not in message

    # one let through with the CLI flag (recorded even though the others still hold it back) ...
    runner = CliRunner()
    cli = ["--at", AT.isoformat(), "publish"]
    out = runner.invoke(app, [*cli, "--override", held[1].key, "--reason", "the strategy goes live on the day"])
    assert out.exit_code == 1 and "Traceback" not in out.output, out.output
    said = " ".join(out.output.split())
    assert "let through: placeholder address in Looking forward" in said
    assert "holds 2 things" in said and held[1].key not in said.split("let through")[-1].split("error:")[-1]
    assert runner.invoke(app, [*cli, "--override", held[0].key]).output.count("--reason") == 1  # a reason is needed
    # ... an unknown key is refused in one line ...
    out = runner.invoke(app, [*cli, "--override", "note:nowhere:0", "--reason", "x"])
    assert " ".join(out.output.split()) == (
        "error: nothing in the report now has the key 'note:nowhere:0'; the collation report's first table lists "
        "the keys"
    )
    # ... and the rest as the desk does it
    for h in (held[0], held[2]):
        let_through(
            session, cycle, h.key, reason="agreed at the board", at=AT, actor="bm", templates_dir=s.templates_dir
        )
    session.commit()
    result = publish(session, cycle, at=AT, actor="bm", **kw)  # type: ignore[arg-type]
    session.commit()
    assert result.refused is None and result.newly_frozen
    audited = session.exec(select(AuditEvent).where(AuditEvent.action == "publication.override")).all()
    assert sorted((e.detail["key"], e.detail["reason"]) for e in audited) == sorted(
        [
            (held[1].key, "the strategy goes live on the day"),
            (held[0].key, "agreed at the board"),
            (held[2].key, "agreed at the board"),
        ]
    )
    assert find_cycle(session).status == "published"
