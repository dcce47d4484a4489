"""What a message from the mailbox is: a bounce, an automatic reply, a reply with a file, or a plain reply.

Pure: bytes in, a value out. Bounces are read by flufl.bounce (RFC 3464 and the many older forms relays use),
quoted history by mail-parser-reply; automatic replies by RFC 3834's Auto-Submitted and the headers and
subjects the common mail systems use instead of it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from models.inbound import InboundKind

# Files a reply may carry as the contribution, as an upload may be.
DOCUMENT_SUFFIXES = (".docx", ".md", ".txt")
# Subjects of automatic replies from systems that send no Auto-Submitted (Outlook, Exchange, Gmail, Notes).
AUTOMATIC_SUBJECTS = ("automatic reply:", "auto:", "autoreply:", "auto-reply:", "out of office", "out of the office")
# A DSN's Status for a recipient the relay will not keep trying: 5.x.x (RFC 3463).
PERMANENT = "5"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Classified:
    kind: InboundKind
    message_id: str
    from_addr: str
    subject: str
    addressed_to: tuple[str, ...]  # every address the message was delivered to (To, Cc, Delivered-To, X-Original-To)
    answers: tuple[str, ...]  # Message-IDs it answers (In-Reply-To, then References, newest first)
    bounced: dict[str, str]  # address -> the relay's words, for a bounce
    text: str  # a reply's new text, quoted history removed; an automatic reply's text
    attachment: Attachment | None = None


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _addresses(message: Message, *headers: str) -> tuple[str, ...]:
    values = [str(v) for h in headers for v in message.get_all(h, [])]
    return tuple(dict.fromkeys(a.strip().lower() for _, a in getaddresses(values) if a))


def _message_ids(message: Message) -> tuple[str, ...]:
    ids = str(message.get("In-Reply-To", "")).split() + list(reversed(str(message.get("References", "")).split()))
    return tuple(dict.fromkeys(i for i in ids if i.startswith("<") and i.endswith(">")))


def is_automatic(message: Message) -> bool:
    """RFC 3834's Auto-Submitted (anything but "no"), else the headers and subjects systems use instead."""
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    if str(message.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    return str(message.get("Subject", "")).strip().lower().startswith(AUTOMATIC_SUBJECTS)


def bounced(message: Message) -> tuple[dict[str, str], bool]:
    """(each address refused for good -> the relay's words, whether the message is a bounce of any kind)."""
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(message)  # in this order: see flufl.bounce.all_failures
    if not permanent and not temporary:
        return {}, False
    words = _diagnostics(message)
    found = {}
    for raw in permanent:
        address = raw.decode("utf-8", "replace").strip().lower()
        found[address] = words.get(address, "refused for good by the recipient's mail server")
    return found, True


def _diagnostics(message: Message) -> dict[str, str]:
    """Each recipient's Status and Diagnostic-Code from an RFC 3464 delivery-status part, by address."""
    words: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        for block in payload if isinstance(payload, list) else []:
            if not isinstance(block, Message):
                continue
            recipient = str(block.get("Final-Recipient", "")).partition(";")[2].strip().lower()
            status = str(block.get("Status", "")).strip()
            code = " ".join(str(block.get("Diagnostic-Code", "")).partition(";")[2].split())
            if recipient and status.startswith(PERMANENT):
                words[recipient] = code or f"status {status}"
    return words


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        from tasks.report.html_text import read_html

        content = read_html(content).text()
    return str(content)


def new_text(message: EmailMessage) -> str:
    """The words the sender wrote in this message: quoted history and the attribution line above it removed."""
    from mailparser_reply import EmailReplyParser

    text = _body_text(message).replace("\r\n", "\n")
    return (EmailReplyParser(languages=["en"]).parse_reply(text=text) or text).strip()


def document(message: EmailMessage) -> Attachment | None:
    """The first attachment that could be a contribution (.docx, .md, .txt)."""
    for part in message.iter_attachments():
        name = part.get_filename() or ""
        if name.lower().endswith(DOCUMENT_SUFFIXES):
            content = part.get_content()
            return Attachment(name, content if isinstance(content, bytes) else str(content).encode())
    return None


def classify(raw: bytes) -> Classified:
    message = parse(raw)
    refused, is_bounce = bounced(message)
    attachment = None
    if is_bounce:
        kind, text = (InboundKind.bounce if refused else InboundKind.delay), ""
    elif is_automatic(message):
        kind, text = InboundKind.auto_reply, " ".join(_body_text(message).split())[:2000]
    else:
        attachment = document(message)
        kind = InboundKind.reply_with_file if attachment else InboundKind.reply
        text = new_text(message)
    return Classified(
        kind=kind,
        message_id=str(message.get("Message-ID", "")).strip(),
        from_addr=parseaddr(str(message.get("From", "")))[1].lower(),
        subject=" ".join(str(message.get("Subject", "")).split())[:500],
        addressed_to=_addresses(message, "To", "Cc", "Delivered-To", "X-Original-To"),
        answers=_message_ids(message),
        bounced=refused,
        text=text,
        attachment=attachment,
    )


def return_date(text: str, received: dt.date) -> dt.date | None:
    """The day an out-of-office says its writer is back, when it says one after "until", "return" or "back"."""
    from dateutil import parser

    lowered = text.lower()
    for word in (" until ", " returning on ", " return on ", " back on ", " back in the office on "):
        start = lowered.find(word)
        if start < 0:
            continue
        phrase = text[start + len(word) : start + len(word) + 40].split(".")[0]
        try:
            day = parser.parse(
                phrase, fuzzy=True, dayfirst=True, default=dt.datetime(received.year, 1, 1, tzinfo=dt.UTC)
            ).date()
        except (ValueError, OverflowError):
            continue
        if day < received:  # "until 3 January", written in December
            day = day.replace(year=day.year + 1)
        return day
    return None
