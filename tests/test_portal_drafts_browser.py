"""Nothing typed is lost, in Chromium: a section saves itself as a draft, leaving with unsaved text warns,
the other pages leave the text where it was, and Enter in a one-line field submits only its own page's form."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Dialog, Page, Route, expect
from sqlmodel import Session, select

from models.portal import WorkingCopy
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.browser import chromium, portal_server
from tests.helpers import local, open_example_cycle
from tests.test_portal_browser import _lead, _open

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases

NOW = local("2019-05-01", "10:00")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[tuple[str, dict[str, str]]]:
    links = open_example_cycle(session)
    with portal_server(get_settings(), FixedClock(NOW)) as url:
        yield url, links


def _type_into(page: Page, summary: str, key: str, text: str) -> None:
    """Open a section's page and type, as a person does (keystrokes, so the page counts as used)."""
    page.goto(f"{summary}/section/{key}")
    page.locator(f"#section-{key}").click()
    page.keyboard.type(text)


def test_a_section_saves_itself_without_pressing_save(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    page = browser.new_page()
    summary = _open(page, url, links[_lead("bcc")])
    _type_into(page, summary, "looking-ahead", "Typed and left alone.")
    status = page.locator("#draft-status")
    status.filter(has_text="Draft saved at 10:00").wait_for(timeout=10_000)  # the partnership's clock (BST)
    assert page.locator("input[name=version]").input_value() == "1"  # the page knows the draft's version
    page.reload()
    assert page.locator("#section-looking-ahead").input_value() == "Typed and left alone."
    # typing on, then pressing Save straight away: the page's Save follows its own draft without a clash
    page.locator("#section-looking-ahead").press("End")
    page.keyboard.type(" And more.")
    page.get_by_role("button", name="Save and return to the summary").click()
    page.wait_for_url(re.compile(r"done=saved$"))
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.sections == {"looking-ahead": "Typed and left alone. And more."}


def test_leaving_with_unsaved_text_warns_and_saving_does_not(
    browser: Browser, portal: tuple[str, dict[str, str]]
) -> None:
    url, links = portal
    context = browser.new_context()
    page = context.new_page()
    summary = _open(page, url, links[_lead("wmp")])
    dialogs: list[str] = []

    def seen(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", seen)
    _type_into(page, summary, "statutory-role", "Not saved yet.")
    page.get_by_role("link", name="Back to your contribution").click()
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"] and "/section/statutory-role" in page.url  # warned, and still here
    assert page.locator("#section-statutory-role").input_value() == "Not saved yet."
    page.get_by_role("button", name="Save and return to the summary").click()  # the form's own submit
    page.wait_for_url(re.compile(r"done=saved$"))
    assert dialogs == ["beforeunload"]
    # closing the tab with text typed since: warned too
    _type_into(page, summary, "looking-ahead", "Also not saved.")
    page.close(run_before_unload=True)  # the warning is dismissed: the tab stays open, the text with it
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload", "beforeunload"] and not page.is_closed()
    context.close()


def test_typed_text_survives_every_other_page_and_enter_submits_only_its_own_form(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    page = browser.new_page()
    summary = _open(page, url, links[_lead("bsol-ccg")])
    _type_into(page, summary, "statutory-role", "Typed, then asked for more time.")
    page.locator("#draft-status").filter(has_text="Draft saved").wait_for(timeout=10_000)
    # an extension the business manager cannot grant (before the deadline): refused on the date, text untouched
    page.goto(f"{summary}/extension")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("5")
    page.get_by_label("Year").fill("2019")
    page.get_by_label("Why you need more time").fill("Staff away.")
    page.get_by_role("button", name="Ask the business manager").click()
    page.locator(".govuk-error-summary").wait_for()
    error = page.locator(".govuk-error-summary a")
    assert "Ask for a date after the current deadline" in error.inner_text()
    error.click()  # the summary's link takes the focus to the day field
    expect(
        page.locator("#until-day")
    ).to_be_focused()  # GOV.UK Frontend's script does it: awaited, as it loads late on a busy machine
    # a hand-over, then a sign-off, each on its own page
    page.goto(f"{summary}/handover")
    page.get_by_label("Their name").fill("Sam Writer")
    page.get_by_label("Their work email address").fill("sam.writer@bsol.example.org")
    page.get_by_role("button", name="Send them their own link").click()
    page.wait_for_url(re.compile(r"done=handover$"))
    page.goto(f"{summary}/signoff")
    page.get_by_label("Name of the senior officer who signed it off").fill("Dr A Chief")
    page.get_by_label("Their role").press("Enter")  # Enter in a one-line field: this form, with its error
    page.locator(".govuk-error-summary").wait_for()
    assert [a.inner_text() for a in page.locator(".govuk-error-summary a").all()] == [
        "Enter their role, like Director of Children's Services"
    ]
    page.get_by_label("Their role").fill("Chief Nurse")
    page.get_by_label("Their role").press("Enter")
    page.wait_for_url(re.compile(r"done=signoff$"))
    page.goto(f"{summary}/section/statutory-role")
    assert page.locator("#section-statutory-role").input_value() == "Typed, then asked for more time."
    # Enter in the picture's description posts the picture form only: no Word document is read
    page.goto(f"{summary}/picture")
    page.get_by_label("Alternative text").fill("A chart")
    page.get_by_label("Alternative text").press("Enter")
    page.locator(".govuk-error-summary").wait_for()
    assert [a.inner_text() for a in page.locator(".govuk-error-summary a").all()] == [
        "Choose a picture to add (a PNG or JPEG file)."
    ]
    assert page.get_by_label("Alternative text").input_value() == "A chart"
    session.expire_all()
    assert session.exec(select(WorkingCopy)).one().sections == {"statutory-role": "Typed, then asked for more time."}


def test_save_pressed_while_a_draft_is_on_its_way_waits_for_it(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    page = browser.new_page()
    summary = _open(page, url, links[_lead("roh")])
    held: list[Route] = []
    page.route("**/draft", lambda route: held.append(route))  # the draft's request waits until the test lets it go
    _type_into(page, summary, "statutory-role", "Typed, then Save at once.")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert len(held) == 1
    page.get_by_role("button", name="Save and return to the summary").click()
    page.wait_for_timeout(300)
    assert page.url.endswith("/section/statutory-role")  # the form waits for its draft
    held[0].continue_()
    page.wait_for_url(re.compile(r"done=saved$"))  # then goes, with the draft's version: no clash
    copy = session.exec(select(WorkingCopy)).one()
    assert (copy.sections, copy.version) == ({"statutory-role": "Typed, then Save at once."}, 2)
