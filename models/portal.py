"""What the portal keeps: sessions opened from personal links, and each contribution's working copy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, json_column


class PortalSession(SQLModel, table=True):
    """A browser session, opened by exchanging a personal link. The cookie holds a token; we keep its hash."""

    __tablename__ = "portal_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    link_id: int = Field(foreign_key="personal_link.id", index=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)


class WorkingCopy(SQLModel, table=True):
    """The agency's unsaved-to-revision text: Markdown per brief section, versioned against silent overwrite."""

    __tablename__ = "working_copy"
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", unique=True)
    sections: dict[str, str] = Field(sa_column=Column(json_column(), nullable=False))
    figures: dict[str, str] = Field(default_factory=dict, sa_column=Column(json_column(), nullable=False))
    version: int = 0
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=320)


class ExtensionRequest(SQLModel, table=True):
    """An agency asks for more time; the business manager decides."""

    __tablename__ = "extension_request"
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    requested_until: dt.date
    reason: str
    requested_by: str = Field(max_length=320)
    requested_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=16)  # pending | granted | refused
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
