"""The partnership's pages on the desk in Chromium, with axe-core (no rule disabled), over a planned cycle: the
overview, an agency added (refused first, its errors on their fields), a section of the brief changed, a
recipient removed after the page that says what it does, and the framework's checklist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session

from models.partnership_file import parse
from models.store import find_cycle, load_partnership
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.browser import ScriptWatch, chromium, portal_server
from tests.conftest import EXAMPLE
from tests.helpers import local
from tests.test_portal_browser import _axe
from tests.test_review_desk_browser import NOW, _arrive, _open

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[str]:
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    with portal_server(get_settings(), FixedClock(NOW)) as url:
        yield url


def test_partnership_pages_pass_axe(browser: Browser, portal: str, session: Session) -> None:
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(f"{portal}/desk/*")
    page.get_by_role("link", name="The partnership", exact=True).click()
    _arrive(page, "The partnership")
    assert _axe(page) == []

    page.get_by_role("button", name="Add an agency").click()
    _arrive(page, "Add an agency")
    assert _axe(page) == []
    page.get_by_label("Short name").fill("Ambulance Service")
    page.get_by_role("button", name="Add the agency").click()
    page.locator(".govuk-error-summary").wait_for()
    assert page.locator(".govuk-error-summary a").all_inner_texts() == [
        "The short name must be lower-case letters, digits and hyphens (starting with a letter or digit), like "
        "west-midlands-police",
        "Enter the agency's name",
        "Enter the lead contact's name",
        "Enter the lead contact's email address",
    ]
    assert _axe(page) == []
    page.get_by_label("Short name").fill("ambulance")
    page.get_by_label("Name", exact=True).first.fill("West Midlands Ambulance Service")
    lead = page.get_by_role("group", name="Lead contact (writes the contribution, gets every reminder)")
    lead.get_by_label("Name", exact=True).fill("Priya Holt")
    lead.get_by_label("Email address").fill("priya.holt@wmas.example.org")
    page.get_by_role("button", name="Add the agency").click()
    page.get_by_text("The agency is added.").wait_for()
    assert _axe(page) == []

    page.get_by_role("link", name="Change Statutory role").click()
    _arrive(page, "Change the section of the brief")
    page.get_by_label("Word limit").fill("350")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()

    page.get_by_role("link", name="Remove Children's Social Care Overview and Scrutiny Committee").click()
    _arrive(page, "Remove the recipient Children's Social Care Overview and Scrutiny Committee?")
    assert _axe(page) == []
    page.get_by_role("button", name="Remove the recipient").click()
    page.get_by_text("Removed.").wait_for()

    page.goto(f"{portal}/desk/{find_cycle(session).id}/framework")
    _arrive(page, "What the report must contain")
    assert _axe(page) == []
    assert watch.check() == []
