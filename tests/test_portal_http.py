"""The agency's portal over HTTP: links that survive scanners, sessions, CSRF, save/check/submit,
conflicts, fresh links, and no way into another agency's contribution."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, func, select

from models.audit import AuditEvent
from models.cycle import PersonalLink
from models.outbox import OutboundEmail
from models.partnership_file import parse
from models.portal import PortalSession, WorkingCopy
from models.store import contribution_for, find_agency, find_cycle
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.agency_pages import error_links
from tests.conftest import EXAMPLE
from tests.helpers import local, open_example_cycle

NOW = local("2019-05-01", "10:00")


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def client(database_url: str, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), clock), follow_redirects=False) as c:
        yield c


def _lead(slug: str) -> str:
    spec = parse(EXAMPLE)
    agency = next(a for a in spec.agencies if a.slug == slug)
    return str(next(c.email for c in agency.contacts if c.role == "lead"))


def _enter(client: TestClient, token: str) -> str:
    """Exchange a link for a session; returns the contribution page's path."""
    response = client.post(f"/c/{token}")
    assert response.status_code == 303
    return response.headers["location"]


def _form(client: TestClient, path: str) -> dict[str, str]:
    """The csrf token and version a section page carries."""
    html = client.get(f"{path}/section/statutory-role").text
    return dict(re.findall(r'name="(csrf|version)" value="([^"]*)"', html))


def _save(client: TestClient, path: str, key: str, text: str, action: str = "return") -> Response:
    """Save one section from its page, as the page's form does."""
    fields = {**_form(client, path), f"section-{key}": text, "action": action}
    return client.post(f"{path}/section/{key}", data=fields)


def test_opening_a_link_changes_nothing_and_sends_no_referrer(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    token = links[_lead("bcc")]
    before = (
        session.exec(select(func.count()).select_from(PortalSession)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )
    for _ in range(3):  # a mail scanner, then the person, then the scanner again
        response = client.get(f"/c/{token}")
        assert response.status_code == 200
        assert "Continue to the contribution" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in response.headers
    after = (
        session.exec(select(func.count()).select_from(PortalSession)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )
    assert before == after
    path = _enter(client, token)
    assert re.fullmatch(r"/contribution/\d+", path) and token not in path
    page = client.get(path)
    assert page.status_code == 200 and "Birmingham City Council" in page.text and token not in page.text


@pytest.mark.parametrize("problem", ["tampered", "expired", "revoked"])
def test_a_bad_link_gets_a_clear_page_with_a_way_to_a_fresh_one(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock, problem: str
) -> None:
    token = links[_lead("bcc")]
    if problem == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif problem == "expired":
        clock.set(local("2019-09-01"))
    else:
        for link in session.exec(select(PersonalLink)):
            link.revoked_at = NOW
            session.add(link)
        session.commit()
    response = client.get(f"/c/{token}")
    assert response.status_code in (404, 410)
    expected = {"tampered": "not one we recognise", "expired": "has expired", "revoked": "has been withdrawn"}
    assert expected[problem] in response.text
    assert 'action="/link/fresh"' in response.text
    assert client.post(f"/c/{token}").status_code == 410


def test_a_link_never_shows_another_agencys_contribution(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    own = _enter(client, links[_lead("bcc")])
    cycle = find_cycle(session)
    other = contribution_for(session, cycle, find_agency(session, cycle, "wmp"))
    for page in ("", "/check", "/section/statutory-role", "/figures", "/extension", "/word", "/picture"):
        response = client.get(f"/contribution/{other.id}{page}")
        assert response.status_code == 403 and "West Midlands Police" not in response.text, page
    fields = _form(client, own)
    for page in ("", "/section/statutory-role", "/figures", "/submit", "/signoff", "/picture", "/word/confirm"):
        posted = client.post(f"/contribution/{other.id}{page}", data={**fields, "section-statutory-role": "Mine."})
        assert posted.status_code == 403, page
    assert session.exec(select(WorkingCopy)).all() == []
    # and no session at all
    anonymous = TestClient(client.app, follow_redirects=False)
    assert anonymous.get(own).status_code == 403


def test_save_come_back_check_submit_and_the_receipt_is_queued(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("nps")])
    saved = _save(client, path, "statutory-role", "We supervise offenders.\n\n#### Our teams\n\nThree teams.")
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?done=saved"
    assert "Your text is saved." in client.get(saved.headers["location"]).text
    stay = _save(client, path, "priority-activity", "- **Training** for all staff\n- Audits", action="stay")
    assert stay.headers["location"] == f"{path}/section/priority-activity?saved=1"
    again = client.get(stay.headers["location"])
    assert "- **Training** for all staff" in again.text and 'name="version" value="2"' in again.text
    _save(client, path, "looking-ahead", "More *joint* work.")
    copy = session.exec(select(WorkingCopy)).one()
    assert set(copy.sections) == {"statutory-role", "priority-activity", "looking-ahead"}  # each kept the others
    check = client.get(f"{path}/check")
    assert "<strong>Training</strong>" in check.text and "<h5>Our teams</h5>" in check.text
    assert f'href="{path}/section/looking-ahead"' in check.text and "3 words of 300" in check.text
    submitted = client.post(f"{path}/submit", data={"csrf": _form(client, path)["csrf"]})
    assert submitted.status_code == 303 and submitted.headers["location"] == f"{path}/submitted?revision=1"
    done = client.get(submitted.headers["location"]).text
    assert "govuk-panel" in done and "Contribution submitted" in done and "Revision 1" in done
    assert "receipt" in done and "returned to you" in done
    receipt = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "receipt")).one()
    assert receipt.to_addrs == [_lead("nps")]
    summary = client.get(path).text
    assert "With the Chair" in summary


def test_a_refused_submission_links_each_problem_to_its_page(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("uhb")])
    _save(client, path, "statutory-role", "word " * 301)
    _save(client, path, "priority-activity", "Done.")
    response = client.post(f"{path}/submit", data={"csrf": _form(client, path)["csrf"]})
    assert response.status_code == 422 and "There is a problem" in response.text
    assert error_links(response.text) == [
        (
            f"{path}/section/statutory-role#section-statutory-role",
            "“Statutory role” has 301 words; the limit is 300. Shorten it by 1.",
        ),
        (f"{path}/section/looking-ahead#section-looking-ahead", "“Looking ahead” is required: write something in it."),
    ]
    assert session.exec(select(WorkingCopy)).one().sections["statutory-role"].startswith("word word")
    cycle = find_cycle(session)
    assert contribution_for(session, cycle, find_agency(session, cycle, "uhb")).status == "requested"
    # the section page says it on the field too
    section = client.get(f"{path}/section/statutory-role").text
    assert 'aria-describedby="section-statutory-role-hint section-statutory-role-error"' in section
    assert "301 words of 300" in section


def test_two_tabs_the_second_save_gets_a_conflict_page(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bwc")])
    tab_one, tab_two = _form(client, path), _form(client, path)
    first = client.post(f"{path}/section/statutory-role", data={**tab_one, "section-statutory-role": "From tab one."})
    assert first.status_code == 303
    second = client.post(f"{path}/section/statutory-role", data={**tab_two, "section-statutory-role": "From tab two."})
    assert second.status_code == 409
    assert "From tab one." in second.text and "From tab two." in second.text
    assert session.exec(select(WorkingCopy)).one().sections["statutory-role"] == "From tab one."
    # choosing "keep my version" posts it against the version now saved
    keep = dict(re.findall(r'name="(csrf|version|section-[^"]+)" value="([^"]*)"', second.text))
    chosen = client.post(path, data=keep)
    assert chosen.status_code == 303
    session.expire_all()
    assert session.exec(select(WorkingCopy)).one().sections["statutory-role"] == "From tab two."


def test_forms_need_the_csrf_token(client: TestClient, session: Session, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    fields = {**_form(client, path), "csrf": "forged", "section-statutory-role": "Forged."}
    for page in ("", "/section/statutory-role", "/figures", "/submit", "/extension", "/handover", "/signoff"):
        response = client.post(f"{path}{page}", data=fields)
        assert response.status_code == 403 and "expired" in response.text, page
    assert session.exec(select(WorkingCopy)).all() == []


def test_fresh_link_is_sent_to_the_registered_address_and_rate_limited(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock
) -> None:
    import datetime as dt

    address = _lead("wmp")
    for minute in range(5):  # five requests ten minutes apart: three links in the hour, then none
        clock.set(NOW + dt.timedelta(minutes=10 * minute))
        response = client.post("/link/fresh", data={"email": address.upper()})
        assert response.status_code == 200 and "If that address is registered" in response.text
    unknown = client.post("/link/fresh", data={"email": "nobody@example.org"})
    assert unknown.status_code == 200 and "If that address is registered" in unknown.text
    sent = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "fresh_link")).all()
    assert len(sent) == 3 and {r.to_addrs[0] for r in sent} == {address}
    assert (
        session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "link.fresh.rate_limited")
        ).one()
        == 2
    )
    clock.set(NOW + dt.timedelta(hours=2))  # an hour later the limit has passed
    client.post("/link/fresh", data={"email": address})
    assert len(session.exec(select(OutboundEmail).where(OutboundEmail.kind == "fresh_link")).all()) == 4
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", sent[0].text_body)
    assert client.post(f"/c/{token}").status_code == 303


def test_pages_and_errors(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200 and 'lang="en-GB"' in home.text and "Ask for a new link" in home.text
    # /health (database, SMTP, Prefect, the daily chase) is tested in test_sweep_and_health.py
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert client.get("/static/portal.js").status_code == 200
    assert "default-src 'self'" in home.headers["content-security-policy"]


def test_an_approved_contribution_is_read_only(client: TestClient, session: Session, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("roh")])
    fields = _form(client, path)
    cycle = find_cycle(session)
    contribution = contribution_for(session, cycle, find_agency(session, cycle, "roh"))
    contribution.status = "approved"
    session.add(contribution)
    session.commit()
    page = client.get(path)
    assert "This contribution is approved" in page.text and "govuk-task-list" not in page.text
    assert f'href="{path}/extension"' not in page.text
    assert client.get(f"{path}/section/statutory-role").headers["location"] == path
    refused = client.post(f"{path}/section/statutory-role", data={**fields, "section-statutory-role": "Late."})
    assert refused.status_code == 409 and session.exec(select(WorkingCopy)).all() == []


def test_extension_request_handover_and_sign_off(client: TestClient, session: Session, links: dict[str, str]) -> None:
    from models.partnership import Contact
    from models.portal import ExtensionRequest

    path = _enter(client, links[_lead("swbh")])
    csrf = _form(client, path)["csrf"]

    def ask(day: str, month: str, year: str, reason: str) -> Response:
        data = {"csrf": csrf, "until-day": day, "until-month": month, "until-year": year, "reason": reason}
        return client.post(f"{path}/extension", data=data)

    too_early = ask("10", "5", "2019", "busy")
    assert too_early.status_code == 422 and "after the current deadline, Monday 20 May 2019" in too_early.text
    assert 'href="#until-day"' in too_early.text and 'value="busy"' not in too_early.text  # a textarea keeps it
    assert ">busy</textarea>" in too_early.text
    asked = ask("3", "6", "2019", "Inspection.")
    assert asked.status_code == 303
    assert "gone to the business manager" in client.get(asked.headers["location"]).text
    again = ask("5", "6", "2019", "More.")
    assert again.status_code == 422 and "already asked for Monday 3 June 2019" in again.text
    request = session.exec(select(ExtensionRequest)).one()
    assert (request.requested_until.isoformat(), request.status, request.requested_by) == (
        "2019-06-03",
        "pending",
        _lead("swbh"),
    )
    to_manager = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "extension_request")).one()
    assert to_manager.to_addrs == [str(parse(EXAMPLE).partnership.business_manager.email)]
    assert to_manager.reply_to == _lead("swbh") and "Inspection." in to_manager.text_body
    from tasks.desk.desk import extend

    cycle = find_cycle(session)
    s = get_settings()
    extend(
        session,
        cycle,
        contribution_for(session, cycle, find_agency(session, cycle, "swbh")),
        request.requested_until,
        at=NOW,
        actor="bm",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    session.refresh(request)
    assert (request.status, request.decided_by) == ("granted", "bm")

    bad = client.post(f"{path}/handover", data={"csrf": csrf, "name": "Sam Writer", "email": "not-an-address"})
    assert bad.status_code == 422 and "does not look right" in bad.text and 'href="#email"' in bad.text
    assert 'value="Sam Writer"' in bad.text  # what was typed comes back
    handed = client.post(
        f"{path}/handover", data={"csrf": csrf, "name": "Sam Writer", "email": "sam.writer@swbh.example.org"}
    )
    assert handed.status_code == 303
    email = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "handover")).one()
    assert email.to_addrs == ["sam.writer@swbh.example.org"] and email.cc_addrs == [_lead("swbh")]
    writer = session.exec(select(Contact).where(Contact.role == "writer")).one()
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", email.text_body)
    colleague = TestClient(client.app, follow_redirects=False)
    assert colleague.post(f"/c/{token}").headers["location"] == path  # the same contribution, their own session
    assert "Sam Writer" in colleague.get(path).text and writer.email == "sam.writer@swbh.example.org"

    signed = client.post(f"{path}/signoff", data={"csrf": csrf, "name": "Dr A Chief", "role": "Chief Nurse"})
    assert signed.status_code == 303
    assert "signed off by Dr A Chief, Chief Nurse" in client.get(path).text
    assert client.post(f"{path}/signoff", data={"csrf": "forged", "name": "x", "role": "y"}).status_code == 403


def test_key_figures_are_checked_saved_submitted_and_shown_in_the_draft(
    client: TestClient, session: Session, links: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from models.cycle import Revision
    from tasks.report.collate import collate

    path = _enter(client, links[_lead("bchc")])
    assert f'href="{path}/figures"' in client.get(path).text
    page = client.get(f"{path}/figures").text
    assert 'name="figure-staff-trained"' in page and 'inputmode="decimal"' in page
    assert '<div class="govuk-input__suffix" aria-hidden="true">staff</div>' in page
    for key, text in (
        ("statutory-role", "Community health services."),
        ("priority-activity", "Training."),
        ("looking-ahead", "More training."),
    ):
        _save(client, path, key, text)
    fields = _form(client, path)
    bad = client.post(f"{path}/figures", data={**fields, "figure-staff-trained": "lots", "figure-audits": "12"})
    assert bad.status_code == 422
    assert (
        '<a href="#figure-staff-trained">“Staff trained in safeguarding children” should be a number, like 1250; '
        "it is “lots”.</a>"
    ) in bad.text
    assert 'value="lots"' in bad.text and 'value="12"' in bad.text  # nothing lost
    assert 'aria-describedby="figure-staff-trained-error"' in bad.text
    assert session.exec(select(WorkingCopy)).one().figures == {}  # and nothing half-saved
    good = client.post(f"{path}/figures", data={**fields, "figure-staff-trained": "1,250", "figure-audits": ""})
    assert good.status_code == 303
    session.expire_all()
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.figures == {"staff-trained": "1,250", "audits": ""}
    assert copy.sections["statutory-role"] == "Community health services."  # figures left the text alone
    assert "1,250 staff" in client.get(f"{path}/check").text  # in the preview
    submitted = client.post(f"{path}/submit", data={"csrf": fields["csrf"]})
    assert submitted.status_code == 303
    revision = session.exec(select(Revision)).one()
    assert revision.figures == {"staff-trained": 1250}
    s = get_settings()
    draft = collate(session, find_cycle(session), at=NOW, actor="t", output_dir=tmp_path, templates_dir=s.templates_dir)
    html = Path(draft.path).read_text(encoding="utf-8")
    assert "<caption>Birmingham Community Healthcare NHS Foundation Trust: key figures for the year</caption>" in html
    assert '<th scope="row">Staff trained in safeguarding children</th><td>1,250 staff</td>' in html


def test_each_request_is_logged_without_its_token(
    client: TestClient, links: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    token = links[_lead("bcc")]
    with caplog.at_level(logging.INFO, logger="reportcycle.portal.access"):
        client.get(f"/c/{token}")
        client.post(f"/c/{token}")
        client.get("/no-such-page")
    lines = [r.getMessage() for r in caplog.records if r.name == "reportcycle.portal.access"]
    assert [line.rsplit(" ", 2)[0] for line in lines] == [
        "GET /c/[token] 200",
        "POST /c/[token] 303",
        "GET /no-such-page 404",
    ]
    assert all(line.endswith(" ms") for line in lines)
    assert not any(token in r.getMessage() for r in caplog.records)
