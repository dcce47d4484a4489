"""The partnership, its agencies and their contacts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field

from models.base import SQLModel
from models.types import json_column


class ContactRole(StrEnum):
    lead = "lead"  # writes the contribution and gets every reminder
    deputy = "deputy"  # gets the request and reminders too
    senior = "senior"  # the chief officer an escalation goes to
    writer = "writer"  # a colleague the lead handed the link to, who writes the contribution


class Partnership(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=300)
    from_address: str = Field(max_length=320)
    business_manager_name: str = Field(max_length=200)
    business_manager_email: str = Field(max_length=320)
    timezone: str = Field(default="Europe/London", max_length=64)
    holidays: str = Field(default="GB-ENG", max_length=16)
    send_window_start: str = Field(default="09:00", max_length=5)
    send_window_end: str = Field(default="17:00", max_length=5)
    # The file's [statutory] publish_within_months, kept so an exported file says what the loaded one said.
    publish_within_months: int | None = None


class Agency(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("partnership_id", "slug"),)
    id: int | None = Field(default=None, primary_key=True)
    partnership_id: int = Field(foreign_key="partnership.id", index=True)
    slug: str = Field(max_length=64)
    name: str = Field(max_length=300)
    active: bool = True  # False: retired, kept for past cycles and never asked again
    # Other names it goes by in past reports (the file's `aliases`), for import-report and the export.
    aliases: list[str] = Field(
        default_factory=list, sa_column=Column(json_column(), nullable=False, server_default="[]")
    )


class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agency_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    role: str = Field(max_length=16)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    # A bounce after the relay took the email: chasers leave the address out until it is corrected on the desk.
    undeliverable: str | None = Field(default=None, max_length=500)
    away_until: dt.date | None = None  # an automatic reply said so: chasers copy the agency's other contacts
