"""Who can get in, and deadlines that never move backwards by accident: a withdrawn contact stays out, a page
elsewhere cannot sign a visitor in, a Chair's return never shortens a deadline, an extension past publication
is refused, and an excusal can be undone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.outbox import OutboundEmail
from models.partnership import ContactRole
from models.store import contacts_of, contribution_for, find_agency, find_cycle
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.asking.chase import chase_cycle
from tasks.contributions.agency_desk import AgencyRequestError, ask_for_extension
from tasks.contributions.submission import submit_file
from tasks.desk.desk import excuse, unexcuse
from tasks.desk.manager_desk import resend_link, revoke_links
from tasks.links.access import contact_access
from tasks.links.fresh_link import request_fresh_link
from tasks.review.review import apply_decisions, record_decision
from tests.helpers import local, open_example_cycle

LEAD = "harriet.lowe@bcc.example.org"  # Birmingham City Council's lead in the example
NOW = local("2019-05-01", "10:00")


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), FixedClock(NOW)), follow_redirects=False) as c:
        yield c


def _fresh(session: Session, at: dt.datetime) -> int:
    s = get_settings()
    queued = request_fresh_link(
        session, LEAD, at=at, base_url=s.public_base_url, link_valid_days=120, templates_dir=s.templates_dir
    )
    session.commit()
    return queued


def test_a_withdrawn_contact_cannot_get_back_in_by_asking_for_a_fresh_link(
    session: Session, links: dict[str, str]
) -> None:
    s = get_settings()
    cycle = find_cycle(session)
    council = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    lead_id = contacts_of(session, find_agency(session, cycle, "bcc"))[ContactRole.lead].id
    assert _fresh(session, NOW) == 1  # before: the form sends a link
    revoke_links(session, council, at=NOW, actor="bm", contact_id=lead_id)
    session.commit()
    assert _fresh(session, NOW + dt.timedelta(hours=2)) == 0
    refused = session.exec(select(AuditEvent).where(AuditEvent.action == "link.fresh.withdrawn")).all()
    assert [e.actor for e in refused] == [LEAD]
    access, live = contact_access(session, council.id or 0, at=NOW + dt.timedelta(hours=2))
    assert access[lead_id or 0].startswith("withdrawn")
    # the business manager sends a link again: access, and the fresh-link form, come back
    resend_link(
        session,
        cycle,
        council,
        role="lead",
        at=NOW + dt.timedelta(hours=3),
        actor="bm",
        base_url=s.public_base_url,
        link_valid_days=120,
        templates_dir=s.templates_dir,
    )
    session.commit()
    assert _fresh(session, NOW + dt.timedelta(hours=5)) == 1
    access, live = contact_access(session, council.id or 0, at=NOW + dt.timedelta(hours=5))
    assert access[lead_id or 0] == "has access (2 live links)" and live >= 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),  # a sibling subdomain is not our page either
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 303),  # our own form: we send no Referer
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, 303),
        ({"Origin": "http://127.0.0.1:8000"}, 303),  # the public base URL, behind a proxy
        ({}, 303),  # no header at all: an old browser; SameSite=Lax still holds
    ],
)
def test_only_our_own_page_can_exchange_a_link_for_a_session(
    client: TestClient, links: dict[str, str], headers: dict[str, str], status: int
) -> None:
    response = client.post(f"/c/{links[LEAD]}", headers=headers)
    assert response.status_code == status
    assert ("set-cookie" in response.headers) == (status == 303)
    if status == 403:
        assert "This sign-in did not come from our page" in response.text


def _return(session: Session, at: dt.datetime, tmp_path: Path) -> dt.date:
    s = get_settings()
    cycle = find_cycle(session)
    agency = find_agency(session, cycle, "bcc")
    council = contribution_for(session, cycle, agency)
    text = tmp_path / "bcc.md"
    text.write_text(
        "## Statutory role\n\nWe lead.\n\n## Activity against each priority\n\n- one\n\n## Looking ahead\n\nMore.\n",
        encoding="utf-8",
    )
    submit_file(
        session,
        cycle,
        agency,
        council,
        text,
        at=at - dt.timedelta(hours=1),
        actor=LEAD,
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    session.commit()
    record_decision(session, cycle, "bcc", "return", comments="More on impact.", at=at, actor="chair@x.org")
    apply_decisions(session, cycle, at=at, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    session.commit()
    session.refresh(council)
    return council.due_date


def test_a_return_before_the_deadline_keeps_it(session: Session, links: dict[str, str], tmp_path: Path) -> None:
    # due Monday 20 May 2019; returned on Tuesday 16 April: the policy's working days would give early May
    assert _return(session, local("2019-04-16", "11:00"), tmp_path) == dt.date(2019, 5, 20)


def test_a_return_after_the_deadline_moves_it_on_by_the_policy(
    session: Session, links: dict[str, str], tmp_path: Path
) -> None:
    moved = _return(session, local("2019-06-03", "11:00"), tmp_path)
    assert moved > dt.date(2019, 6, 3) and moved.weekday() < 5


def test_an_agency_cannot_ask_for_a_date_after_publication(session: Session, links: dict[str, str]) -> None:
    s = get_settings()
    cycle = find_cycle(session)
    agency = find_agency(session, cycle, "bcc")
    council = contribution_for(session, cycle, agency)
    lead = contacts_of(session, agency)[ContactRole.lead]
    with pytest.raises(AgencyRequestError, match="Ask for a date before Wednesday 31 July 2019"):
        ask_for_extension(
            session,
            cycle,
            agency,
            council,
            lead,
            until=dt.date(2019, 8, 30),
            reason="Staff away",
            at=NOW,
            templates_dir=s.templates_dir,
        )


def test_an_excusal_undone_is_chased_again_from_where_it_stands(session: Session, links: dict[str, str]) -> None:
    s = get_settings()
    cycle = find_cycle(session)
    council = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    excuse(session, council, at=local("2019-05-02"), actor="bm", reason="Restructure")
    session.commit()

    def chase(day: str) -> list[list[str]]:
        chase_cycle(session, cycle, at=local(day), actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
        session.commit()
        rows = session.exec(
            select(OutboundEmail)
            .where(OutboundEmail.contribution_id == council.id, OutboundEmail.status == "queued")
            .order_by(col(OutboundEmail.id))
        ).all()
        return [r.to_addrs for r in rows if r.kind == "reminder"]

    assert chase("2019-05-13") == []  # excused: no 7-day reminder
    assert unexcuse(session, council, at=local("2019-05-14"), actor="bm", reason="They can write it") == "requested"
    session.commit()
    assert council.status == "requested"
    # the next working day's chase sends the latest due step (the 7-day reminder), supersedes the 14-day one
    assert chase("2019-05-15") == [[LEAD, "dev.anand-shaw@bcc.example.org"]]
    events = [
        e.action for e in session.exec(select(AuditEvent).where(AuditEvent.subject == f"contribution:{council.id}"))
    ]
    assert "contribution.excuse" in events and "contribution.unexcuse_to_requested" in events
    with pytest.raises(ValueError, match="the agency is not excused"):
        unexcuse(session, council, at=local("2019-05-15"), actor="bm")


def test_every_kind_of_agency_email_signs_its_reader_in_weeks_later(
    database_url: str, session: Session, links: dict[str, str], tmp_path: Path
) -> None:
    import re

    from tasks.desk.desk import extend

    s = get_settings()
    cycle = find_cycle(session)
    agency = find_agency(session, cycle, "bcc")
    council = contribution_for(session, cycle, agency)
    sent: dict[str, tuple[str, dt.datetime]] = {}

    def newest(kind: str, at: dt.datetime) -> None:
        row = session.exec(
            select(OutboundEmail)
            .where(OutboundEmail.kind == kind, OutboundEmail.contribution_id == council.id)
            .order_by(col(OutboundEmail.id).desc())
        ).first()
        assert row is not None, kind
        tokens = re.findall(r"/c/([A-Za-z0-9_-]{43})", row.text_body)
        assert len(tokens) == 1, (kind, row.text_body)
        (token,) = tokens
        assert token not in str(row.attachments), "a calendar entry must carry no token"
        sent[kind] = (token, at)

    at = local("2019-05-13")
    chase_cycle(session, cycle, at=at, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    newest("reminder", at)
    at = local("2019-05-14")
    extend(
        session,
        cycle,
        council,
        dt.date(2019, 5, 31),
        at=at,
        actor="bm",
        base_url=s.public_base_url,
        templates_dir=s.templates_dir,
    )
    newest("extension", at)
    at = local("2019-06-03")
    chase_cycle(session, cycle, at=at, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    newest("overdue", at)
    session.commit()
    at = local("2019-06-04", "11:00")
    _return(session, at, tmp_path)
    newest("receipt", at - dt.timedelta(hours=1))
    newest("returned", at)
    assert sorted(sent) == ["extension", "overdue", "receipt", "reminder", "returned"]
    for kind, (token, when) in sent.items():
        for later in (dt.timedelta(days=7), dt.timedelta(days=30)):
            with TestClient(create_app(get_settings(), FixedClock(when + later)), follow_redirects=False) as fresh:
                entered = fresh.post(f"/c/{token}")
                assert entered.status_code == 303, (kind, later)
                assert entered.headers["location"] == f"/contribution/{council.id}"
                page = fresh.get(entered.headers["location"])
                assert page.status_code == 200 and "Birmingham City Council" in page.text, (kind, later)
