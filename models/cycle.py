"""A cycle, the contributions asked for in it, their revisions, decisions and personal links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, UniqueConstraint, event, inspect, update
from sqlalchemy.orm import Session
from sqlmodel import Field, col

from models import partnership, report  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.types import UTCDateTime, append_only, json_column


class Cycle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("partnership_id", "label"),)
    id: int | None = Field(default=None, primary_key=True)
    partnership_id: int = Field(foreign_key="partnership.id", index=True)
    label: str = Field(max_length=32)  # "2018/19"
    title: str = Field(max_length=300)
    status: str = Field(default="planned", max_length=16)
    period_start: dt.date
    period_end: dt.date
    requests_on: dt.date
    contributions_due: dt.date
    cut_off: dt.time  # local wall-clock time on the due day
    review_due: dt.date
    publish_by: dt.date
    chair: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    priorities: list[dict[str, Any]] = Field(sa_column=Column(json_column(), nullable=False))
    brief: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    reminder_policy: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    recipients: list[dict[str, Any]] = Field(sa_column=Column(json_column(), nullable=False))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(json_column(), nullable=False))
    opened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Publication is deliberate: the board's sign-off as the business manager records it, and the day chosen.
    board_signed_off_by: str | None = Field(default=None, max_length=300)  # "the Board at its meeting on 12 June"
    board_signed_off_on: dt.date | None = None  # the local date the board agreed the report
    publish_on: dt.date | None = None  # the local day the morning run publishes it (today: at once)


class Contribution(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("cycle_id", "agency_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    status: str = Field(default="pending", max_length=16)
    due_date: dt.date  # the agency's own deadline: a local date...
    cut_off: dt.time  # ...and a local cut-off time on it
    deadline_set_on: dt.date  # local day the current deadline was set: reminders before it never apply
    requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_revision: int = 0
    calendar_sequence: int = 0  # SEQUENCE of its calendar entry: +1 at every change of deadline
    signed_off_by: str | None = Field(default=None, max_length=200)  # the senior officer who signed it off
    signed_off_role: str | None = Field(default=None, max_length=200)
    signed_off_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The local day of its next ladder step, so the daily chase reads only what is due (issue 19). None means
    # "work it out at the next chase": set so whenever its state or deadline changes (see `_ladder_moved`).
    next_step_on: dt.date | None = Field(default=None, index=True)


# What the ladder of a contribution is computed from. A change to any of them makes its stored next step
# unknown, so the next chase looks at it again; the stored day may be early (a harmless look) but never late.
_LADDER_INPUTS = ("status", "due_date", "deadline_set_on")


def _ladder_moved(target: Contribution, value: Any, old: Any, _initiator: Any) -> None:
    if value != old:
        target.next_step_on = None


for _name in _LADDER_INPUTS:
    event.listen(getattr(Contribution, _name), "set", _ladder_moved)


@event.listens_for(Session, "before_flush")
def _policy_moved(session: Session, _context: Any, _instances: Any) -> None:
    """A running cycle's reminder policy edited: every contribution's next step is worked out again."""
    for cycle in session.dirty:
        if isinstance(cycle, Cycle) and inspect(cycle).attrs.reminder_policy.history.has_changes():
            session.execute(
                update(Contribution).where(col(Contribution.cycle_id) == cycle.id).values(next_step_on=None)
            )


@append_only
class Revision(SQLModel, table=True):
    """One save or submission of a contribution. Never updated: a change is a new revision."""

    __table_args__ = (UniqueConstraint("contribution_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    number: int
    sections: dict[str, str] = Field(sa_column=Column(json_column(), nullable=False))
    figures: dict[str, float] = Field(default_factory=dict, sa_column=Column(json_column(), nullable=False))
    content_hash: str = Field(max_length=64)  # sha256 of the canonical JSON of `sections` (and `figures`)
    source: str = Field(max_length=32)  # portal, upload, other-means
    created_by: str = Field(max_length=320)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class ReviewDecision(SQLModel, table=True):
    __tablename__ = "review_decision"
    """The Chair's decision on one contribution's revision or one central section's text.

    Recorded by people (portal, CLI); the review flow applies it. Nothing waits on a person.
    """

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    contribution_id: int | None = Field(default=None, foreign_key="contribution.id", index=True)
    revision_id: int | None = Field(default=None, foreign_key="revision.id")
    central_section_id: int | None = Field(default=None, foreign_key="central_section.id", index=True)
    content_hash: str = Field(max_length=64)  # what the Chair read
    decision: str = Field(max_length=16)  # approve | return
    comments: str = ""
    brief_section: str | None = Field(default=None, max_length=64)  # the part of the brief a return points at
    decided_by: str = Field(max_length=320)
    decided_at: dt.datetime = Field(sa_type=UTCDateTime)
    applied_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=32)  # applied | stale (the text changed since)


class PersonalLink(SQLModel, table=True):
    """A personal link: for an agency's contact to one contribution, or for the Chair or the business manager
    to one cycle's review or desk. Only the token's hash is kept."""

    __tablename__ = "personal_link"
    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(default="agency", max_length=16)  # agency | chair | manager
    contribution_id: int | None = Field(default=None, foreign_key="contribution.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)  # chair and manager links
    email: str | None = Field(default=None, max_length=320)  # who a chair or manager link was sent to
    token_hash: str = Field(unique=True, max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
