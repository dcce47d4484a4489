"""The agency's journey in Chromium: by mouse and by keyboard, XSS payloads that must not run, and axe-core
(WCAG 2.2 AA and best practice, no rule disabled) on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page
from sqlmodel import Session, select

from models.partnership_file import parse
from models.revisions import add_revision
from models.store import contribution_for, cycle_values, find_agency, find_cycle
from reportcycle.clock import FixedClock
from reportcycle.mailsink import MailSink
from reportcycle.settings import get_settings
from tasks.contributions.content import markdown_to_html
from tasks.mail.dispatch import dispatch_due
from tasks.mail.smtp import SmtpConfig
from tasks.report.collate import collate
from tests.browser import ScriptWatch, chromium, portal_server
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle
from tests.test_pictures import picture

NOW = local("2019-05-01", "10:00")
PAYLOADS = [p for p in (Path(__file__).parent / "data" / "xss_payloads.txt").read_text().splitlines() if p.strip()]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def portal(database_url: str, session: Session) -> Iterator[tuple[str, dict[str, str]]]:
    """The portal on a real port over the opened example cycle; the personal links by address."""
    s = get_settings()
    links = open_example_cycle(session)
    with portal_server(s, FixedClock(NOW)) as url:
        yield url, links


def _lead(slug: str) -> str:
    agency = next(a for a in parse(EXAMPLE).agencies if a.slug == slug)
    return str(next(c.email for c in agency.contacts if c.role == "lead"))


def _axe(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


def test_journey_write_save_leave_return_submit_and_the_receipt_arrives(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    page = browser.new_page()
    watch = ScriptWatch(page)
    page.goto(f"{url}/c/{links[_lead('bct')]}")
    page.get_by_role("button", name="Continue to the contribution").click()
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    contribution_url = page.url
    page.get_by_label("Statutory role").fill("The Trust delivers children's social care.")
    page.get_by_label("Activity against each priority").fill("- Early help hubs\n- Audits")
    page.get_by_label("Looking ahead").fill("Recruit and keep social workers.")
    assert page.locator("#count-looking-ahead").inner_text() == "5 words of 300"  # counted as you type
    page.get_by_role("button", name="Save and come back later").click()
    page.wait_for_url(re.compile(r"saved=1$"))
    assert page.get_by_role("status").inner_text() == "Your text is saved."
    page.goto(f"{url}/")  # leave
    page.goto(contribution_url)  # and come back
    assert page.get_by_label("Looking ahead").input_value() == "Recruit and keep social workers."
    # a picture, with its description, into "Performance and impact"; then the preview shows it, loaded
    page.get_by_label("Section", exact=True).select_option(label="Performance and impact")
    page.get_by_label("Picture", exact=True).set_input_files(
        files=[{"name": "referrals.png", "mimeType": "image/png", "buffer": picture(size=(24, 16))}]
    )
    page.get_by_label(re.compile("^Alternative text")).fill("Chart: referrals by quarter, rising")
    page.get_by_role("button", name="Add the picture").click()
    page.wait_for_url(re.compile(r"done=image$"))
    assert "The picture is saved" in page.get_by_role("status").inner_text()
    assert (
        "![Chart: referrals by quarter, rising](/images/" in page.get_by_label("Performance and impact").input_value()
    )
    page.get_by_role("button", name="Preview").click()
    shown = page.get_by_role("img", name="Chart: referrals by quarter, rising")
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 24
    assert _axe(page) == []
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"submitted=1$"))
    assert "Submitted as revision 1" in page.get_by_role("status").inner_text()
    assert watch.check() == []
    with MailSink() as sink, ThreadPoolExecutor(1) as pool:
        # Playwright's sync API keeps an event loop in this thread; the dispatcher runs its own in another.
        s = get_settings()
        pool.submit(dispatch_due, s.database_url, at=NOW, worker="t", smtp=SmtpConfig(sink.host, sink.port)).result()
    receipts = [r for r in sink.received if r.kind == "receipt"]
    assert [r.rcpt_tos for r in receipts] == [(_lead("bct"),)]


def test_the_same_journey_by_keyboard_only(browser: Browser, portal: tuple[str, dict[str, str]]) -> None:
    url, links = portal
    page = browser.new_page()
    page.goto(f"{url}/c/{links[_lead('wmp')]}")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the partnership's name in the header
    page.keyboard.press("Tab")  # Continue
    assert page.evaluate("document.activeElement.textContent") == "Continue to the contribution"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "section-statutory-role"
    page.keyboard.type("We police the city.")
    page.keyboard.press("Tab")
    page.keyboard.type("Joint patrols.")
    page.keyboard.press("Tab")  # performance (optional)
    page.keyboard.press("Tab")
    page.keyboard.type("More of the same.")
    page.keyboard.press("Tab")  # the first key figure
    page.keyboard.type("40")
    page.keyboard.press("Tab")  # the second (optional)
    for control in ("word-file", "word-read", "image-section", "image-file", "image-alt"):  # reachable too
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == control
    page.keyboard.press("Tab")  # Add the picture
    page.keyboard.press("Tab")  # Save
    page.keyboard.press("Tab")  # Preview
    page.keyboard.press("Tab")  # Submit
    assert page.evaluate("document.activeElement.textContent") == "Submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"submitted=1"))
    assert "Submitted as revision 1" in page.get_by_role("status").inner_text()


def test_xss_payloads_in_every_field_run_neither_in_the_portal_nor_in_the_draft(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session, tmp_path: Path
) -> None:
    url, links = portal
    page = browser.new_page()
    watch = ScriptWatch(page)
    page.goto(f"{url}/c/{links[_lead('bcc')]}")
    page.get_by_role("button", name="Continue to the contribution").click()
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    text = "\n\n".join(PAYLOADS)
    for label in ("Statutory role", "Activity against each priority", "Performance and impact", "Looking ahead"):
        page.get_by_label(label).fill(text)
    page.get_by_role("button", name="Save and come back later").click()
    page.wait_for_url(re.compile(r"saved=1$"))  # the save has landed before the page is loaded again
    page.reload()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Preview: as it will appear in the report").wait_for()
    assert watch.check() == []

    # The same payloads as a submitted revision, collated into a draft and opened in Chromium.
    cycle = find_cycle(session)
    contribution = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    brief = cycle_values(cycle)[0]
    add_revision(
        session,
        contribution,
        {s.key: markdown_to_html(text, shift_headings=1) for s in brief.sections},
        brief=brief,
        source="test",
        at=NOW,
        actor="t",
    )
    s = get_settings()
    draft = collate(session, cycle, at=NOW, actor="t", output_dir=tmp_path, templates_dir=s.templates_dir)
    session.commit()
    draft_page = browser.new_page()
    draft_watch = ScriptWatch(draft_page)
    draft_page.goto(Path(draft.path).as_uri())
    assert draft_page.get_by_role("heading", name="Birmingham City Council").is_visible()
    assert draft_watch.check() == []


def test_the_script_watch_does_catch_a_script(browser: Browser) -> None:
    page = browser.new_page()
    watch = ScriptWatch(page)
    html = "<title>t</title><script>alert(1)</script><script>window.__xss()</script>"
    page.goto("data:text/html," + quote(html))  # a new document, so the watch's hook is installed
    page.wait_for_timeout(200)
    assert watch.check() == ["alert: 1", "hook"]


def test_axe_finds_nothing_on_any_portal_page(browser: Browser, portal: tuple[str, dict[str, str]]) -> None:
    url, links = portal
    page = browser.new_page()
    found = {}
    page.goto(f"{url}/")
    found["home"] = _axe(page)
    page.goto(f"{url}/c/not-a-real-token-at-all")
    found["link problem"] = _axe(page)
    page.goto(f"{url}/c/{links[_lead('nps')]}")
    found["landing"] = _axe(page)
    page.get_by_role("button", name="Continue to the contribution").click()
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    found["contribution"] = _axe(page)
    page.get_by_label("Statutory role").fill("word " * 400)
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("heading", name="It was not submitted yet").wait_for()
    found["refused submission"] = _axe(page)
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Preview: as it will appear in the report").wait_for()
    found["preview"] = _axe(page)
    page.get_by_role("button", name="Save and come back later").click()
    page.wait_for_url(re.compile(r"saved=1$"))
    found["saved"] = _axe(page)
    page.goto(f"{url}/no/such/page")
    found["not found"] = _axe(page)
    assert found == {name: [] for name in found}


def test_axe_does_fail_a_broken_page(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content("<html><body><img src='x.png'><input type='text'><a href='#'></a></body></html>")
    ids = {v.split(":")[0] for v in _axe(page)}
    assert {"image-alt", "label", "html-has-lang", "document-title"} <= ids


def test_typed_text_survives_every_other_form_and_enter_in_a_one_line_field(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    from models.portal import WorkingCopy

    url, links = portal
    page = browser.new_page()
    page.goto(f"{url}/c/{links[_lead('bsol-ccg')]}")
    page.get_by_role("button", name="Continue to the contribution").click()
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    contribution_url = page.url
    typed = {"Statutory role": "Typed, then asked for more time.", "Looking ahead": "Typed, then handed over."}
    # an extension the business manager cannot grant (before the deadline): refused, and the text is kept
    page.get_by_label("Statutory role").fill(typed["Statutory role"])
    page.get_by_label("The date you ask for").fill("2019-05-01")
    page.get_by_label("Why you need it").fill("Staff away.")
    page.get_by_role("button", name="Ask the business manager").click()
    assert "Ask for a date after the current deadline" in page.content()
    assert page.get_by_label("Statutory role").input_value() == typed["Statutory role"]
    assert "Your text is saved." in page.content()
    # a hand-over, then a sign-off: each saves the sections first
    page.get_by_label("Looking ahead").fill(typed["Looking ahead"])
    page.get_by_label("Their name").fill("Sam Writer")
    page.get_by_label("Their work email address").fill("sam.writer@bsol.example.org")
    page.get_by_role("button", name="Send them their own link").click()
    page.wait_for_url(re.compile(r"done=handover$"))
    page.get_by_label("Name of the senior officer who signed it off").fill("Dr A Chief")
    page.get_by_label("Their role").fill("Chief Nurse")
    page.get_by_role("button", name="Record the sign-off").click()
    page.wait_for_url(re.compile(r"done=signoff$"))
    page.goto(contribution_url)
    for label, text in typed.items():
        assert page.get_by_label(label).input_value() == text
    # Enter in the picture's one-line description saves; it does not try to read a Word document or add a picture
    page.get_by_label("Looking ahead").fill("Typed, then Enter.")
    page.get_by_label(re.compile("^Alternative text")).press("Enter")
    page.wait_for_url(re.compile(r"saved=1$"))
    session.expire_all()
    saved = session.exec(select(WorkingCopy)).one()
    assert saved.sections["looking-ahead"] == "Typed, then Enter."
