"""Publishing from the desk: "Ready to publish" only when everything is approved or excused, the board's sign-off
required, the day to publish a working day not in the past, and publishing now only through a confirmation page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.outbox import OutboundEmail
from models.report import Publication
from models.store import central_sections, contributions, find_cycle
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.desk.central import set_central_text
from tasks.desk.desk import excuse
from tasks.review.review import apply_decisions, record_decision
from tests import test_review_desk_http as base
from tests.test_desk_pages import _post as _desk_post
from tests.test_desk_pages import visible
from tests.test_review_desk_http import NOW, _csrf

# The example cycle (Birmingham, 2018/19) opened, the clock at 10:00 on Wednesday 1 May 2019; the manager signed in.
clock, links, manager = base.clock, base.links, base.manager


@pytest.fixture
def app(database_url: str, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """The desk's app, publishing into this test's folder."""
    monkeypatch.setenv("REPORTCYCLE_OUTPUT_DIR", str(tmp_path / "out"))
    get_settings.cache_clear()
    return create_app(get_settings(), clock)


def _settle(session: Session) -> None:
    """Every agency excused, every central section written and approved by the Chair: ready to publish."""
    cycle = find_cycle(session)
    for contribution, agency in contributions(session, cycle):
        excuse(session, contribution, at=NOW, actor="bm", reason=f"{agency.name} reports to the Board directly")
    for section in central_sections(session, cycle):
        set_central_text(session, cycle, section.key, f"{section.title}: agreed text.", at=NOW, actor="bm")
        record_decision(session, cycle, section.key, "approve", at=NOW, actor="chair")
    s = get_settings()
    apply_decisions(session, cycle, at=NOW, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    session.commit()


def _post(client: TestClient, cycle_id: int, **fields: str):  # type: ignore[no-untyped-def]
    csrf = _csrf(client.get(f"/desk/{cycle_id}").text)
    return client.post(f"/desk/{cycle_id}/do/publish", data={"csrf": csrf, **fields})


def _date(name: str, day: str) -> dict[str, str]:
    d, m, y = day.split()
    return {f"{name}-day": d, f"{name}-month": m, f"{name}-year": y}


def _errors(html: str) -> list[tuple[str, str]]:
    """The error summary's links: (href, text)."""
    summary = html[html.index("govuk-error-summary__list") :]
    return re.findall(r'<a href="(#[^"]+)">([^<]+)</a>', summary[: summary.index("</ul>")])


def test_ready_to_publish_shows_only_when_everything_is_approved(manager: TestClient, session: Session) -> None:
    cycle = find_cycle(session)
    desk = visible(manager.get(f"/desk/{cycle.id}").text)
    assert "Ready to publish" not in desk and "Who signed the report off" not in desk
    assert "Not ready to publish yet: 12 contributions not yet approved or excused; 7 central sections not yet " in desk
    # the action is refused too, not only hidden
    early = _post(
        manager, cycle.id or 0, **{"signed-off-by": "the Board", "when": "now"}, **_date("agreed", "1 5 2019")
    )
    assert early.status_code == 422
    assert "That was not done The report is not ready to publish: every contribution must be approved or " in visible(
        early.text
    )
    session.expire_all()
    assert find_cycle(session).board_signed_off_by is None
    _settle(session)
    desk = visible(manager.get(f"/desk/{cycle.id}").text)
    assert "Ready to publish" in desk and "Who signed the report off" in desk and "Not ready" not in desk


def test_the_sign_off_and_the_day_are_refused_on_their_fields(manager: TestClient, session: Session) -> None:
    _settle(session)
    cid = find_cycle(session).id or 0
    empty = _post(manager, cid)
    assert empty.status_code == 422
    assert _errors(empty.text) == [
        ("#signed-off-by", "Enter who signed the report off, like the Board at its meeting on 12 June"),
        ("#agreed-day", "Enter the date the board agreed the report as a day, month and year, like 27 3 2026"),
        ("#when", "Choose whether to publish now or on a date"),
    ]
    # each on its field too, with the GOV.UK error message
    assert 'id="signed-off-by-error"' in empty.text and 'id="agreed-error"' in empty.text
    assert 'id="when-error"' in empty.text
    signed = {"signed-off-by": "the Board at its meeting on 1 May", **_date("agreed", "1 5 2019"), "when": "later"}
    cases = {
        "30 4 2019": "The day to publish must be today or later, not Tuesday 30 April 2019",
        "6 5 2019": "Monday 6 May 2019 is a bank holiday (May Day): choose a working day, like Friday 3 May 2019 "
        "or Tuesday 7 May 2019",
        "4 5 2019": "Saturday 4 May 2019 is at a weekend: choose a working day, like Friday 3 May 2019 or "
        "Tuesday 7 May 2019",  # 6 May is a bank holiday
        "1 5 2019": "To publish today, choose Publish now",
        "31 2 2019": "The day to publish must be a real date, like 27 3 2026",
    }
    for day, message in cases.items():
        refused = _post(manager, cid, **signed, **_date("publish-on", day))
        assert refused.status_code == 422, day
        assert _errors(refused.text) == [("#publish-on-day", message)], day
        # what was typed is kept, and the day's fields are marked
        assert 'value="the Board at its meeting on 1 May"' in refused.text
        assert 'id="publish-on-error"' in refused.text and 'id="publish-on-day" name="publish-on-day"' in refused.text
    future = _post(manager, cid, **{**signed, **_date("agreed", "2 5 2019")}, **_date("publish-on", "8 5 2019"))
    assert _errors(future.text) == [
        ("#agreed-day", "The date the board agreed the report must be today or in the past, not Thursday 2 May 2019")
    ]
    session.expire_all()
    assert find_cycle(session).publish_on is None  # nothing refused was kept


def test_a_chosen_day_is_recorded_and_publishing_now_asks_first(manager: TestClient, session: Session) -> None:
    _settle(session)
    cid = find_cycle(session).id or 0
    signed = {"signed-off-by": "the Board at its meeting on 1 May", **_date("agreed", "1 5 2019")}
    later = _post(manager, cid, **signed, when="later", **_date("publish-on", "8 5 2019"))
    assert (later.status_code, later.headers["location"]) == (303, f"/desk/{cid}?done=publish-on")
    session.expire_all()
    cycle = find_cycle(session)
    assert (cycle.board_signed_off_by, str(cycle.board_signed_off_on), str(cycle.publish_on)) == (
        "the Board at its meeting on 1 May",
        "2019-05-01",
        "2019-05-08",
    )
    desk = visible(manager.get(f"/desk/{cid}?done=publish-on").text)
    assert "The sign-off is recorded; the morning run publishes the report on the day you chose." in desk
    assert (
        "Signed off by the Board at its meeting on 1 May on Wednesday 1 May 2019. The report will be published on "
        "the morning of Wednesday 8 May 2019." in desk
    )
    # Publishing now: a confirmation page first, with a warning button; nothing is published or changed yet.
    ask = _post(manager, cid, **signed, when="now")
    assert ask.status_code == 200
    page = visible(ask.text)
    assert "Publish the report now?" in page
    assert "Signed off by the Board at its meeting on 1 May, agreed on Wednesday 1 May 2019." in page
    assert "it cannot be changed afterwards" in page
    assert re.search(
        r'<button[^>]*class="[^"]*govuk-button--warning[^"]*"[^>]*>\s*Publish the report\s*</button>', ask.text
    )
    assert session.exec(select(Publication)).first() is None
    session.expire_all()
    assert str(find_cycle(session).publish_on) == "2019-05-08"
    # The confirmation page's post publishes.
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', ask.text))
    assert carried["confirm"] == "yes" and carried["when"] == "now"
    done = manager.post(f"/desk/{cid}/do/publish", data=carried)
    assert (done.status_code, done.headers["location"]) == (303, f"/desk/{cid}?done=publish")
    session.expire_all()
    cycle = find_cycle(session)
    assert (cycle.status, str(cycle.publish_on)) == ("published", "2019-05-01")
    notices = session.exec(select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "published"))
    assert notices.one() > 0
    desk = visible(manager.get(f"/desk/{cid}?done=publish").text)
    assert "The report is published; its recipients and partners are emailed a link to it." in desk
    assert (
        "Published at 10:00 on Wednesday 1 May 2019, signed off by the Board at its meeting on 1 May on "
        "Wednesday 1 May 2019." in desk
    )
    assert "Who signed the report off" not in desk


def test_the_desk_lists_what_holds_publication_back_and_lets_each_through_with_a_reason(
    manager: TestClient, session: Session
) -> None:
    _settle(session)
    cycle = find_cycle(session)
    note = "Note for the business manager: the Chair wants this paragraph shorter."
    set_central_text(session, cycle, "foreword", f"Our foreword.\n\n{note}", at=NOW, actor="bm")
    record_decision(session, cycle, "foreword", "approve", at=NOW, actor="chair")
    s = get_settings()
    apply_decisions(session, cycle, at=NOW, actor="t", base_url=s.public_base_url, templates_dir=s.templates_dir)
    session.commit()
    assert _desk_post(manager, cycle.id or 0, "collate").status_code == 303
    desk = visible(manager.get(f"/desk/{cycle.id}").text)
    assert (
        "Warning Publishing will be refused while the report holds 1 thing not fit to publish. Fix each in its text "
        "or the partnership file and collate again, or let one through with your reason. Note for the business "
        f"manager in Foreword {note} Why it may be published as it is Let this through" in desk
    )
    key = re.search(r'name="key" value="([^"]+)"', manager.get(f"/desk/{cycle.id}").text)
    assert key is not None and key[1].startswith("note:foreword:")
    # publishing now is refused, naming it and where it is
    refused = _post(
        manager, cycle.id or 0, **{"signed-off-by": "the Board", "when": "now"}, **_date("agreed", "1 5 2019")
    )
    confirm = _post(
        manager,
        cycle.id or 0,
        **{"signed-off-by": "the Board", "when": "now", "confirm": "yes"},
        **_date("agreed", "1 5 2019"),
    )
    assert refused.status_code == 200 and confirm.status_code == 422
    assert f"note for the business manager in Foreword: {note} [{key[1]}]" in visible(confirm.text)
    # a reason is asked for; then it is let through, on the record
    bare = _desk_post(manager, cycle.id or 0, "let-through", key=key[1], reason="")
    assert (
        bare.status_code == 422
        and "That was not done Say why this may be published as it is (a reason is recorded with the override)."
        in visible(bare.text)
    )
    done = _desk_post(manager, cycle.id or 0, "let-through", key=key[1], reason="the Chair agreed it stays")
    assert done.status_code == 303
    desk = visible(manager.get(f"/desk/{cycle.id}?done=let-through").text)
    assert "It is let through: publishing no longer waits for it." in desk and "Let this through" not in desk
    session.expire_all()
    again = _post(
        manager,
        cycle.id or 0,
        **{"signed-off-by": "the Board", "when": "now", "confirm": "yes"},
        **_date("agreed", "1 5 2019"),
    )
    assert again.status_code == 303, visible(again.text)
    assert session.exec(select(func.count()).select_from(Publication)).one() == 1
