"""What the portal keeps: sessions opened from personal links, and each contribution's working copy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field

from models import cycle, partnership  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.types import UTCDateTime, json_column


class PortalSession(SQLModel, table=True):
    """A browser session, opened by exchanging a personal link. The cookie holds a token; we keep its hash."""

    __tablename__ = "portal_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    link_id: int = Field(foreign_key="personal_link.id", index=True)
    role: str = Field(default="agency", max_length=16)  # agency | chair | manager, as the link's
    contribution_id: int | None = Field(default=None, foreign_key="contribution.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id")  # chair and manager sessions
    email: str | None = Field(default=None, max_length=320)
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


class Image(SQLModel, table=True):
    """A picture uploaded into a contribution, kept as the bytes we re-encoded it to.

    Content is referenced by hash (`/images/<sha256>.<ext>`), so a revision that
    points at an image always means the same picture. Alternative text travels
    in the Markdown that uses it; `alt` here is what the uploader gave, as a default.
    """

    __tablename__ = "image"
    __table_args__ = (UniqueConstraint("contribution_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    media_type: str = Field(max_length=32)  # image/png | image/jpeg
    width: int
    height: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    alt: str = Field(max_length=500)
    filename: str = Field(max_length=255)
    uploaded_by: str = Field(max_length=320)
    uploaded_at: dt.datetime = Field(sa_type=UTCDateTime)

    @property
    def name(self) -> str:
        return f"{self.sha256}.{'png' if self.media_type == 'image/png' else 'jpg'}"


class KeptPost(SQLModel, table=True):
    """Text that arrived after its session had ended (a tab left open overnight), kept for the person who typed it.

    The post proved whose it was with its session's CSRF token, a secret only that page held. It is put back
    once, when the same contact signs in again from any fresh link for the same contribution.
    """

    __tablename__ = "kept_post"
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    # The page it came from, as the SHA-256 of that page's CSRF token: the autosaves of one page update one row.
    # Not a foreign key to the session, so a backup keeps kept text while it leaves sessions out.
    page_key: str = Field(max_length=64, index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    sections: dict[str, str] = Field(sa_column=Column(json_column(), nullable=False))
    figures: dict[str, str] = Field(default_factory=dict, sa_column=Column(json_column(), nullable=False))
    based_on_version: int = 0  # the working copy's version the page was showing
    kept_at: dt.datetime = Field(sa_type=UTCDateTime)
    restored_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
