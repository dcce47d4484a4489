"""The reviews register's pages in Chromium, with axe-core (no rule disabled): the register empty, a form
refused with its errors, the review's page, a finding's page, removing a review and the register after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session

from models.store import find_cycle
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.browser import ScriptWatch, chromium, portal_server
from tests.helpers import open_example_cycle
from tests.test_portal_browser import _axe
from tests.test_review_desk_browser import NOW, _arrive, _open

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[str]:
    open_example_cycle(session)
    with portal_server(get_settings(), FixedClock(NOW)) as url:
        yield url


def test_register_pages_pass_axe(browser: Browser, portal: str, session: Session) -> None:
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(f"{portal}/desk/*")
    register = f"{portal}/desk/{find_cycle(session).id}/reviews"
    page.goto(register)
    _arrive(page, "Local child safeguarding practice reviews register")
    assert _axe(page) == []

    # Refused: the error summary, focused, and the errors on their fields.
    page.get_by_label("Day").first.fill("31")
    page.get_by_label("Month").first.fill("2")
    page.get_by_label("Year").first.fill("2018")
    page.get_by_role("button", name="Add the review").click()
    page.locator(".govuk-error-summary").wait_for()
    assert page.locator(".govuk-error-summary a").all_inner_texts() == [
        "Enter the review's name, as the report will name it",
        "The date the review started must be a real date, like 27 3 2026",
    ]
    assert _axe(page) == []

    page.get_by_label("Name of the review").fill("LCSPR Child K")
    page.get_by_label("Day").first.fill("28")  # what was typed is kept: only the day needs putting right
    page.get_by_role("button", name="Add the review").click()
    _arrive(page, "LCSPR Child K")
    page.get_by_label("The finding, as the review states it").fill("Schools did not hear of the plan.")
    page.get_by_role("button", name="Add the finding").click()
    page.get_by_text("The finding is added.").wait_for()
    assert _axe(page) == []

    page.get_by_role("link", name="Record what became of finding 1").click()
    _arrive(page, "Finding 1")
    assert _axe(page) == []
    page.get_by_label("Implemented", exact=True).check()
    page.get_by_role("button", name="Record it").click()
    page.locator(".govuk-error-summary").wait_for()
    assert page.locator(".govuk-error-summary a").all_inner_texts() == ["Say what was done to implement it"]
    assert _axe(page) == []
    page.get_by_label("What was done to implement it, or why it was not implemented").fill("Plans go to schools.")
    page.get_by_role("button", name="Record it").click()
    page.get_by_text("What became of the finding is recorded.").wait_for()

    page.goto(register)
    _arrive(page, "Local child safeguarding practice reviews register")
    assert _axe(page) == []
    page.get_by_role("link", name="LCSPR Child K").click()
    _arrive(page, "LCSPR Child K")
    # Removing it: a red button, then the page saying what will happen, then the red button that does it.
    page.get_by_role("button", name="Remove this review").click()
    _arrive(page, "Remove LCSPR Child K?")
    assert _axe(page) == []
    page.get_by_role("button", name="Remove the review").click()
    page.get_by_text("The review and its findings are removed from the register.").wait_for()
    assert _axe(page) == []
    assert watch.check() == []
