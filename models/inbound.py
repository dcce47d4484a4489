"""Messages read from the monitored mailbox (issue 17): one row each, the key that makes reading them safe to re-run."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import BigInteger, LargeBinary, UniqueConstraint
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Field, Session, col, select

from models import cycle, outbox, partnership  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.types import UTCDateTime


class InboundKind(StrEnum):
    bounce = "bounce"  # a delivery status notification: a recipient's mailbox refused the email for good
    delay = "delay"  # a DSN that says the relay is still trying: nothing to do yet
    auto_reply = "auto_reply"  # an out-of-office or other automatic answer (RFC 3834 and common forms)
    reply_with_file = "reply_with_file"  # a reply carrying a .docx, .md or .txt contribution
    reply = "reply"  # a person's plain answer
    unmatched = "unmatched"  # tied to none of our emails, or from someone who is not that agency's contact


class InboundOutcome(StrEnum):
    applied = "applied"  # its effect is done (contact marked, timeline entry, forwarded)
    needs_person = "needs_person"  # filed for the business manager to read; changed nothing
    ignored = "ignored"  # nothing to do (a delay notice)


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    # A message is the same message in the same folder generation: UIDVALIDITY changes when a server renumbers.
    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998, index=True)
    folder: str = Field(max_length=200)
    # Both are unsigned 32-bit numbers in IMAP (RFC 3501): above a signed INTEGER's range on some servers.
    uidvalidity: int = Field(sa_type=BigInteger)
    uid: int = Field(sa_type=BigInteger)
    received_at: dt.datetime = Field(sa_type=UTCDateTime)
    from_addr: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    kind: str = Field(max_length=24)
    outcome: str = Field(max_length=16, index=True)
    why: str = Field(max_length=500)  # in a sentence, for the desk: what was done, or why a person must look
    outbound_email_id: int | None = Field(default=None, foreign_key="outbound_email.id", index=True)
    contribution_id: int | None = Field(default=None, foreign_key="contribution.id", index=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    text: str = ""  # the new text of a reply, quoted history removed


class EmailedDocument(SQLModel, table=True):
    """A Word document an agency's contact sent by reply: a proposal until they confirm it on the portal."""

    __tablename__ = "emailed_document"
    id: int | None = Field(default=None, primary_key=True)
    contribution_id: int = Field(foreign_key="contribution.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    filename: str = Field(max_length=255)
    content: bytes = Field(sa_type=LargeBinary)
    received_at: dt.datetime = Field(sa_type=UTCDateTime)
    confirmed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # put in the draft by its sender


def waiting_documents(session: Session, contribution_id: int) -> list[EmailedDocument]:
    """Documents emailed in for a contribution and not yet confirmed, oldest first, without their bytes (the
    summary names them; reading `content` from these raises rather than loading each document in turn)."""
    query = (
        select(EmailedDocument)
        .options(defer(cast(QueryableAttribute[Any], EmailedDocument.content), raiseload=True))
        .where(EmailedDocument.contribution_id == contribution_id, col(EmailedDocument.confirmed_at).is_(None))
        .order_by(col(EmailedDocument.id))
    )
    return list(session.exec(query))


def for_a_person(session: Session, *, limit: int = 50) -> list[InboundMessage]:
    """Messages the mailbox could not act on (unmatched, forged, from someone else), newest first, for the desk."""
    query = (
        select(InboundMessage)
        .where(InboundMessage.outcome == InboundOutcome.needs_person)
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))
