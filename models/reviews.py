"""The reviews register: the Safeguarding Adults Reviews (or local child safeguarding practice reviews) a
partnership arranged, and what became of each finding. Kept per cycle, since the report for a year says
which reviews concluded in it, which were ongoing at its end, and what was done about their findings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from models import cycle  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.types import UTCDateTime


class CaseReview(SQLModel, table=True):
    """One review. Not concluded (or concluded after the year's end) means ongoing at the end of the year."""

    __tablename__ = "case_review"
    __table_args__ = (UniqueConstraint("cycle_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    name: str = Field(max_length=200)  # as the report names it: "SAR Adult D", "LCSPR Child K"
    started_on: dt.date
    concluded_on: dt.date | None = None
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=320)


class ReviewFinding(SQLModel, table=True):
    """A finding of a review and, once decided, whether it was implemented (what was done) or not (why)."""

    __tablename__ = "review_finding"
    __table_args__ = (UniqueConstraint("review_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="case_review.id", index=True)
    number: int  # 1, 2, ... within its review, in the order entered
    text: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str | None = Field(default=None, max_length=16)  # implemented | not-implemented | None (not yet)
    outcome_text: str = Field(default="", sa_column=Column(Text, nullable=False))  # what was done, or why not
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=320)
