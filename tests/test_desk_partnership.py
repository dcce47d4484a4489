"""The partnership on the desk over HTTP: agencies added, changed and retired; the brief, priorities and recipients
of a planned cycle; each refused by the partnership file's own rules with its errors on their fields; every
change audited; the framework's checklist; the partnership file downloaded and loaded back the same."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import Cycle
from models.partnership import Agency, Contact
from models.partnership_file import parse
from models.store import find_cycle, load_partnership
from tasks.desk.central import set_central_text
from tasks.desk.partnership_diff import plan_load
from tests import test_review_desk_http as base
from tests.agency_pages import _Fields, error_links, summary_rows
from tests.conftest import EXAMPLE
from tests.helpers import local
from tests.test_review_desk_http import NOW, _client, _csrf, _staff_token

app, clock, links, manager = base.app, base.clock, base.links, base.manager


def _edits(session: Session) -> list[list[str]]:
    session.expire_all()
    rows = session.exec(
        select(AuditEvent).where(AuditEvent.action == "partnership.edit").order_by(col(AuditEvent.id))
    ).all()
    return [r.detail["changes"] for r in rows]


def _fields(html: str) -> dict[str, str]:
    parsed = _Fields()
    parsed.feed(html)
    return parsed.fields


AGENCY = {
    "slug": "wm-ambulance",
    "name": "West Midlands Ambulance Service",
    "aliases": "WMAS\nWest Mids Ambulance",
    "lead-name": "Priya Holt",
    "lead-email": "priya.holt@wmas.example.org",
    "deputy-name": "",
    "deputy-email": "",
    "senior-name": "Dr Amos Tate",
    "senior-email": "amos.tate@wmas.example.org",
}


def test_agencies_added_changed_and_retired(manager: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    home = f"/desk/{cycle.id}/partnership"
    assert f'href="{home}">The partnership</a>' in manager.get(f"/desk/{cycle.id}").text  # reached from the desk
    overview = manager.get(home)
    assert overview.status_code == 200
    assert "12 agencies asked when a cycle opens" in overview.text
    assert "Lead: Harriet Lowe, harriet.lowe@bcc.example.org" in overview.text
    added = f"{home}/agencies/new"
    csrf = _csrf(manager.get(added).text)

    # Without the form's token nothing is added.
    assert manager.post(added, data=AGENCY).status_code == 403
    # The file's rules, each on its field, in the words a form uses.
    wrong = manager.post(
        added,
        data={**AGENCY, "csrf": csrf, "slug": "WM Ambulance", "name": " ", "lead-email": "priya.holt"},
    )
    assert wrong.status_code == 422
    assert error_links(wrong.text) == [
        (
            "#slug",
            "The short name must be lower-case letters, digits and hyphens (starting with a letter or digit), "
            "like west-midlands-police",
        ),
        ("#name", "Enter the agency&#39;s name"),
        ("#lead-email", "Enter the lead contact&#39;s email address in the right form, like name@example.org"),
    ]
    assert 'value="WM Ambulance"' in wrong.text  # the form comes back as typed
    taken = manager.post(added, data={**AGENCY, "csrf": csrf, "slug": "bcc"})
    assert error_links(taken.text) == [("#slug", "Duplicate agency slug &#39;bcc&#39;: each must appear once")]
    no_lead = manager.post(added, data={**AGENCY, "csrf": csrf, "lead-name": "", "lead-email": ""})
    assert error_links(no_lead.text) == [
        ("#lead-name", "Enter the lead contact&#39;s name"),
        ("#lead-email", "Enter the lead contact&#39;s email address"),
    ]
    # A rule of the whole file, as `partnership load` words it: a name that would lead to two agencies.
    shared = manager.post(added, data={**AGENCY, "csrf": csrf, "aliases": "Birmingham City Council"})
    assert error_links(shared.text) == [
        (
            "#aliases",
            "&#39;Birmingham City Council&#39; would match two agencies: it is the name of &#39;bcc&#39; and an "
            "alias of &#39;wm-ambulance&#39;; a name or alias must belong to one agency, so remove it from the "
            "aliases of one of them",
        )
    ]
    assert _edits(session) == []  # nothing refused was written

    done = manager.post(added, data={**AGENCY, "csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"{home}?done=agency-added"
    session.expire_all()
    agency = session.exec(select(Agency).where(Agency.slug == "wm-ambulance")).one()
    assert (agency.name, agency.aliases, agency.active) == (
        "West Midlands Ambulance Service",
        ["WMAS", "West Mids Ambulance"],
        True,
    )
    contacts = session.exec(select(Contact).where(Contact.agency_id == agency.id).order_by(col(Contact.role))).all()
    assert [(c.role, c.name, c.email) for c in contacts] == [
        ("lead", "Priya Holt", "priya.holt@wmas.example.org"),
        ("senior", "Dr Amos Tate", "amos.tate@wmas.example.org"),
    ]

    # Changed: the name, and a deputy added; the form opens with what is stored.
    form = manager.get(f"{home}/agencies/wm-ambulance")
    assert 'value="Priya Holt"' in form.text and "A cycle is running" in form.text
    changed = {
        **AGENCY,
        "csrf": csrf,
        "name": "West Midlands Ambulance Service NHS Trust",
        "deputy-name": "Sam Okoro",
        "deputy-email": "sam.okoro@wmas.example.org",
    }
    changed.pop("slug")
    assert manager.post(f"{home}/agencies/wm-ambulance", data=changed).status_code == 303

    # Retired: asked what it does first, then kept for the records but not active.
    ask = manager.get(f"{home}/agencies/bct/retire")
    assert (
        ask.status_code == 200 and "It is not asked for a contribution in any cycle that opens from now on" in ask.text
    )
    assert manager.post(f"{home}/agencies/bct/retire", data={"csrf": csrf}).status_code == 303
    session.expire_all()
    assert session.exec(select(Agency.active).where(Agency.slug == "bct")).one() is False
    assert "Birmingham Children&#39;s Trust" not in manager.get(home).text

    assert _edits(session) == [
        ["agency added: wm-ambulance (West Midlands Ambulance Service)"],
        [
            "agency wm-ambulance: name West Midlands Ambulance Service → West Midlands Ambulance Service NHS Trust",
            "agency wm-ambulance: deputy contact none → Sam Okoro <sam.okoro@wmas.example.org>",
        ],
        ["agency retired: bct (Birmingham Children's Trust); kept for past cycles, not asked again"],
    ]

    # The deputy of an agency asked in this cycle was sent a personal link: the role is handed on, not emptied.
    bcc = manager.get(f"{home}/agencies/bcc")
    emptied = {**_fields(bcc.text), "deputy-name": "", "deputy-email": ""}
    refused_deputy = manager.post(f"{home}/agencies/bcc", data=emptied)
    assert refused_deputy.status_code == 422
    assert error_links(refused_deputy.text) == [
        (
            "#deputy-name",
            "Dev Anand-Shaw has been sent personal links as the deputy contact, which the records keep, so the role "
            "cannot be left empty: to hand it to someone else, enter their name and email address",
        )
    ]

    # The cycle is open: what its agencies were asked against stays.
    brief = manager.post(
        f"{home}/priorities/1", data={"csrf": csrf, "was": "leadership", "key": "leadership", "title": "New"}
    )
    assert brief.status_code == 422
    assert "The priorities of Annual Report 2018/19 cannot change now" in brief.text.replace("&#39;", "'")


@pytest.fixture
def planned(app: object, session: Session) -> Iterator[TestClient]:
    """The business manager on the desk of the example cycle, loaded and still planned."""
    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    with _client(app) as c:
        assert c.post(f"/c/{_staff_token(session, 'manager')}").status_code == 303
        yield c


def test_the_brief_priorities_and_recipients_of_a_planned_cycle(planned: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    home = f"/desk/{cycle.id}/partnership"
    assert planned.get(home).status_code == 200
    section = planned.get(f"{home}/sections/1")
    csrf = _csrf(section.text)
    assert 'value="statutory-role"' in section.text and 'name="was" value="statutory-role"' in section.text

    form = {
        "csrf": csrf,
        "was": "statutory-role",
        "key": "statutory-role",
        "title": "Statutory role",
        "guidance": "Who you serve.",
        "word_limit": "many",
        "required": "yes",
    }
    wrong = planned.post(f"{home}/sections/1", data=form)
    assert error_links(wrong.text) == [("#word_limit", "The word limit must be a whole number above 0, like 400")]
    assert planned.post(f"{home}/sections/1", data={**form, "word_limit": "350"}).status_code == 303

    twice = planned.post(f"{home}/priorities/new", data={"csrf": csrf, "key": "early-help", "title": "Again"})
    assert error_links(twice.text) == [("#key", "Duplicate priority key &#39;early-help&#39;: each must appear once")]
    new = {"csrf": csrf, "key": "neglect", "title": "Tackling neglect"}
    assert planned.post(f"{home}/priorities/new", data=new).status_code == 303

    bad = planned.post(f"{home}/recipients/new", data={"csrf": csrf, "name": "Healthwatch", "email": "hw@", "role": ""})
    assert error_links(bad.text) == [
        ("#email", "Enter the email address in the right form, like name@example.org"),
        ("#role", "Enter the role"),
    ]
    # Removing the fifth recipient (the scrutiny committee), after the page that says what it does.
    ask = planned.get(f"{home}/recipients/5/remove")
    assert "Remove the recipient Children&#39;s Social Care Overview and Scrutiny Committee?" in ask.text
    gone = planned.post(f"{home}/recipients/5/remove", data={"csrf": csrf, "was": "childrens.scrutiny@bcc.example.org"})
    assert gone.status_code == 303
    # A page opened before the list changed does not remove the wrong one.
    stale = planned.post(
        f"{home}/recipients/5/remove", data={"csrf": csrf, "was": "childrens.scrutiny@bcc.example.org"}
    )
    assert stale.status_code == 409, (gone.headers["location"], stale.headers.get("location"))

    session.expire_all()
    stored = session.get(Cycle, cycle.id)
    assert stored is not None
    assert stored.brief["sections"][0] == {
        "key": "statutory-role",
        "title": "Statutory role",
        "guidance": "Who you serve.",
        "word_limit": 350,
        "required": True,
        "per_priority": False,
    }
    assert [p["key"] for p in stored.priorities] == ["leadership", "child-protection", "early-help", "neglect"]
    assert len(stored.recipients) == 6
    assert _edits(session) == [
        ["brief section statutory-role: guidance changed", "brief section statutory-role: word limit 300 → 350"],
        ["priority added: neglect"],
        ["recipient removed: childrens.scrutiny@bcc.example.org"],
    ]


def test_the_partnership_file_downloaded_loads_back_the_same(planned: TestClient, session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cycle = find_cycle(session)
    download = planned.get(f"/desk/{cycle.id}/partnership/export")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="bscb-2018-19.toml"'
    path = tmp_path / "export.toml"
    path.write_bytes(download.content)
    assert parse(path) == parse(EXAMPLE)  # every value of the file it was loaded from, aliases included
    assert plan_load(session, parse(path)).changes == []  # loading it back changes nothing


def test_the_framework_checklist(manager: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    checklist = f"/desk/{cycle.id}/framework"
    assert f'href="{checklist}">What the report must contain</a>' in manager.get(f"/desk/{cycle.id}").text
    before = manager.get(checklist)
    assert before.status_code == 200
    assert "Under Working Together to Safeguard Children (2018): 0 of 5 requirements have evidence" in before.text
    set_central_text(
        session,
        cycle,
        "foreword",
        "Our audits found evidence of impact in early help.",
        at=NOW,
        actor="manager@example.org",
    )
    session.commit()
    after = manager.get(checklist).text
    assert "1 of 5 requirements have evidence" in after
    assert "Foreword: “Our audits found evidence of impact in early help.”" in after
    assert (
        "The Child Safeguarding Practice Review Panel",
        "Child Safeguarding Practice Review Panel, National Child Safeguarding Practice Review Panel",
    ) in summary_rows(after)
