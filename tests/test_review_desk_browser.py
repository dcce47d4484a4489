"""The Chair's journey and the business manager's journey in Chromium, with axe-core (WCAG 2.2 AA and best
practice, no rule disabled) on every page they see."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
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
    assert _axe(page) == []
    page.get_by_label("Return with comments").check()
    page.get_by_label(re.compile("^Comments")).fill("Name the schools.")
    page.get_by_label("The part of the brief your comments are about").select_option(
        label="Activity against each priority"
    )
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(re.compile(r"done=return$"))
    assert "Returned with your comments" in page.get_by_role("status").inner_text()
    assert _axe(page) == []

    _submit_as_agency(session, "wmp", {**TEXT, "priority-activity": "Joint patrols with 4 named schools."})
    page.get_by_role("link", name="West Midlands Police").click()
    change = page.locator(".diff")
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
    assert _axe(page) == []
    page.get_by_label("Statutory role").fill("Received by email from the council.")
    page.get_by_role("button", name="Record it as Birmingham City Council's contribution").click()
    page.wait_for_url(re.compile(r"done=on-behalf$"))
    assert _axe(page) == []
    page.get_by_label("Role", exact=True).select_option("deputy")
    page.get_by_label("New contact's name").fill("Ravi Patel")
    page.get_by_label("New contact's email address").fill("ravi.patel@bcc.example.org")
    page.get_by_role("button", name="Replace the contact").click()
    page.wait_for_url(re.compile(r"done=replace$"))
    page.get_by_role("link", name="Back to the desk").click()
    page.get_by_role("link", name="Foreword").click()
    assert _axe(page) == []
    page.get_by_label("Foreword (Markdown)").fill("A year of *change* for the partnership.")
    page.get_by_role("button", name="Save the section").click()
    page.wait_for_url(re.compile(r"done=central$"))
    page.get_by_role("button", name="Collate a draft now").click()
    page.wait_for_url(re.compile(r"done=collate$"))
    assert "Draft 1, collated" in page.inner_text("main")
    assert _axe(page) == []
    # a failed form comes back with the reason and a way back, and the error page passes axe too
    assert page.get_by_role("button", name=re.compile("^Send the escalation")).count() == 0  # none held
    page.goto(page.url.split("?")[0] + "/agency/bcc")
    page.get_by_role("button", name="Excuse the agency").click()
    assert "Say why the agency is excused" in page.inner_text("main")
    assert _axe(page) == []
    assert watch.check() == []
    revisions = session.exec(select(Revision)).all()
    assert [(r.source, r.sections["statutory-role"]) for r in revisions] == [
        ("other-means", "<p>Received by email from the council.</p>")
    ]
    handover = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "handover")).one()
    assert handover.to_addrs == ["ravi.patel@bcc.example.org"]


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
