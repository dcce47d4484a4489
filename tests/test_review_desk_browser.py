"""The Chair's journey and the business manager's journey in Chromium, with axe-core (WCAG 2.2 AA and best
practice, no rule disabled) on every page they see."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from models.cycle import Revision
from models.outbox import OutboundEmail
from models.store import contribution_for, cycle_values, find_agency, find_cycle
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.contributions.working_copy import submit
from tasks.links.tokens import issue_staff_link
from tests.browser import ScriptWatch, chromium, portal_server
from tests.helpers import local, open_example_cycle
from tests.test_portal_browser import _axe

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases

NOW = local("2019-05-01", "10:00")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[str]:
    open_example_cycle(session)
    with portal_server(get_settings(), FixedClock(NOW)) as url:
        yield url


def _submit_as_agency(session: Session, slug: str, texts: dict[str, str]) -> None:
    s = get_settings()
    cycle = find_cycle(session)
    agency = find_agency(session, cycle, slug)
    submit(
        session,
        cycle,
        agency,
        contribution_for(session, cycle, agency),
        texts,
        brief=cycle_values(cycle)[0],
        at=NOW,
        actor="lead@example.org",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
        figures={"staff-trained": "120"},
    )
    session.commit()


def _open(page: Page, url: str, session: Session, role: str) -> None:
    token = issue_staff_link(
        session, role=role, cycle_id=find_cycle(session).id or 0, email=f"{role}@x.org", at=NOW, valid_days=30
    )
    session.commit()
    page.goto(f"{url}/c/{token}")
    assert _axe(page) == []
    page.get_by_role("button", name=re.compile("^Continue to the")).click()


def _arrive(page: Page, heading: str) -> None:
    """Wait for the page whose h1 is `heading` (a form posted to the same address gives no URL to wait for)."""
    page.get_by_role("heading", level=1, name=heading, exact=True).wait_for()


TEXT = {
    "statutory-role": "The police protect children.",
    "priority-activity": "Joint patrols with 4 schools.",
    "looking-ahead": "More patrols.",
}


def test_the_chairs_journey_return_then_approve(browser: Browser, portal: str, session: Session) -> None:
    _submit_as_agency(session, "wmp", TEXT)
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "chair")
    page.wait_for_url(re.compile(r"/review/\d+$"))
    assert "1 part waiting for your decision" in page.inner_text("main")
    assert _axe(page) == []
    page.get_by_role("link", name="West Midlands Police").click()
    page.wait_for_url(re.compile(r"/review/\d+/wmp$"))
    assert _axe(page) == []
    assert "Staff trained in safeguarding children" in page.locator("#key-figures + table").inner_text()
    # nothing chosen: the error summary takes the focus and links to the choice
    page.get_by_role("button", name="Record the decision").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    assert summary.get_by_role("link", name="Choose approve or return.").get_attribute("href") == "#decision"
    # GOV.UK Frontend's script moves the focus once it has loaded, which a busy machine can leave until after the
    # summary is drawn: wait for it (and fail if it never comes)
    expect(summary).to_be_focused()
    assert page.title().startswith("Error: ")
    assert _axe(page) == []
    page.get_by_label("Return with comments").check()
    page.get_by_label("Comments (required to return; the agency sees them)").fill(
        "Name the schools.\n\nAnd say which patrols found most."
    )
    page.get_by_label("The part of the brief your comments are about").select_option(
        label="Activity against each priority"
    )
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(re.compile(r"done=return$"))
    assert "Returned with your comments" in page.locator(".govuk-notification-banner").inner_text()
    assert _axe(page) == []

    _submit_as_agency(session, "wmp", {**TEXT, "priority-activity": "Joint patrols with 4 named schools."})
    page.get_by_role("link", name="West Midlands Police").click()
    page.wait_for_url(re.compile(r"/review/\d+/wmp$"))
    earlier = page.locator(".rc-comment p")
    assert earlier.all_inner_texts() == ["Name the schools.", "And say which patrols found most."]
    change = page.locator(".rc-diff")
    assert change.count() == 1
    # one word added; the visually hidden words are what a screen reader reads out
    assert change.locator("ins").text_content() == "[added: named]"
    assert change.locator("del").count() == 0
    assert _axe(page) == []
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(re.compile(r"done=approve$"))
    assert _axe(page) == []
    assert watch.check() == []
    cycle = find_cycle(session)
    wmp = contribution_for(session, cycle, find_agency(session, cycle, "wmp"))
    session.refresh(wmp)
    assert (wmp.status, wmp.current_revision) == ("approved", 2)


def test_the_business_managers_journey(browser: Browser, portal: str, session: Session) -> None:
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    assert _axe(page) == []
    page.get_by_role("link", name="Birmingham City Council").click()
    page.wait_for_url(re.compile(r"/agency/bcc$"))
    assert _axe(page) == []
    page.get_by_label("Statutory role").fill("Received by email from the council.")
    page.get_by_role("button", name="Record it as Birmingham City Council's contribution").click()
    page.wait_for_url(re.compile(r"done=on-behalf$"))
    assert _axe(page) == []
    page.get_by_label("Role", exact=True).select_option("deputy")
    page.get_by_label("New contact's name").fill("Ravi Patel")
    page.get_by_label("New contact's email address").fill("ravi.patel@bcc.example.org")
    page.get_by_role("button", name="Replace the contact").click()
    # the confirmation page says what will happen; the same button there does it
    _arrive(page, "Replace Birmingham City Council's deputy?")
    assert "Ravi Patel (ravi.patel@bcc.example.org) becomes the deputy" in page.inner_text("main")
    assert _axe(page) == []
    page.get_by_role("button", name="Replace the contact").click()
    page.wait_for_url(re.compile(r"done=replace$"))
    # the council's contribution is in; the Trust still owes its own
    page.goto(page.url.split("/agency/")[0] + "/agency/bchc")
    trust = "Birmingham Community Healthcare NHS Foundation Trust"
    # withdrawing the links asks first; going back does nothing
    page.get_by_role("button", name="Withdraw every link to this contribution").click()
    _arrive(page, f"Withdraw every link to {trust}'s contribution?")
    assert _axe(page) == []
    page.get_by_role("link", name="No, go back").click()
    page.wait_for_url(re.compile(r"/agency/bchc$"))
    # a deadline with no month: the error on its field; then an early one: a warning to confirm
    page.get_by_label("Day").fill("10")
    page.get_by_label("Year").fill("2019")
    page.get_by_role("button", name="Move the deadline").click()
    page.locator(".govuk-error-summary").wait_for()
    assert page.locator(".govuk-error-summary").get_by_role("link").inner_text() == (
        "The new deadline must include a month"
    )
    assert "until-error" in (page.locator("fieldset:has(#until-day)").get_attribute("aria-describedby") or "")
    assert page.locator("#until-month.govuk-input--error").count() == 1
    assert _axe(page) == []
    page.get_by_label("Month").fill("5")
    page.get_by_role("button", name="Move the deadline").click()
    _arrive(page, f"Move {trust}'s deadline to Friday 10 May 2019?")
    assert "Friday 10 May 2019 is earlier than the current deadline" in page.locator(".govuk-warning-text").inner_text()
    assert _axe(page) == []
    page.get_by_role("button", name="Move the deadline anyway").click()
    page.wait_for_url(re.compile(r"done=extend$"))
    assert "17:00 on Friday 10 May 2019" in page.inner_text("main")
    assert _axe(page) == []
    # excusing: a confirmation page that asks why; refused without a reason, then done and undone
    page.get_by_role("button", name="Excuse the agency").click()
    _arrive(page, f"Excuse {trust} this year?")
    assert _axe(page) == []
    page.get_by_role("button", name="Excuse the agency").click()
    page.locator(".govuk-error-summary").wait_for()
    reason = page.get_by_label("Why is the agency excused?")
    assert reason.get_attribute("aria-invalid") == "true"
    assert page.locator(".govuk-error-summary a").get_attribute("href") == "#reason"
    assert _axe(page) == []
    reason.fill("The Trust's work is in the council's contribution this year.")
    page.get_by_role("button", name="Excuse the agency").click()
    page.wait_for_url(re.compile(r"done=excuse$"))
    assert _axe(page) == []
    page.get_by_role("button", name="Undo the excusal").click()
    _arrive(page, f"Ask {trust} again?")
    assert _axe(page) == []
    page.get_by_role("button", name="Undo the excusal").click()
    page.wait_for_url(re.compile(r"done=unexcuse$"))
    page.get_by_role("link", name="Back to the desk").click()
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    page.get_by_role("link", name="Foreword").click()
    page.wait_for_url(re.compile(r"/central/foreword$"))
    assert _axe(page) == []
    page.get_by_label("Foreword (Markdown)").fill("A year of *change* for the partnership.")
    page.get_by_role("button", name="Save the section").click()
    page.wait_for_url(re.compile(r"done=central$"))
    page.get_by_role("button", name="Collate a draft now").click()
    page.wait_for_url(re.compile(r"done=collate$"))
    assert "Draft 1, collated" in page.inner_text("main")
    assert _axe(page) == []
    # a failed form comes back with the reason and a way back, and that page passes axe too
    assert page.get_by_role("button", name=re.compile("^Send the escalation")).count() == 0  # none held
    page.goto(page.url.split("?")[0] + "/agency/bcc")
    page.get_by_label("New contact's name").fill("Someone")
    page.get_by_label("New contact's email address").fill("not-an-address")
    page.get_by_role("button", name="Replace the contact").click()
    # refused on its field before any confirmation, with what was typed kept
    page.locator(".govuk-error-summary").wait_for()
    email = page.get_by_label("New contact's email address")
    assert (email.input_value(), email.get_attribute("aria-invalid")) == ("not-an-address", "true")
    assert page.locator(".govuk-error-summary a").get_attribute("href") == "#replace-email"
    assert _axe(page) == []
    assert watch.check() == []
    excused = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).one()
    assert "The Trust's work is in the council's contribution this year." in excused.text_body
    revisions = session.exec(select(Revision)).all()
    assert [(r.source, r.sections["statutory-role"]) for r in revisions] == [
        ("other-means", "<p>Received by email from the council.</p>")
    ]
    handover = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "handover")).one()
    assert handover.to_addrs == ["ravi.patel@bcc.example.org"]


def test_a_failed_email_is_cancelled_after_a_confirmation(browser: Browser, portal: str, session: Session) -> None:
    row = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).first()
    assert row is not None
    row.status, row.attempts, row.last_error = "failed", 5, "550 mailbox unavailable"
    session.add(row)
    session.commit()
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    assert "Request for the contribution" in page.locator("table", has_text="550 mailbox unavailable").inner_text()
    assert _axe(page) == []
    page.get_by_role("button", name=f"Cancel the email to {row.to_addrs[0]}").click()
    _arrive(page, f"Cancel the email to {row.to_addrs[0]}?")
    assert _axe(page) == []
    page.get_by_label("Why (kept in the audit log; optional)").fill("They left; the deputy has it.")
    page.get_by_role("button", name="Cancel the email").click()
    page.wait_for_url(re.compile(r"done=cancel-email$"))
    assert _axe(page) == []
    assert watch.check() == []
    session.refresh(row)
    assert row.status == "cancelled"


def test_a_word_document_in_the_browser(browser: Browser, portal: str, session: Session) -> None:
    from tests.test_portal_http import _lead
    from tests.test_word_import import agency_document, word

    links = {
        row.to_addrs[0]: re.findall(r"/c/([A-Za-z0-9_-]{43})", row.text_body)[0]
        for row in session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request"))
    }
    page = browser.new_page()
    watch = ScriptWatch(page)
    page.goto(f"{portal}/c/{links[_lead('bct')]}")
    page.get_by_role("button", name="Continue to the contribution").click()
    page.get_by_role("link", name="Upload a Word document").click()
    page.get_by_label("Word document").set_input_files(
        files=[{"name": "trust.docx", "mimeType": "application/octet-stream", "buffer": word(agency_document)}]
    )
    page.get_by_role("button", name="Read the document").click()
    assert "This is how “trust.docx” splits" in page.inner_text("main")
    assert _axe(page) == []
    page.get_by_label("Where “Case study” goes").select_option(label="Looking ahead")
    page.get_by_role("button", name="Use this as my draft").click()
    page.wait_for_url(re.compile(r"done=word$"))
    page.get_by_role("link", name="Looking ahead", exact=True).click()
    placed = page.get_by_label("Your text for “Looking ahead”").input_value()
    assert placed.startswith("We will focus on neglect.") and "## Case study" in placed
    assert watch.check() == []
