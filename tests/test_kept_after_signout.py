"""A tab left open overnight: Save after the session ended keeps the text, and signing in again from a fresh link
puts it back once; a forged or withdrawn post keeps nothing; text someone else overwrote is shown, not forced in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import PersonalLink
from models.outbox import OutboundEmail
from models.portal import KeptPost, WorkingCopy
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.links.fresh_link import request_fresh_link
from tests.helpers import local, open_example_cycle

LEAD = "harriet.lowe@bcc.example.org"  # Birmingham City Council's lead in the example
EVENING = local("2019-05-01", "17:30")
NEXT_MORNING = local("2019-05-02", "08:45")  # 15 h 15 min later: the 12-hour session has ended
TYPED = "We commissioned two reviews.\n\nBoth are complete."


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(EVENING)


@pytest.fixture
def client(database_url: str, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), clock), follow_redirects=False) as c:
        yield c


def _sign_in(client: TestClient, token: str) -> str:
    response = client.post(f"/c/{token}")
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf|version)" value="([^"]*)"', html))


def _save_section(client: TestClient, contribution: str, form: dict[str, str], key: str, text: str) -> object:
    """Post one section's text as its page's form does."""
    return client.post(f"{contribution}/section/{key}", data={**form, f"section-{key}": text, "action": "return"})


def _fresh_token(session: Session, at: dt.datetime) -> str:
    s = get_settings()
    request_fresh_link(
        session, LEAD, at=at, base_url=s.public_base_url, link_valid_days=120, templates_dir=s.templates_dir
    )
    session.commit()
    row = session.exec(
        select(OutboundEmail).where(OutboundEmail.kind == "fresh_link").order_by(col(OutboundEmail.id).desc())
    ).first()
    assert row is not None
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", row.text_body)
    return str(token)


def _copy(session: Session) -> WorkingCopy | None:
    session.expire_all()
    return session.exec(select(WorkingCopy)).first()


def test_save_after_the_session_ended_is_kept_then_put_back_once_after_a_fresh_link(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock
) -> None:
    contribution = _sign_in(client, links[LEAD])
    form = _hidden(client.get(f"{contribution}/section/statutory-role").text)
    clock.set(NEXT_MORNING)
    client.cookies.clear()  # the browser dropped the cookie with the session
    late = _save_section(client, contribution, form, "statutory-role", TYPED)
    assert late.status_code == 403  # type: ignore[attr-defined]
    assert "your text is kept" in late.text  # type: ignore[attr-defined]
    assert _copy(session) is None  # nothing written to the contribution while signed out
    (kept,) = session.exec(select(KeptPost)).all()
    assert kept.sections["statutory-role"] == TYPED and kept.restored_at is None

    back = _sign_in(client, _fresh_token(session, NEXT_MORNING))
    assert back == f"{contribution}?done=restored"
    copy = _copy(session)
    assert copy is not None and copy.sections["statutory-role"] == TYPED and copy.version == 1
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions.count("working_copy.kept_after_session") == 1
    assert actions.count("working_copy.restored_after_sign_in") == 1
    # a second sign-in puts nothing back again
    client.cookies.clear()
    assert _sign_in(client, _fresh_token(session, NEXT_MORNING)) == contribution
    copy = _copy(session)
    assert copy is not None and copy.version == 1


def test_a_page_shown_before_someone_saved_gets_its_text_shown_not_written(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock
) -> None:
    contribution = _sign_in(client, links[LEAD])
    stale = _hidden(client.get(f"{contribution}/section/statutory-role").text)  # the tab left open shows version 0
    fresh_form = _hidden(client.get(f"{contribution}/section/statutory-role").text)
    saved = _save_section(client, contribution, fresh_form, "statutory-role", "Saved from another tab.")
    assert saved.status_code == 303  # type: ignore[attr-defined]
    clock.set(NEXT_MORNING)
    client.cookies.clear()
    _save_section(client, contribution, stale, "statutory-role", TYPED)
    target = _sign_in(client, _fresh_token(session, NEXT_MORNING))
    assert re.fullmatch(rf"{contribution}/kept/\d+", target)
    copy = _copy(session)
    assert copy is not None and copy.sections["statutory-role"] == "Saved from another tab."
    shown = client.get(target)
    assert shown.status_code == 200 and "We commissioned two reviews." in shown.text
    assert "Someone saved this contribution after you typed this" in shown.text
    # nobody else can read it
    assert TestClient(client.app).get(target).status_code == 403


def test_a_forged_or_withdrawn_post_keeps_nothing(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock
) -> None:
    contribution = _sign_in(client, links[LEAD])
    form = _hidden(client.get(f"{contribution}/section/statutory-role").text)
    clock.set(NEXT_MORNING)
    client.cookies.clear()
    forged = _save_section(client, contribution, {**form, "csrf": "x" * 43}, "statutory-role", "Planted text.")
    assert forged.status_code == 403 and "Planted" not in forged.text  # type: ignore[attr-defined]
    assert session.exec(select(KeptPost)).all() == []
    for link in session.exec(select(PersonalLink)):
        link.revoked_at = EVENING
        session.add(link)
    session.commit()
    withdrawn = _save_section(client, contribution, form, "statutory-role", TYPED)
    assert withdrawn.status_code == 403  # type: ignore[attr-defined]
    assert session.exec(select(KeptPost)).all() == []


def test_a_background_autosave_after_sign_out_gets_json_and_its_text_is_kept(
    client: TestClient, session: Session, links: dict[str, str], clock: FixedClock
) -> None:
    contribution = _sign_in(client, links[LEAD])
    form = _hidden(client.get(f"{contribution}/section/statutory-role").text)
    clock.set(NEXT_MORNING)
    client.cookies.clear()
    for text in ("First half.", TYPED):  # two autosaves: one kept row, the latest text
        answer = client.post(
            f"{contribution}/draft",
            data={**form, "section-statutory-role": text},
            headers={"Accept": "application/json"},
        )
        assert answer.status_code == 403 and answer.json() == {"error": "signed_out", "kept": True}
    (kept,) = session.exec(select(KeptPost)).all()
    assert kept.sections == {"statutory-role": TYPED}


def test_the_fresh_link_form_says_what_is_wrong_with_the_address(client: TestClient) -> None:
    empty = client.post("/link/fresh", data={"email": " "})
    assert empty.status_code == 422
    assert 'href="#fresh-email"' in empty.text and "Enter your work email address" in empty.text
    assert 'aria-describedby="fresh-email-hint fresh-email-error"' in empty.text
    assert '<input aria-invalid="true" class="govuk-input govuk-!-width-two-thirds govuk-input--error"' in empty.text
    assert empty.text.count("<title>Error: ") == 1
    wrong = client.post("/link/fresh", data={"email": "harriet at bcc"})
    assert "Enter an email address in the correct format, like name@example.org" in wrong.text
    assert 'value="harriet at bcc"' in wrong.text
