"""Planning the next cycle in Chromium, with axe-core (no rule disabled) on every page: created from this year's,
a deadline on the Spring bank holiday refused with the working days either side offered, the day after chosen,
and the calendar showing it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser
from sqlmodel import Session, select

from models.cycle import Cycle
from tests.browser import ScriptWatch
from tests.test_portal_browser import _axe
from tests.test_review_desk_browser import _arrive, _open, browser, portal  # noqa: F401  (fixtures)

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases


def test_the_next_cycle_in_the_browser(browser: Browser, portal: str, session: Session) -> None:  # noqa: F811
    page = browser.new_page()
    watch = ScriptWatch(page)
    _open(page, portal, session, "manager")
    page.wait_for_url(re.compile(r"/desk/\d+$"))
    page.get_by_role("link", name="Plan the next cycle").click()
    _arrive(page, "Plan the next cycle")
    assert _axe(page) == []
    page.get_by_label("From Annual Report 2018/19").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/next/\d+\?done=created$"))
    assert page.locator(".govuk-inset-text").inner_text() == "Requests will go out at 09:00 on Wednesday 15 April 2020."
    assert _axe(page) == []

    due = page.get_by_role("group", name="Contributions due", exact=True)
    assert due.get_by_label("Day").input_value() == "20"
    due.get_by_label("Day").fill("25")
    page.get_by_role("button", name="Save the dates").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    problem = (
        "Monday 25 May 2020 is Spring Bank Holiday, a bank holiday: choose a working day, like Friday 22 May 2020 "
        "or Tuesday 26 May 2020"
    )
    assert page.locator(".govuk-error-summary").get_by_role("link", name=problem).is_visible()
    assert problem in due.inner_text() and due.get_by_label("Day").input_value() == "25"
    choices = page.get_by_role("group", name="Use a working day instead (Contributions due)")
    assert choices.get_by_role("radio").count() == 2
    assert _axe(page) == []

    choices.get_by_label("Tuesday 26 May 2020, the working day after").check()
    page.get_by_role("button", name="Save the dates").click()
    page.wait_for_url(re.compile(r"\?done=saved$"))
    assert due.get_by_label("Day").input_value() == "26"
    session.expire_all()
    planned = session.exec(select(Cycle).where(Cycle.label == "2019/20")).one()
    assert planned.contributions_due == dt.date(2020, 5, 26)

    page.get_by_role("link", name="What will happen").click()
    _arrive(page, "What will happen")
    may = page.get_by_role("table", name="May 2020")
    tuesday = may.get_by_role("cell", name=re.compile("^Tuesday 26 May 2020"))
    assert "Contributions due (by 17:00)" in tuesday.inner_text()
    assert "Spring Bank Holiday" in may.get_by_role("cell", name=re.compile("^Monday 25 May 2020")).inner_text()
    assert _axe(page) == []
    assert watch.check() == []
