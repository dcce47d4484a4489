"""Every email is an outbox row before it is a message on the wire."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, text
from sqlmodel import Field

from models import cycle  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
from models.lifecycle import OutboxStatus
from models.types import UTCDateTime, json_column


class OutboundEmail(SQLModel, table=True):
    __tablename__ = "outbound_email"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=255)
    message_id: str = Field(unique=True, max_length=255)
    kind: str = Field(max_length=32, index=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    contribution_id: int | None = Field(default=None, foreign_key="contribution.id", index=True)
    from_addr: str = Field(max_length=320)
    to_addrs: list[str] = Field(sa_column=Column(json_column(), nullable=False))
    cc_addrs: list[str] = Field(sa_column=Column(json_column(), nullable=False))
    reply_to: str | None = Field(default=None, max_length=320)
    # Opaque and random: with inbound mail configured, Reply-To and the envelope sender are mailbox+tag@domain, so
    # an answer or a bounce finds its email. It names the row, never a personal link.
    reply_tag: str | None = Field(default=None, unique=True, max_length=32)
    subject: str = Field(max_length=500)
    text_body: str
    html_body: str
    attachments: list[dict[str, Any]] = Field(sa_column=Column(json_column(), nullable=False))
    status: str = Field(default=OutboxStatus.queued, max_length=16, index=True)
    attempts: int = 0
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    claimed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    smtp_reply: str | None = None
    last_error: str | None = None
    # Each recipient's outcome, by address: {"state": "sent" | "retry" | "failed", "reply": ..., "at": ISO UTC}.
    # A recipient already "sent" or "failed" is not sent to again; the row is "sent" only when all were.
    deliveries: dict[str, dict[str, str]] = Field(
        default_factory=dict, sa_column=Column(json_column(), nullable=False, server_default=text("'{}'"))
    )
    refused: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})  # recipients refused for good
    # The queue lifetime runs from here: the first time the relay was asked to take the message.
    first_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


def recipients(row: OutboundEmail) -> list[str]:
    """Everyone the message is for, each once, in the order the headers name them."""
    return list(dict.fromkeys([*row.to_addrs, *row.cc_addrs]))


def pending(row: OutboundEmail) -> list[str]:
    """The recipients still to be sent to: neither accepted nor refused for good."""
    return [a for a in recipients(row) if row.deliveries.get(a, {}).get("state") not in ("sent", "failed")]


def is_permanent(reply: str) -> bool:
    """An SMTP reply of the 5xx kind: trying again will not change it."""
    return reply[:1] == "5"


def refused_for_good(deliveries: dict[str, dict[str, str]]) -> list[str]:
    """The addresses a relay refused with a 5xx: the mailbox is gone or will not take our mail."""
    return [a for a, d in deliveries.items() if d.get("state") == "failed" and is_permanent(d.get("reply", ""))]
