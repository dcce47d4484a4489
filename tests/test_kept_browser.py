"""A tab left open overnight, in Chromium: the session ends between typing and Save, the text is kept, and a
fresh link asked for from the page it lands on puts it back. axe checks the pages on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session, col, select

from models.outbox import OutboundEmail
from models.portal import KeptPost, WorkingCopy
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.browser import chromium, portal_server
from tests.helpers import local, open_example_cycle
from tests.test_portal_browser import _axe, _open

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases

LEAD = "harriet.lowe@bcc.example.org"  # Birmingham City Council's lead in the example
EVENING = local("2019-05-01", "17:30")
NEXT_MORNING = local("2019-05-02", "08:45")  # past the 12-hour session
TYPED = "We commissioned two reviews.\n\nBoth are complete."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def test_text_typed_before_the_session_ended_comes_back_after_a_fresh_link(
    browser: Browser, database_url: str, session: Session
) -> None:
    links = open_example_cycle(session)
    clock = FixedClock(EVENING)
    with portal_server(get_settings(), clock) as url:
        page = browser.new_page()
        summary = _open(page, url, links[LEAD])
        page.goto(f"{summary}/section/statutory-role")
        clock.set(NEXT_MORNING)  # the person went home with the tab open
        page.locator("#section-statutory-role").fill(TYPED)
        page.get_by_role("button", name="Save and return to the summary").click()
        page.get_by_role("heading", name="You were signed out, but your text is kept").wait_for()
        assert _axe(page) == []
        session.expire_all()
        assert session.exec(select(WorkingCopy)).first() is None  # nothing written while signed out
        assert [k.sections for k in session.exec(select(KeptPost))] == [{"statutory-role": TYPED}]

        page.get_by_label("Your work email address").fill(LEAD)
        page.get_by_role("button", name="Send me a new link").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        row = session.exec(
            select(OutboundEmail).where(OutboundEmail.kind == "fresh_link").order_by(col(OutboundEmail.id).desc())
        ).first()
        assert row is not None and row.to_addrs == [LEAD]
        (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", row.text_body)

        page.goto(f"{url}/c/{token}")
        page.get_by_role("button", name="Continue to the contribution").click()
        page.wait_for_url(re.compile(r"/contribution/\d+\?done=restored$"))
        assert "The text you typed before you were signed out is back in your contribution." in page.inner_text("main")
        page.goto(f"{summary}/section/statutory-role")
        assert page.locator("#section-statutory-role").input_value() == TYPED


def test_kept_text_someone_saved_over_is_shown_to_copy_from(
    browser: Browser, database_url: str, session: Session
) -> None:
    links = open_example_cycle(session)
    clock = FixedClock(EVENING)
    with portal_server(get_settings(), clock) as url:
        context = browser.new_context()
        left_open = context.new_page()
        summary = _open(left_open, url, links[LEAD])
        left_open.goto(f"{summary}/section/statutory-role")
        other_tab = context.new_page()
        other_tab.goto(f"{summary}/section/statutory-role")
        other_tab.locator("#section-statutory-role").fill("Written in the other tab.")
        other_tab.get_by_role("button", name="Save and return to the summary").click()
        other_tab.wait_for_url(re.compile(r"done=saved$"))
        clock.set(NEXT_MORNING)
        left_open.locator("#section-statutory-role").fill(TYPED)
        left_open.get_by_role("button", name="Save and return to the summary").click()
        left_open.get_by_role("heading", name="You were signed out, but your text is kept").wait_for()
        token = links[LEAD]  # the request's own link still works: it lasts the cycle
        left_open.goto(f"{url}/c/{token}")
        left_open.get_by_role("button", name="Continue to the contribution").click()
        left_open.wait_for_url(re.compile(r"/contribution/\d+/kept/\d+$"))
        main = left_open.inner_text("main")
        assert "We commissioned two reviews." in main and "Someone saved this contribution after you typed" in main
        assert _axe(left_open) == []
        session.expire_all()
        copy = session.exec(select(WorkingCopy)).one()
        assert copy.sections["statutory-role"] == "Written in the other tab."
