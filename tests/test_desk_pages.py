"""The desk's and the Chair's pages as people read them: confirmation before anything destructive, the excused
email with its reason, dates typed as day, month, year, times in the partnership's zone, plain states, and the
Chair's comments and key figures."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import Cycle, PersonalLink
from models.outbox import OutboundEmail
from models.partnership import Contact
from models.store import contribution_for, find_agency, find_cycle
from tests import test_review_desk_http as base
from tests.helpers import flat
from tests.test_portal_http import _enter, _lead
from tests.test_review_desk_http import BCC_TEXT, _client, _csrf, _submit

# The fixtures of the review and desk tests: the example cycle, the app on a fixed clock, staff signed in.
app, chair, clock, links, manager = base.app, base.chair, base.clock, base.links, base.manager


class _Visible(HTMLParser):
    """The text a reader sees: no tags, no attribute values, nothing in <script> or <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _post(client: TestClient, cycle_id: int, action: str, **fields: str) -> object:
    csrf = _csrf(client.get(f"/desk/{cycle_id}").text)
    return client.post(f"/desk/{cycle_id}/do/{action}", data={"csrf": csrf, **fields})


def _audit_count(session: Session) -> int:
    return len(session.exec(select(AuditEvent)).all())


def test_destructive_actions_show_what_will_happen_first_and_change_nothing(
    manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    before = _audit_count(session)
    live = len(session.exec(select(PersonalLink).where(col(PersonalLink.revoked_at).is_(None))).all())
    assert manager.get(f"/desk/{cid}/do/excuse").status_code == 405  # no GET does anything
    agency_page = manager.get(f"/desk/{cid}/agency/bchc").text
    for label in ("Withdraw every link to this contribution", "Replace the contact", "Excuse the agency"):
        button = re.search(rf'<button[^>]*class="([^"]*)"[^>]*>\s*{label}\s*</button>', agency_page)
        assert button and "govuk-button--warning" in button.group(1), label

    revoke = _post(manager, cid, "revoke", agency="bchc")
    assert revoke.status_code == 200  # type: ignore[attr-defined]
    text = visible(revoke.text)  # type: ignore[attr-defined]
    assert "Withdraw every link to Birmingham Community Healthcare NHS Foundation Trust's contribution?" in text
    assert "They cannot get back in with the fresh-link form" in text
    assert 'name="confirm" value="yes"' in revoke.text  # type: ignore[attr-defined]

    replace = _post(
        manager, cid, "replace", agency="bchc", role="lead", name="Ann Lee", email="ann.lee@bchc.example.org"
    )
    text = visible(replace.text)  # type: ignore[attr-defined]
    assert "Replace Birmingham Community Healthcare NHS Foundation Trust's lead contact?" in text
    assert "Sunita Barlow (sunita.barlow@bchc.example.org) will no longer be" in text
    assert "Ann Lee (ann.lee@bchc.example.org) becomes the lead contact" in text
    # the new contact's details ride along to the real post
    assert '<input type="hidden" name="email" value="ann.lee@bchc.example.org">' in replace.text  # type: ignore[attr-defined]

    excuse = _post(manager, cid, "excuse", agency="bchc", reason="typed on the old form")
    text = visible(excuse.text)  # type: ignore[attr-defined]
    assert "Excuse Birmingham Community Healthcare NHS Foundation Trust this year?" in text
    assert "sunita.barlow@bchc.example.org, jonah.whitcombe@bchc.example.org, elaine.marchbank@bchc.example.org" in text

    session.expire_all()
    bchc = contribution_for(session, cycle, find_agency(session, cycle, "bchc"))
    assert bchc.status == "requested"
    assert session.exec(select(Contact).where(Contact.email == "ann.lee@bchc.example.org")).first() is None
    assert len(session.exec(select(PersonalLink).where(col(PersonalLink.revoked_at).is_(None))).all()) == live
    assert _audit_count(session) == before
    assert session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).all() == []


def test_excuse_needs_a_reason_on_its_field_then_tells_the_contacts_why(
    manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    empty = _post(manager, cid, "excuse", agency="bchc", confirm="yes", reason="  ")
    assert empty.status_code == 422  # type: ignore[attr-defined]
    page = empty.text  # type: ignore[attr-defined]
    assert '<a href="#reason">Say why the agency is excused: they are told, and the audit log keeps it.</a>' in page
    assert re.search(r'<textarea[^>]*id="reason"[^>]*aria-describedby="[^"]*reason-error', page)
    assert "<title>Error: " in page
    session.expire_all()
    assert contribution_for(session, cycle, find_agency(session, cycle, "bchc")).status == "requested"

    reason = "The Trust merged into the ICB in March.\n\nThe ICB's contribution covers its work."
    done = _post(manager, cid, "excuse", agency="bchc", confirm="yes", reason=reason)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == f"/desk/{cid}/agency/bchc?done=excuse"  # type: ignore[attr-defined]
    session.expire_all()
    assert contribution_for(session, cycle, find_agency(session, cycle, "bchc")).status == "excused"
    (email,) = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).all()
    assert email.to_addrs == [
        "sunita.barlow@bchc.example.org",
        "jonah.whitcombe@bchc.example.org",
        "elaine.marchbank@bchc.example.org",
    ]
    assert email.subject == "Excused: no Annual Report 2018/19 contribution is needed from you this year"
    assert "The Trust merged into the ICB in March.\n\nThe ICB's contribution covers its work." in email.text_body
    assert "The report will name Birmingham Community Healthcare NHS Foundation Trust as excused" in flat(
        email.text_body
    )
    assert "<p>The Trust merged into the ICB in March.</p>" in (email.html_body or "")
    assert "/c/" not in email.text_body  # nothing left to write: no personal link

    # un-excuse asks too, in the plain style (it restores), and then asks the agency again
    undo_page = manager.get(f"/desk/{cid}/agency/bchc").text
    assert re.search(r'class="govuk-button govuk-button--secondary"[^>]*>\s*Undo the excusal', undo_page)
    ask = _post(manager, cid, "unexcuse", agency="bchc")
    assert ask.status_code == 200 and "govuk-button--warning" not in ask.text  # type: ignore[attr-defined]
    assert "Ask Birmingham Community Healthcare NHS Foundation Trust again?" in visible(ask.text)  # type: ignore[attr-defined]
    session.expire_all()
    assert contribution_for(session, cycle, find_agency(session, cycle, "bchc")).status == "excused"
    assert _post(manager, cid, "unexcuse", agency="bchc", confirm="yes").status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert contribution_for(session, cycle, find_agency(session, cycle, "bchc")).status == "requested"


def test_a_deadline_is_typed_as_day_month_year_and_an_unusual_one_asks_first(
    manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    no_month = _post(
        manager, cid, "extend", agency="bcc", **{"until-day": "3", "until-month": "", "until-year": "2019"}
    )
    assert no_month.status_code == 422  # type: ignore[attr-defined]
    page = no_month.text  # type: ignore[attr-defined]
    assert '<a href="#until-month">The new deadline must include a month</a>' in page
    assert re.search(r'id="until-month"[^>]*govuk-input--error|govuk-input--error[^"]*"[^>]*id="until-month"', page)
    assert 'value="3"' in page  # what was typed stays
    nothing = _post(manager, cid, "extend", agency="bcc")
    assert "Enter the new deadline as a day, month and year, like 27 3 2026" in nothing.text  # type: ignore[attr-defined]
    unreal = _post(
        manager, cid, "extend", agency="bcc", **{"until-day": "31", "until-month": "6", "until-year": "2019"}
    )
    assert '<a href="#until-day">The new deadline must be a real date, like 27 3 2026</a>' in unreal.text  # type: ignore[attr-defined]

    # earlier than the agency's deadline (Monday 20 May): allowed, after a warning
    early = {"until-day": "15", "until-month": "5", "until-year": "2019"}
    warned = _post(manager, cid, "extend", agency="bcc", **early)
    assert warned.status_code == 200  # type: ignore[attr-defined]
    text = visible(warned.text)  # type: ignore[attr-defined]
    assert "Move Birmingham City Council's deadline to Wednesday 15 May 2019?" in text
    assert "Wednesday 15 May 2019 is earlier than the current deadline, Monday 20 May 2019." in text
    bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    session.refresh(bcc)
    assert str(bcc.due_date) == "2019-05-20"
    moved = _post(manager, cid, "extend", agency="bcc", confirm="yes", **early)
    assert moved.status_code == 303  # type: ignore[attr-defined]
    session.refresh(bcc)
    assert str(bcc.due_date) == "2019-05-15"
    late = _post(manager, cid, "extend", agency="bcc", **{"until-day": "1", "until-month": "8", "until-year": "2019"})
    assert "Thursday 1 August 2019 is after the report must be published, Wednesday 31 July 2019." in visible(
        late.text  # type: ignore[attr-defined]
    )


def test_the_desk_speaks_in_local_times_and_plain_states(
    manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    cid = cycle.id or 0
    # the clock says 09:00 UTC on 1 May 2019, which is 10:00 in London (British Summer Time)
    assert _post(manager, cid, "excuse", agency="bchc", confirm="yes", reason="Merged.").status_code == 303  # type: ignore[attr-defined]
    agency = visible(manager.get(f"/desk/{cid}/agency/bchc").text)
    assert "10:00 on Wednesday 1 May 2019 morgan.ellery@bscb.example.org Excused. Reason: Merged." in agency
    assert "09:00 on Wednesday 1 May 2019" not in agency
    assert "Excused. Reason: Merged." in agency
    # the deadline is 17:00 London time, 16:00 UTC
    assert "17:00 on Monday 20 May 2019" in agency and "16:00" not in agency

    stored = session.get(Cycle, cid)
    assert stored is not None
    stored.status = "in_review"
    session.add(stored)
    session.commit()
    desk = visible(manager.get(f"/desk/{cid}").text)
    assert "With the Chair" in desk and "Waiting for the agency" in desk and "Excused" in desk
    assert "17:00 on Monday 20 May 2019" in desk
    assert "10:00 on Wednesday 1 May 2019" in desk  # bchc's last activity
    for code in ("in_review", "requested", "pending", "UTC"):
        assert code not in desk, code
        assert code not in agency, code


def test_the_chair_reads_key_figures_and_earlier_comments_in_their_paragraphs(
    app: object, chair: TestClient, session: Session, links: dict[str, str]
) -> None:
    cycle = find_cycle(session)
    with _client(app) as agency:
        path = _enter(agency, links[_lead("bcc")])
        _submit(agency, path, BCC_TEXT)
        page = chair.get(f"/review/{cycle.id}/bcc").text
        csrf = _csrf(page)
        comments = "Say how many audits found good practice.\n\nAnd name the schools."
        returned = chair.post(
            f"/review/{cycle.id}/bcc", data={"csrf": csrf, "decision": "return", "comments": comments}
        )
        assert returned.status_code == 303
        page = chair.get(f"/review/{cycle.id}/bcc").text
    first, second = "Say how many audits found good practice.", "And name the schools."
    assert re.search(rf'<p class="govuk-body">{first}</p>\s*<p class="govuk-body">{second}</p>', page)
    assert "Returned at 10:00 on Wednesday 1 May 2019" in visible(page)


def test_key_figures_show_on_the_chairs_page(chair: TestClient, session: Session, links: dict[str, str]) -> None:
    from tests.test_review_desk_browser import _submit_as_agency

    _submit_as_agency(
        session, "wmp", {"statutory-role": "Police.", "priority-activity": "Patrols.", "looking-ahead": "More."}
    )
    page = visible(chair.get(f"/review/{find_cycle(session).id}/wmp").text)
    assert "Key figures The figures West Midlands Police entered Figure Value" in page
    assert "Staff trained in safeguarding children 120 staff" in page
    assert "Safeguarding audits completed Not entered" in page


def test_a_central_section_keeps_the_chairs_paragraphs_too(
    chair: TestClient, manager: TestClient, session: Session, links: dict[str, str]
) -> None:
    cid = find_cycle(session).id or 0
    assert _post(manager, cid, "central", key="foreword", body="A year of change.").status_code == 303  # type: ignore[attr-defined]
    overview = visible(chair.get(f"/review/{cid}").text)
    assert "Foreword Draft To decide" in overview
    csrf = _csrf(chair.get(f"/review/{cid}/foreword").text)
    comments = "Thank the schools.\n\n\nAnd the police."
    response = chair.post(f"/review/{cid}/foreword", data={"csrf": csrf, "decision": "return", "comments": comments})
    assert response.status_code == 303
    page = chair.get(f"/review/{cid}/foreword").text
    assert re.search(r'<p class="govuk-body">Thank the schools.</p>\s*<p class="govuk-body">And the police.</p>', page)
    assert "Returned to the business manager" in visible(page)


def test_the_cli_excuse_tells_the_agency_when_it_gives_a_reason(session: Session, links: dict[str, str]) -> None:
    from typer.testing import CliRunner

    from reportcycle.cli import app as cli

    silent = CliRunner().invoke(cli, ["excuse", "bchc"])
    assert silent.exit_code == 0, silent.output
    assert "the agency was not told: give --reason to email its contacts why" in silent.output
    assert session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).all() == []
    assert CliRunner().invoke(cli, ["excuse", "bchc", "--undo"]).exit_code == 0
    told = CliRunner().invoke(cli, ["excuse", "bchc", "--reason", "Merged into the ICB."])
    assert told.exit_code == 0, told.output
    assert "3 contact(s) told by email" in told.output
    (email,) = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "excused")).all()
    assert len(email.to_addrs) == 3 and "Merged into the ICB." in email.text_body


def test_a_desk_action_wakes_the_reconcile_once_it_is_done(
    manager: TestClient, session: Session, links: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The annual-cycle deployment runs on this event (deployments/schedules.py): only after the commit, and not
    for a refused or unconfirmed action."""
    import portal.manager

    told: list[tuple[int, str]] = []
    monkeypatch.setattr(portal.manager, "desk_action", lambda **k: told.append((k["cycle_id"], k["action"])))
    cid = find_cycle(session).id or 0
    _post(manager, cid, "excuse", agency="bchc")  # the confirmation page: nothing done yet
    assert told == []
    done = _post(manager, cid, "excuse", agency="bchc", confirm="yes", reason="Merged into the ICB.")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert told == [(cid, "excuse")]
