"""The Chair's review and the business manager's desk over HTTP: links by role, every route, every refusal,
decisions applied at once, and each desk action with the emails it sends."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import ReviewDecision, Revision
from models.outbox import OutboundEmail
from models.partnership import Contact
from models.portal import ExtensionRequest
from models.report import Draft
from models.store import contribution_for, find_agency, find_cycle
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.links.staff_link import send_staff_link
from tasks.mail.messages import build_message
from tests.email_reading import check_readable
from tests.helpers import local, open_example_cycle
from tests.test_portal_http import _enter, _form, _lead, _save

NOW = local("2019-05-01", "10:00")
TOKEN = re.compile(r"/c/([A-Za-z0-9_-]{43})")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> object:
    return create_app(get_settings(), clock)


def _client(app: object) -> TestClient:
    return TestClient(app, follow_redirects=False)  # type: ignore[arg-type]


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


def _staff_token(session: Session, role: str) -> str:
    s = get_settings()
    cycle = find_cycle(session)
    address = send_staff_link(
        session,
        cycle,
        role,
        at=NOW,
        actor="test",
        base_url=s.public_base_url,
        link_valid_days=30,
        templates_dir=s.templates_dir,
    )
    session.commit()
    row = session.exec(
        select(OutboundEmail).where(OutboundEmail.kind == "staff_link").order_by(col(OutboundEmail.id).desc())
    ).first()
    assert row is not None and row.to_addrs == [address]
    (token,) = TOKEN.findall(row.text_body)
    return token


@pytest.fixture
def chair(app: object, session: Session, links: dict[str, str]) -> Iterator[TestClient]:
    with _client(app) as c:
        response = c.post(f"/c/{_staff_token(session, 'chair')}")
        assert response.status_code == 303
        yield c


@pytest.fixture
def manager(app: object, session: Session, links: dict[str, str]) -> Iterator[TestClient]:
    with _client(app) as c:
        response = c.post(f"/c/{_staff_token(session, 'manager')}")
        assert response.status_code == 303
        yield c


def _csrf(html: str) -> str:
    (token,) = set(re.findall(r'name="csrf" value="([^"]+)"', html))
    return token


def _submit(client: TestClient, path: str, texts: dict[str, str]) -> None:
    """Each section saved from its page (the others kept as they are), then submitted from check your answers."""
    for key, text in texts.items():
        assert _save(client, path, key, text).status_code == 303
    response = client.post(f"{path}/submit", data={"csrf": _form(client, path)["csrf"]})
    assert response.status_code == 303, response.text[-2000:]


BCC_TEXT = {
    "statutory-role": "The council leads early help.",
    "priority-activity": "We held 12 audits of practice.",
    "looking-ahead": "More audits.",
}


def test_links_by_role_land_on_their_own_page(app: object, session: Session, links: dict[str, str]) -> None:
    cycle = find_cycle(session)
    for role, target, button in (
        ("chair", f"/review/{cycle.id}", "Continue to the review"),
        ("manager", f"/desk/{cycle.id}", "Continue to the desk"),
    ):
        with _client(app) as c:
            token = _staff_token(session, role)
            landing = c.get(f"/c/{token}")
            assert landing.status_code == 200 and button in landing.text
            response = c.post(f"/c/{token}")
            assert response.headers["location"] == target
            assert c.get(target).status_code == 200


def test_nobody_reaches_a_page_that_is_not_theirs(
    app: object, chair: TestClient, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    with _client(app) as agency, _client(app) as stranger:
        _enter(agency, links[_lead("bcc")])
        pages = [
            f"/review/{cycle.id}",
            f"/review/{cycle.id}/bcc",
            f"/desk/{cycle.id}",
            f"/desk/{cycle.id}/agency/bcc",
            f"/desk/{cycle.id}/central/foreword",
            f"/desk/{cycle.id}/drafts/draft-1.html",
        ]
        allowed = {
            "chair": {f"/review/{cycle.id}", f"/review/{cycle.id}/bcc"},
            "manager": {p for p in pages if p.startswith("/desk")} - {f"/desk/{cycle.id}/drafts/draft-1.html"},
        }
        for who, client in (("agency", agency), ("stranger", stranger), ("chair", chair), ("manager", manager)):
            for path in pages:
                status = client.get(path).status_code
                expected = 200 if path in allowed.get(who, set()) else 403
                if who == "manager" and path.endswith("/draft-1.html"):
                    expected = 404  # allowed, but nothing collated yet
                assert status == expected, (who, path, status)
            # a staff session never opens an agency's contribution; nobody's opens another cycle's pages
            if who in ("chair", "manager"):
                assert client.get(f"/contribution/{bcc.id}").status_code == 403
            assert client.get(f"/review/{(cycle.id or 0) + 1}").status_code == 403
            assert client.get(f"/desk/{(cycle.id or 0) + 1}").status_code == 403
        # posting is refused the same way, and changes nothing
        before = session.exec(select(AuditEvent)).all()
        for client in (agency, stranger, chair):
            assert client.post(f"/desk/{cycle.id}/do/collate", data={"csrf": "x"}).status_code == 403
        for client in (agency, stranger, manager):
            assert client.post(f"/review/{cycle.id}/bcc", data={"decision": "approve"}).status_code == 403
        assert len(session.exec(select(AuditEvent)).all()) == len(before)


def test_the_chair_returns_then_reads_the_change_then_approves(
    app: object, chair: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    with _client(app) as agency:
        path = _enter(agency, links[_lead("bcc")])
        _submit(agency, path, BCC_TEXT)
        overview = chair.get(f"/review/{cycle.id}").text
        assert "1 part waiting for your decision" in overview
        page = chair.get(f"/review/{cycle.id}/bcc").text
        assert "Nothing yet: this is your first reading" in page and "We held 12 audits of practice." in page
        csrf = _csrf(page)

        # bad paths first: no CSRF, no choice, a return without comments — nothing recorded
        assert chair.post(f"/review/{cycle.id}/bcc", data={"decision": "approve"}).status_code == 403
        response = chair.post(f"/review/{cycle.id}/bcc", data={"csrf": csrf})
        assert response.status_code == 422 and "Choose approve or return." in response.text
        response = chair.post(f"/review/{cycle.id}/bcc", data={"csrf": csrf, "decision": "return", "comments": " "})
        assert response.status_code == 422 and "needs comments" in response.text
        assert chair.post(f"/review/{cycle.id}/no-such", data={"csrf": csrf, "decision": "approve"}).status_code == 404
        assert session.exec(select(ReviewDecision)).all() == []

        response = chair.post(
            f"/review/{cycle.id}/bcc",
            data={
                "csrf": csrf,
                "decision": "return",
                "comments": "Say how many audits found good practice.",
                "brief_section": "priority-activity",
            },
        )
        assert response.status_code == 303 and response.headers["location"].endswith("done=return")
        bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
        session.refresh(bcc)
        # returned on Wednesday 1 May 2019: 10 working days (skipping the 6 May bank holiday) would be Thursday
        # 16 May, before the deadline it had; a return never shortens a deadline, so it stays Monday 20 May
        assert (bcc.status, str(bcc.due_date)) == ("returned", "2019-05-20")
        returned = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "returned")).one()
        assert returned.to_addrs[0] == _lead("bcc")
        assert "Say how many audits found good practice." in returned.text_body
        own = agency.get(path).text
        assert "returned this with comments" in own and "About “Activity against each priority”" in own
        assert "Say how many audits found good practice." in own

        _submit(agency, path, {**BCC_TEXT, "priority-activity": "We held 14 audits of practice; 9 found good work."})
        page = chair.get(f"/review/{cycle.id}/bcc").text
        assert re.search(r"You last reviewed\s*</dt>\s*<dd[^>]*>\s*Revision 1\s*</dd>", page)
        assert "What changed since revision 1" in page
        # word by word: "12" became "14", and "practice." became "practice; 9 found good work."
        removed = '<del><span class="visually-hidden">[removed: </span>{}<span class="visually-hidden">]</span></del>'
        added = '<ins><span class="visually-hidden">[added: </span>{}<span class="visually-hidden">]</span></ins>'
        expected = (
            f"<p>We held {removed.format('12')} {added.format('14')} audits of {removed.format('practice.')} "
            f"{added.format('practice; 9 found good work.')}</p>"
        )
        assert expected in page
        assert "Unchanged since revision 1." in page  # the sections that did not change say so
        response = chair.post(f"/review/{cycle.id}/bcc", data={"csrf": csrf, "decision": "approve"})
        assert response.headers["location"].endswith("done=approve")
        session.refresh(bcc)
        assert bcc.status == "approved"
        assert "Nothing to decide here now." in chair.get(f"/review/{cycle.id}/bcc").text
        # the agency's page is closed now
        assert "This contribution is approved" in agency.get(path).text


def _act(client: TestClient, cycle_id: int, action: str, **fields: str) -> object:
    csrf = _csrf(client.get(f"/desk/{cycle_id}").text)
    return client.post(f"/desk/{cycle_id}/do/{action}", data={"csrf": csrf, **fields})


def test_every_desk_action_does_what_it_says_and_tells_whom_it_should(
    app: object, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    start = max(r.id or 0 for r in session.exec(select(OutboundEmail)))
    with _client(app) as wmp, _client(app) as bct:
        wmp_path = _enter(wmp, links[_lead("wmp")])
        bct_path = _enter(bct, links[_lead("bct")])
        for client, path, until in ((wmp, wmp_path, "2019-06-14"), (bct, bct_path, "2019-06-21")):
            year, month, day = until.split("-")  # as typed in the page's date input
            fields = {"csrf": _form(client, path)["csrf"], "until-day": day, "until-month": month, "until-year": year}
            asked = client.post(f"{path}/extension", data={**fields, "reason": "Our analyst is away."})
            assert asked.status_code == 303
        requests = {r.requested_until.isoformat(): r.id for r in session.exec(select(ExtensionRequest))}
        desk = manager.get(f"/desk/{cid}").text
        assert "West Midlands Police asks for Friday 14 June 2019" in desk

        assert _act(manager, cid, "grant", request=str(requests["2019-06-14"])).status_code == 303
        assert _act(manager, cid, "refuse", request=str(requests["2019-06-21"]), reason="The print date is fixed.")
        again = _act(manager, cid, "grant", request=str(requests["2019-06-21"]))
        assert again.status_code == 422 and "already refused" in again.text  # type: ignore[attr-defined]
        wmp_c = contribution_for(session, cycle, find_agency(session, cycle, "wmp"))
        session.refresh(wmp_c)
        assert str(wmp_c.due_date) == "2019-06-14"

        # excuse asks first, then needs a reason; then it is done
        missing = _act(manager, cid, "excuse", agency="bchc", confirm="yes")
        assert missing.status_code == 422  # type: ignore[attr-defined]
        excused = _act(manager, cid, "excuse", agency="bchc", confirm="yes", reason="Merged into the ICB this year.")
        assert excused.status_code == 303  # type: ignore[attr-defined]
        # a deadline in the past is refused with the reason, on the field
        past = _act(
            manager, cid, "extend", agency="bcc", **{"until-day": "30", "until-month": "4", "until-year": "2019"}
        )
        assert past.status_code == 422  # type: ignore[attr-defined]
        assert "The new deadline must be after today, Wednesday 1 May 2019" in past.text  # type: ignore[attr-defined]
        later = _act(
            manager, cid, "extend", agency="bcc", **{"until-day": "7", "until-month": "6", "until-year": "2019"}
        )
        assert later.status_code == 303  # type: ignore[attr-defined]

        # links: resend to the lead; replace the lead of bct (its open session ends); revoke wmp's
        assert _act(manager, cid, "resend", agency="bsol-ccg", role="lead").status_code == 303  # type: ignore[attr-defined]
        assert bct.get(bct_path).status_code == 200
        bad = _act(
            manager, cid, "replace", agency="bct", role="lead", name="Sam Okafor", email="not-an-address", confirm="yes"
        )
        assert bad.status_code == 422  # type: ignore[attr-defined]
        expected_error = (
            '<a href="#replace-email">Enter an email address in the correct format, like name@example.org</a>'
        )
        assert expected_error in bad.text  # type: ignore[attr-defined]
        assert (
            _act(
                manager,
                cid,
                "replace",
                agency="bct",
                role="lead",
                name="Sam Okafor",
                email="sam.okafor@bct.example.org",
                confirm="yes",
            ).status_code
            == 303
        )  # type: ignore[attr-defined]
        assert bct.get(bct_path).status_code == 403
        assert wmp.get(wmp_path).status_code == 200
        assert _act(manager, cid, "revoke", agency="wmp", confirm="yes").status_code == 303  # type: ignore[attr-defined]
        assert wmp.get(wmp_path).status_code == 403

        # a contribution that came by email, entered on the agency's behalf
        empty = _act(manager, cid, "on-behalf", agency="nps")
        assert empty.status_code == 422 and "at least one section" in empty.text  # type: ignore[attr-defined]
        assert (
            _act(
                manager, cid, "on-behalf", agency="nps", **{"section-statutory-role": "Probation supervises."}
            ).status_code
            == 303
        )  # type: ignore[attr-defined]
        probation = contribution_for(session, cycle, find_agency(session, cycle, "nps"))
        revision = session.exec(select(Revision).where(Revision.contribution_id == probation.id)).one()
        assert (revision.source, revision.created_by) == ("other-means", "morgan.ellery@bscb.example.org")

        # central text, a collation, a link for the Chair; an escalation that is not held is refused
        assert _act(manager, cid, "central", key="foreword", body="A year of change.").status_code == 303  # type: ignore[attr-defined]
        assert _act(manager, cid, "collate").status_code == 303  # type: ignore[attr-defined]
        draft = session.exec(select(Draft)).one()
        desk = manager.get(f"/desk/{cid}?done=collate").text
        assert "Draft 1, collated" in desk and "Merged" not in desk
        read = manager.get(f"/desk/{cid}/drafts/draft-1.html")
        assert read.status_code == 200 and "A year of change." in read.text and "DRAFT" in read.text.upper()
        assert draft.number == 1
        assert _act(manager, cid, "chair-link").status_code == 303  # type: ignore[attr-defined]
        held = _act(manager, cid, "confirm-escalation", agency="bcc")
        assert held.status_code == 422 and "no escalation waiting" in held.text  # type: ignore[attr-defined]
        assert _act(manager, cid, "no-such-action").status_code == 404  # type: ignore[attr-defined]

    sent = [
        (r.kind, r.to_addrs[0])
        for r in session.exec(
            select(OutboundEmail).where(col(OutboundEmail.id) > start).order_by(col(OutboundEmail.id))
        )
    ]
    chair_email = "independent.chair@bscb.example.org"
    expected = [
        ("extension_request", "morgan.ellery@bscb.example.org"),
        ("extension_request", "morgan.ellery@bscb.example.org"),
        ("extension", _lead("wmp")),
        ("extension_refused", _lead("bct")),
        ("excused", _lead("bchc")),
        ("extension", _lead("bcc")),
        ("fresh_link", _lead("bsol-ccg")),
        ("handover", "sam.okafor@bct.example.org"),
        ("receipt", _lead("nps")),
        ("staff_link", chair_email),
    ]
    assert sent == expected
    # each of these kinds read as its reader gets it: subject, line length, signature, no hashes, calendar parts
    rows = session.exec(select(OutboundEmail).where(col(OutboundEmail.id) > start)).all()
    assert check_readable(build_message(r) for r in rows) == {k for k, _ in expected}
    replaced = session.exec(select(Contact).where(Contact.email == "sam.okafor@bct.example.org")).one()
    assert replaced.role == "lead"
    actions = [
        e.action for e in session.exec(select(AuditEvent).where(AuditEvent.actor == "morgan.ellery@bscb.example.org"))
    ]
    for action in (
        "extension.refuse",
        "contribution.excuse",
        "link.resend",
        "link.revoke",
        "contact.replace",
        "central.edit",
        "draft.collate",
        "link.chair.send",
    ):
        assert action in actions, action


def test_the_cli_sends_staff_links_and_refuses_other_roles(session: Session, links: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from reportcycle.cli import app as cli

    result = CliRunner().invoke(cli, ["link", "chair"])
    assert result.exit_code == 0, result.output
    assert "queued to independent.chair@bscb.example.org" in result.output
    result = CliRunner().invoke(cli, ["link", "treasurer"])
    assert result.exit_code == 1 and "a link is for 'chair' or 'manager', not 'treasurer'" in result.output
    rows = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "staff_link")).all()
    assert [r.to_addrs for r in rows] == [["independent.chair@bscb.example.org"]]
    assert "Open the review" in (rows[0].html_body or "")


def test_failed_emails_are_sent_again_or_cancelled_from_the_desk(
    app: object, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    requests = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    for row in requests[:2]:
        row.status, row.attempts, row.last_error = "failed", 5, "550 mailbox unavailable"
        session.add(row)
    session.commit()
    desk = manager.get(f"/desk/{cid}").text
    assert desk.count("550 mailbox unavailable") == 2
    first, second = requests[0], requests[1]
    assert _act(manager, cid, "retry-email", email=str(first.id)).status_code == 303  # type: ignore[attr-defined]
    assert _act(manager, cid, "cancel-email", email=str(second.id), reason="left", confirm="yes").status_code == 303  # type: ignore[attr-defined]
    again = _act(manager, cid, "retry-email", email=str(second.id))
    assert again.status_code == 422  # type: ignore[attr-defined]
    missing = _act(manager, cid, "retry-email", email="999999")
    assert missing.status_code == 422 and "no such email in this cycle" in missing.text  # type: ignore[attr-defined]
    session.expire_all()
    assert [session.get(OutboundEmail, r.id).status for r in (first, second)] == ["queued", "cancelled"]  # type: ignore[union-attr]


def test_the_draft_and_its_pictures_reach_only_the_manager(
    app: object, manager: TestClient, chair: TestClient, session: Session, links: dict[str, str]
) -> None:
    from tests.test_pictures import picture

    cycle = find_cycle(session)
    cid = cycle.id or 0
    with _client(app) as agency:
        path = _enter(agency, links[_lead("bcc")])
        fields = {**_form(agency, path), "image-alt": "A red square", "image-section": "performance"}
        files = {"image-file": ("a.png", picture(), "image/png")}
        assert agency.post(f"{path}/picture", data=fields, files=files).status_code == 303
        _submit(agency, path, BCC_TEXT)  # the picture's section is kept as it is
        assert _act(manager, cid, "collate").status_code == 303  # type: ignore[attr-defined]
        draft = manager.get(f"/desk/{cid}/drafts/draft-1.html")
        (name,) = re.findall(r'src="images/([0-9a-f]{64}\.png)"', draft.text)
        assert "style-src 'unsafe-inline'" in draft.headers["content-security-policy"]
        assert manager.get(f"/desk/{cid}/drafts/images/{name}").content == picture_bytes(session)
        report = manager.get(f"/desk/{cid}/drafts/draft-1-report.html")
        assert report.status_code == 200 and '<a href="draft-1.html">Read draft 1</a>' in report.text
        assert chair.get(f"/desk/{cid}/drafts/draft-1-report.html").status_code == 403
        # nothing outside the drafts' own files, however the name is spelled
        for name_ in ("../../site/x/index.html", "draft-1.html/../../x", "images/%2e%2e/draft-1.html", "report.db"):
            assert manager.get(f"/desk/{cid}/drafts/{name_}").status_code == 404
        assert chair.get(f"/review/{cid}/bcc").status_code == 200
        assert chair.get(f"/images/{name}").status_code == 200  # the Chair sees the pictures of the cycle
        for who in (agency, chair):
            assert who.get(f"/desk/{cid}/drafts/images/{name}").status_code == 403
            assert who.get(f"/desk/{cid}/drafts/draft-1.html").status_code == 403


def picture_bytes(session: Session) -> bytes:
    from models.portal import Image

    return session.exec(select(Image)).one().data


def test_the_desk_records_a_word_document_received_by_email(
    app: object, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    from tests.test_word_import import PNG, add_picture, agency_document, word

    cycle = find_cycle(session)
    cid = cycle.id or 0
    csrf = _csrf(manager.get(f"/desk/{cid}").text)
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    def with_undescribed(document: object) -> None:
        agency_document(document)  # type: ignore[arg-type]
        add_picture(document, PNG, None)  # type: ignore[arg-type]

    refused = manager.post(
        f"/desk/{cid}/do/on-behalf",
        data={"csrf": csrf, "agency": "bwc"},
        files={"word-file": ("bwc.docx", word(with_undescribed), docx)},
    )
    assert refused.status_code == 422 and "[[picture 1]] in the document have no description" in refused.text
    response = manager.post(
        f"/desk/{cid}/do/on-behalf",
        data={"csrf": csrf, "agency": "bwc"},
        files={"word-file": ("bwc.docx", word(agency_document), docx)},
    )
    assert response.status_code == 303
    bwc = contribution_for(session, cycle, find_agency(session, cycle, "bwc"))
    revision = session.exec(select(Revision).where(Revision.contribution_id == bwc.id)).one()
    assert revision.source == "other-means"
    assert revision.sections["looking-ahead"] == "<p>We will focus on neglect.</p>"
    # the parts that matched no section close the first one, under their own headings
    assert revision.sections["statutory-role"].endswith(
        "<h3>Case study</h3>\n<p>A family we worked with found help sooner.</p>"
    )


def test_held_escalations_are_counted_and_released_from_the_desk(
    app: object, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    rows = session.exec(select(OutboundEmail).where(OutboundEmail.contribution_id == bcc.id)).all()
    for row in rows:  # stand-ins for two escalations the policy held for confirmation
        row.kind, row.status = "escalation", "held"
        session.add(row)
    session.commit()
    assert len(rows) == 2  # the request to the lead and to the deputy
    desk = manager.get(f"/desk/{cid}").text
    assert "Birmingham City Council: 2 escalations held." in desk and desk.count("escalation held") == 0
    assert _act(manager, cid, "confirm-escalation", agency="bcc").status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert {r.status for r in session.exec(select(OutboundEmail).where(OutboundEmail.contribution_id == bcc.id))} == {
        "queued"
    }
    assert "None held." in manager.get(f"/desk/{cid}").text
