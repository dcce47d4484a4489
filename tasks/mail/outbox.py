"""Enqueue: every email is a row first, with a unique key, before it is a message (tasks.mail.dispatch sends it).

Retries live on the row, against the clock; a send is never retried blindly once the server may have
accepted it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address
from functools import lru_cache
from typing import Any

from sqlmodel import Session, select

from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Partnership
from tasks.mail.messages import message_id_for
from tasks.mail.render import RenderedEmail


@dataclass
class Envelope:
    """Who a message goes to and what it is, before it becomes a row."""

    key: str
    kind: str
    from_addr: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    reply_to: str | None = None  # the business manager: answers reach a person, not the system
    cycle_id: int | None = None
    contribution_id: int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    tag: str | None = None  # set when an answer should reach the monitored mailbox (see tasks.inbound)


def partnership_envelope(partnership: Partnership, **fields: Any) -> Envelope:
    """An envelope from the partnership, by name and address ("Westshire SAB <report@...>": a reader sees who
    writes, not a mailbox); replies go to the business manager unless `reply_to` says."""
    if "reply_to" not in fields and fields.get("to") != [partnership.business_manager_email]:
        # An email whose answers go to the business manager is one the monitored mailbox can read for them,
        # when inbound mail is configured; the tag costs nothing when it is not. The manager's own mail (the
        # digest, the weekly summary) keeps answering to the manager.
        fields.setdefault("tag", new_tag())
    fields.setdefault("reply_to", partnership.business_manager_email)
    return Envelope(from_addr=from_header(partnership.name, partnership.from_address), **fields)


# The same for every email of a partnership, and the email package's header classes are slow to build.
@lru_cache(maxsize=256)
def from_header(name: str, address: str) -> str:
    return str(Address(name, addr_spec=address))


def new_tag() -> str:
    """Random, lower case (some servers fold addresses' case), short enough for any local part."""
    return secrets.token_hex(8)


def already_queued(session: Session, key: str) -> bool:
    return session.exec(select(OutboundEmail.id).where(OutboundEmail.idempotency_key == key)).first() is not None


def enqueue(
    session: Session,
    envelope: Envelope,
    rendered: RenderedEmail,
    *,
    at: dt.datetime,
    send_after: dt.datetime | None = None,
    status: OutboxStatus = OutboxStatus.queued,
) -> OutboundEmail | None:
    """Add the row unless its key is already there; return it, or None when it was. (The chase, which reads a
    cycle's keys in one query first, inserts its rows together instead: `outbox_values`, `models.bulk`.)"""
    if already_queued(session, envelope.key):
        return None
    row = OutboundEmail(**outbox_values(envelope, rendered, at=at, send_after=send_after, status=status))
    session.add(row)
    session.flush()
    return row


def outbox_values(
    envelope: Envelope,
    rendered: RenderedEmail,
    *,
    at: dt.datetime,
    send_after: dt.datetime | None = None,
    status: OutboxStatus = OutboxStatus.queued,
) -> dict[str, Any]:
    """An outbox row's columns, as `enqueue` writes them and as a run that writes many rows at once
    (`models.bulk.RowBatch`) inserts them: every field the model gives a default is given here."""
    return {
        "idempotency_key": envelope.key,
        "message_id": message_id_for(envelope.key, envelope.from_addr),
        "kind": envelope.kind,
        "cycle_id": envelope.cycle_id,
        "contribution_id": envelope.contribution_id,
        "from_addr": envelope.from_addr,
        "to_addrs": envelope.to,
        "cc_addrs": envelope.cc,
        "reply_to": envelope.reply_to,
        "reply_tag": envelope.tag,
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
        "attachments": envelope.attachments,
        "status": status,
        "created_at": at,
        "next_attempt_at": send_after or at,
        "deliveries": {},
    }


PERSONAL_LINK = re.compile(r"/c/[A-Za-z0-9_-]{43}")


def redact_links(body: str) -> str:
    return PERSONAL_LINK.sub("/c/[personal link, sent and not kept]", body)
