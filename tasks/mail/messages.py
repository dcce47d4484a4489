"""Build the MIME message for an outbox row: a plain value, no network."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime

from models.outbox import OutboundEmail


def message_id_for(idempotency_key: str, from_address: str) -> str:
    """The same key always gives the same Message-ID, so a resend is recognisable downstream."""
    domain = from_address.rpartition("@")[2] or "reportcycle.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def build_message(row: OutboundEmail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = row.from_addr
    msg["To"] = ", ".join(row.to_addrs)
    if row.cc_addrs:
        msg["Cc"] = ", ".join(row.cc_addrs)
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(row.created_at)
    msg["X-Reportcycle-Kind"] = row.kind
    # Out-of-office and list software should not answer automated chasers.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.text_body)
    msg.add_alternative(row.html_body, subtype="html")
    for att in row.attachments:
        maintype, _, subtype = att["content_type"].partition("/")
        params = {"method": att["method"]} if att.get("method") else {}
        msg.add_attachment(
            att["content"].encode(), maintype=maintype, subtype=subtype, filename=att["filename"], params=params
        )
    return msg
