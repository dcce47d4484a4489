"""The desk's "address fixed" form in Chromium, with axe-core (no rule disabled): a contact whose address
bounced, corrected on the agency's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session, select

from models.partnership import Contact
from models.store import find_cycle
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.browser import ScriptWatch, chromium, portal_server
from tests.helpers import open_example_cycle
from tests.test_portal_browser import _axe
from tests.test_review_desk_browser import NOW, _open

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases

LEAD = "gareth.millward@nps.example.org"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[str]:
    open_example_cycle(session)
    # What a bounce read from the mailbox leaves on the contact (tests/test_inbound.py reads a real one).
    contact = session.exec(select(Contact).where(Contact.email == LEAD)).one()
    contact.undeliverable = "bounced on Wednesday 1 May 2019: 550 5.1.1 User unknown"
    session.add(contact)
    session.commit()
    with portal_server(get_settings(), FixedClock(NOW)) as url:
        yield url


def test_a_bounced_address_is_corrected_on_the_agency_page(browser: Browser, portal: str, session: Session) -> None:
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(f"{portal}/desk/*")
    page.goto(f"{portal}/desk/{find_cycle(session).id}/agency/nps")
    page.get_by_role("heading", name="Gareth Millward's address bounces").wait_for()
    assert _axe(page) == []

    page.get_by_label("Correct Gareth Millward's email address").fill("g.millward@nps.example.org")
    page.get_by_role("button", name="Save the address: it works").click()
    page.get_by_text("The address is put right: the next chaser goes to it again.").wait_for()
    assert _axe(page) == []
    assert "g.millward@nps.example.org" in page.inner_text("main") and "Bounces" not in page.inner_text("main")
    assert watch.check() == []
