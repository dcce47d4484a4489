"""Saving the working copy compares and sets its version in one statement: a save against a version that changed
since its page was read writes nothing, even when its own session read that version."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, func, select

from models.audit import AuditEvent
from models.db import engine_for
from models.portal import WorkingCopy
from models.store import contribution_for, cycle_values, find_agency, find_cycle
from tasks.contributions.working_copy import Conflict, save
from tests.helpers import open_example_cycle

AT = dt.datetime(2019, 5, 1, 9, tzinfo=dt.UTC)


def test_a_save_against_a_version_saved_over_since_it_was_read_is_a_conflict(
    session: Session, database_url: str
) -> None:
    open_example_cycle(session)
    cycle = find_cycle(session)
    contribution = contribution_for(session, cycle, find_agency(session, cycle, "nps"))
    brief = cycle_values(cycle)[0]
    key = brief.sections[0].key
    first = save(session, contribution, {key: "One."}, brief=brief, expected_version=0, at=AT, actor="a@nps.example")
    assert isinstance(first, WorkingCopy) and first.version == 1
    session.commit()
    with Session(engine_for(database_url), expire_on_commit=False) as other:
        # The second person's page read version 1, and so did their session.
        assert other.exec(select(WorkingCopy)).one().version == 1
        theirs = save(
            session, contribution, {key: "Two."}, brief=brief, expected_version=1, at=AT, actor="a@nps.example"
        )
        assert isinstance(theirs, WorkingCopy) and theirs.version == 2
        session.commit()
        late = save(other, contribution, {key: "Three."}, brief=brief, expected_version=1, at=AT, actor="b@nps.example")
        assert isinstance(late, Conflict)
        assert (late.theirs.version, late.theirs.sections[key]) == (2, "Two.")
        other.rollback()
    session.expire_all()
    stored = session.exec(select(WorkingCopy)).one()
    assert (stored.version, stored.sections, stored.updated_by) == (2, {key: "Two."}, "a@nps.example")
    saves = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "working_copy.save")
    assert session.exec(saves).one() == 2


def test_a_first_save_against_a_copy_made_since_is_a_conflict(session: Session) -> None:
    open_example_cycle(session)
    cycle = find_cycle(session)
    contribution = contribution_for(session, cycle, find_agency(session, cycle, "nps"))
    brief = cycle_values(cycle)[0]
    key = brief.sections[0].key
    save(session, contribution, {key: "One."}, brief=brief, expected_version=0, at=AT, actor="a@nps.example")
    session.commit()
    again = save(session, contribution, {key: "Also one."}, brief=brief, expected_version=0, at=AT, actor="b@x.org")
    assert isinstance(again, Conflict) and again.theirs.sections == {key: "One."}
