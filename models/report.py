"""The report side of a cycle: central sections, numbered drafts, the publication."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from models import cycle  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.types import UTCDateTime, json_column


class CentralSection(SQLModel, table=True):
    """A part the partnership writes itself; its body is Markdown, edited by the business manager."""

    __tablename__ = "central_section"
    __table_args__ = (UniqueConstraint("cycle_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    key: str = Field(max_length=64)
    title: str = Field(max_length=300)
    position: int
    status: str = Field(default="draft", max_length=16)
    body_md: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_hash: str = Field(default="", max_length=64)
    updated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=320)


class Draft(SQLModel, table=True):
    """A numbered collation. `inputs` fingerprints what went in, so an unchanged collation is not repeated."""

    __table_args__ = (UniqueConstraint("cycle_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    number: int
    inputs_hash: str = Field(max_length=64)
    inputs: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    summary: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    html_path: str = Field(max_length=1000)
    html_sha256: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class Publication(SQLModel, table=True):
    """The frozen final report: its files and their SHA-256, then the notices."""

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    draft_number: int
    files: list[dict[str, Any]] = Field(sa_column=Column(json_column(), nullable=False))
    frozen_at: dt.datetime = Field(sa_type=UTCDateTime)
    notified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
