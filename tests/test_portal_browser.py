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
from sqlmodel import Session

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
from tests.test_word_import import word
from tests.test_word_portal import DOCX, with_pictures

pytestmark = pytest.mark.once  # the HTTP tests check these pages' database work on both databases

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


def _open(page: Page, url: str, token: str) -> str:
    """Follow a personal link into the contribution; its summary's address."""
    page.goto(f"{url}/c/{token}")
    page.get_by_role("button", name="Continue to the contribution").click()
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    return page.url


def _write(page: Page, title: str, text: str, button: str = "Save and return to the summary") -> None:
    """From the summary: open a section's page, write in it, save."""
    page.get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(re.compile(r"/section/[a-z-]+$"))  # loaded, its script running
    page.get_by_label(f"Your text for “{title}”").fill(text)
    page.get_by_role("button", name=button).click()


def test_journey_write_save_leave_return_submit_and_the_receipt_arrives(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    page = browser.new_page()
    watch = ScriptWatch(page)
    summary = _open(page, url, links[_lead("bct")])
    assert page.get_by_role("heading", level=1).inner_text() == "Annual Report 2018/19"
    _write(page, "Statutory role", "The Trust delivers children's social care.")
    page.wait_for_url(re.compile(r"done=saved$"))
    assert "Your text is saved." in page.locator(".govuk-notification-banner").inner_text()
    _write(page, "Activity against each priority", "- Early help hubs\n- Audits")
    page.get_by_role("link", name="Looking ahead", exact=True).click()
    page.wait_for_url(re.compile(r"/section/looking-ahead$"))
    page.get_by_label("Your text for “Looking ahead”").fill("Recruit and keep social workers.")
    assert page.locator("#count-looking-ahead").inner_text() == "5 words of 300"  # counted as you type
    page.get_by_role("button", name="Save and stay").click()
    page.wait_for_url(re.compile(r"saved=1$"))
    page.goto(f"{url}/")  # leave
    page.goto(summary)  # and come back
    assert "Completed" in page.locator(".govuk-task-list__item", has_text="Looking ahead").inner_text()
    # a picture, with its description, into "Performance and impact"; then check your answers shows it, loaded
    page.get_by_role("link", name="Add a picture").click()
    page.get_by_label("Section", exact=True).select_option(label="Performance and impact")
    page.get_by_label("Picture", exact=True).set_input_files(
        files=[{"name": "referrals.png", "mimeType": "image/png", "buffer": picture(size=(24, 16))}]
    )
    page.get_by_label("Alternative text").fill("Chart: referrals by quarter, rising")
    page.get_by_role("button", name="Add the picture").click()
    page.wait_for_url(re.compile(r"done=image$"))
    assert "The picture is saved" in page.locator(".govuk-notification-banner").inner_text()
    page.get_by_role("link", name="Check your answers and submit").click()
    shown = page.get_by_role("img", name="Chart: referrals by quarter, rising")
    # decode() waits for the picture to arrive (a loaded machine may not have fetched it yet) and fails if it is broken
    assert shown.evaluate("img => img.decode().then(() => img.naturalWidth)") == 24
    assert _axe(page) == []
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/submitted\?revision=1$"))
    assert "Contribution submitted" in page.locator(".govuk-panel").inner_text()
    assert watch.check() == []
    with MailSink() as sink, ThreadPoolExecutor(1) as pool:
        # Playwright's sync API keeps an event loop in this thread; the dispatcher runs its own in another.
        s = get_settings()
        pool.submit(dispatch_due, s.database_url, at=NOW, worker="t", smtp=SmtpConfig(sink.host, sink.port)).result()
    receipts = [r for r in sink.received if r.kind == "receipt"]
    # the deputy is copied: the receipt cancels the deadline's calendar entry both were sent
    assert [r.rcpt_tos for r in receipts] == [(_lead("bct"), "oliver.brankley@bct.example.org")]


def _tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Press Tab until the focus is on the control with this text (or id): only what a keyboard user does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("[document.activeElement.id, document.activeElement.textContent.trim()]")
        if name in here:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_the_same_journey_by_keyboard_only(browser: Browser, portal: tuple[str, dict[str, str]]) -> None:
    url, links = portal
    page = browser.new_page()
    page.goto(f"{url}/c/{links[_lead('wmp')]}")
    _tab_to(page, "Continue to the contribution", limit=3)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/contribution/\d+$"))
    for title, text in (
        ("Statutory role", "We police the city."),
        ("Activity against each priority", "Joint patrols."),
        ("Looking ahead", "More of the same."),
    ):
        _tab_to(page, title)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/section/"))
        _tab_to(page, "section-" + page.url.rsplit("/", 1)[1])
        page.keyboard.type(text)
        _tab_to(page, "Save and return to the summary")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"done=saved$"))
    _tab_to(page, "Key figures for the year")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/figures$"))
    _tab_to(page, "figure-staff-trained")
    page.keyboard.type("40")
    page.keyboard.press("Enter")  # a single-line field submits its own page's form, and only that
    page.wait_for_url(re.compile(r"done=saved$"))
    _tab_to(page, "Check your answers and submit")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/check$"))
    _tab_to(page, "Submit")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/submitted"))
    assert page.locator(".govuk-panel__title").inner_text() == "Contribution submitted"


def test_xss_payloads_in_every_field_run_neither_in_the_portal_nor_in_the_draft(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session, tmp_path: Path
) -> None:
    url, links = portal
    page = browser.new_page()
    watch = ScriptWatch(page)
    summary = _open(page, url, links[_lead("bcc")])
    text = "\n\n".join(PAYLOADS)
    for title in ("Statutory role", "Activity against each priority", "Performance and impact", "Looking ahead"):
        _write(page, title, text)
        page.wait_for_url(re.compile(r"done=saved$"))  # the save has landed before the next page
    page.goto(summary)  # the summary, the section pages and check your answers all show it
    page.goto(f"{summary}/section/statutory-role")
    page.goto(f"{summary}/check")
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


def test_axe_finds_nothing_on_any_portal_page(
    browser: Browser, portal: tuple[str, dict[str, str]], session: Session
) -> None:
    url, links = portal
    context = browser.new_context()  # two tabs of one browser, for the conflict page
    page = context.new_page()
    found = {}

    def check(name: str) -> None:
        found[name] = _axe(page)

    page.goto(f"{url}/")
    check("home")
    page.goto(f"{url}/c/not-a-real-token-at-all")
    check("link problem")
    page.goto(f"{url}/c/{links[_lead('nps')]}")
    check("landing")
    summary = _open(page, url, links[_lead("nps")])
    check("summary")
    page.goto(f"{summary}/section/priority-activity")
    check("section, with priorities")
    page.get_by_label("Your text for “Activity against each priority”").fill("word " * 901)
    page.get_by_role("button", name="Save and stay").click()
    page.wait_for_url(re.compile(r"saved=1$"))
    check("section, over its limit")
    page.goto(f"{summary}/figures")
    check("key figures")
    page.get_by_label("Staff trained in safeguarding children").fill("lots")
    page.get_by_role("button", name="Save and return to the summary").click()
    page.get_by_role("link", name=re.compile("should be a number")).wait_for()
    check("key figures, refused")
    page.goto(f"{summary}/check")
    check("check your answers, with the preview")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("link", name=re.compile("Looking ahead” is required")).wait_for()
    check("check your answers, refused")
    for where, button in (
        ("extension", "Ask the business manager"),
        ("handover", "Send them their own link"),
        ("signoff", "Record the sign-off"),
        ("word", "Read the document"),
        ("picture", "Add the picture"),
    ):
        page.goto(f"{summary}/{where}")
        check(where)
        page.get_by_role("button", name=button).click()
        page.locator(".govuk-error-summary").wait_for()
        check(f"{where}, refused")
    page.goto(f"{summary}/word")
    page.get_by_label("Word document").set_input_files(
        files=[{"name": "ours.docx", "mimeType": DOCX, "buffer": word(with_pictures)}]
    )
    page.get_by_role("button", name="Read the document").click()
    page.get_by_role("heading", name="Where each heading went").wait_for()
    check("word confirm")
    page.get_by_role("button", name="Use this as my draft").click()  # a picture without its description
    page.locator(".govuk-error-summary").wait_for()
    check("word confirm, refused")
    # two tabs: the second save meets the conflict page
    other = context.new_page()
    other.goto(f"{summary}/section/looking-ahead")  # the same browser context: signed in too
    page.goto(f"{summary}/section/looking-ahead")
    page.get_by_label("Your text for “Looking ahead”").fill("From the first tab.")
    page.get_by_role("button", name="Save and return to the summary").click()
    page.wait_for_url(re.compile(r"done=saved$"))
    other.get_by_label("Your text for “Looking ahead”").fill("From the second tab.")
    other.get_by_role("button", name="Save and return to the summary").click()
    other.get_by_role("heading", name="Someone else saved this contribution").wait_for()
    found["conflict"] = _axe(other)
    # complete what the brief requires, then submit: the confirmation page
    page.goto(f"{summary}/section/priority-activity")
    page.get_by_label("Your text for “Activity against each priority”").fill("Done.")
    page.get_by_role("button", name="Save and return to the summary").click()
    page.wait_for_url(re.compile(r"done=saved$"))
    _write(page, "Statutory role", "Our role.")
    page.wait_for_url(re.compile(r"done=saved$"))
    page.goto(f"{summary}/figures")
    page.get_by_label("Staff trained in safeguarding children").fill("12")
    page.get_by_role("button", name="Save and return to the summary").click()
    page.wait_for_url(re.compile(r"done=saved$"))
    check("summary, saved")
    page.goto(f"{summary}/check")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/submitted"))
    check("confirmation")
    cycle = find_cycle(session)
    contribution = contribution_for(session, cycle, find_agency(session, cycle, "nps"))
    contribution.status = "approved"
    session.add(contribution)
    session.commit()
    page.goto(summary)
    page.get_by_text("Thank you: there is nothing more to do.").wait_for()
    check("closed contribution")
    page.goto(f"{url}/no/such/page")
    check("not found")
    assert found == {name: [] for name in found}


def test_axe_does_fail_a_broken_page(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content("<html><body><img src='x.png'><input type='text'><a href='#'></a></body></html>")
    ids = {v.split(":")[0] for v in _axe(page)}
    assert {"image-alt", "label", "html-has-lang", "document-title"} <= ids
