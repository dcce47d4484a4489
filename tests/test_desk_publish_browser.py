"""The desk's publication form in Chromium, with axe-core (no rule disabled): a weekend is refused on its field
with what was typed kept, a working day is recorded, and "Publish now" asks first."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session

from models.store import find_cycle
from reportcycle.settings import get_settings
from tasks.desk.central import set_central_text
from tasks.report.collate import collate
from tasks.review.review import apply_decisions, record_decision
from tests.browser import ScriptWatch
from tests.test_desk_publish import _settle
from tests.test_portal_browser import _axe
from tests.test_review_desk_browser import _arrive, _open, browser, portal  # noqa: F401  (fixtures)
from tests.test_review_desk_http import NOW

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases


def test_the_sign_off_in_the_browser(browser: Browser, portal: str, session: Session) -> None:  # noqa: F811
    _settle(session)
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    page.get_by_role("heading", level=2, name="Ready to publish").wait_for()
    day = page.get_by_role("group", name="The day to publish, if you chose one")
    assert _axe(page) == []

    page.get_by_label("Who signed the report off").fill("the Board at its meeting on 1 May")
    agreed = page.get_by_role("group", name="The date the board agreed the report")
    for part, value in (("Day", "1"), ("Month", "5"), ("Year", "2019")):
        agreed.get_by_label(part).fill(value)
    page.get_by_label("On a day I choose").check()
    for part, value in (("Day", "4"), ("Month", "5"), ("Year", "2019")):
        day.get_by_label(part).fill(value)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    problem = "Saturday 4 May 2019 is at a weekend: choose a working day, like Friday 3 May 2019 or Tuesday 7 May 2019"
    assert page.locator(".govuk-error-summary").get_by_role("link", name=problem).is_visible()
    assert problem in day.inner_text()  # the error on the field, what was typed kept
    assert page.get_by_label("On a day I choose").is_checked() and day.get_by_label("Day").input_value() == "4"
    assert _axe(page) == []

    day.get_by_label("Day").fill("8")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"done=publish-on$"))
    assert "published on the morning of Wednesday 8 May 2019" in page.locator(".govuk-inset-text").inner_text()
    assert _axe(page) == []
    session.expire_all()
    assert str(find_cycle(session).publish_on) == "2019-05-08"

    page.get_by_label("Who signed the report off").fill("the Board at its meeting on 1 May")
    for part, value in (("Day", "1"), ("Month", "5"), ("Year", "2019")):
        agreed.get_by_label(part).fill(value)
    page.get_by_label("Publish now").check()
    page.get_by_role("button", name="Continue").click()
    _arrive(page, "Publish the report now?")
    assert _axe(page) == []
    assert page.get_by_role("button", name="Publish the report").get_attribute("class") is not None
    assert "govuk-button--warning" in (
        page.get_by_role("button", name="Publish the report").get_attribute("class") or ""
    )
    assert watch.check() == []


def test_what_holds_publication_back_in_the_browser(browser: Browser, portal: str, session: Session) -> None:  # noqa: F811
    _settle(session)
    cycle = find_cycle(session)
    s = get_settings()
    set_central_text(
        session, cycle, "foreword", "Our foreword.\n\nNote for the business manager: shorten this.", at=NOW, actor="bm"
    )
    record_decision(session, cycle, "foreword", "approve", at=NOW, actor="chair")
    apply_decisions(session, cycle, at=NOW, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    collate(session, cycle, at=NOW, actor="bm", output_dir=s.output_dir, templates_dir=s.templates_dir)
    session.commit()
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    page.get_by_role("heading", level=3, name="Note for the business manager in Foreword").wait_for()
    assert _axe(page) == []
    page.get_by_label("Why it may be published as it is").fill("the Chair agreed it stays")
    page.get_by_role("button", name="Let this through").click()
    page.wait_for_url(re.compile(r"done=let-through$"))
    assert page.get_by_role("button", name="Let this through").count() == 0
    assert _axe(page) == []
    assert watch.check() == []
