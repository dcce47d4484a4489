"""Every email read as its reader gets it: the checks the demo year and the desk's journey run on each message."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from email.message import EmailMessage, Message
from email.utils import parseaddr

import icalendar

HASH = re.compile(r"\b[0-9a-fA-F]{64}\b")
URL = re.compile(r"^(https?|mailto):\S+$")


def parsed(message: Message) -> EmailMessage:
    """A built message as a mail program would read it: its bytes parsed again."""
    found = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def check_readable(messages: Iterable[Message]) -> set[str]:
    """Assert what a reader needs of every message; return the kinds checked."""
    kinds = set()
    for raw in messages:
        message = parsed(raw)
        kind = str(message["X-Reportcycle-Kind"])
        kinds.add(kind)
        subject = str(message["Subject"])
        assert len(subject) < 80, f"{kind}: a subject of {len(subject)} characters: {subject}"
        name, address = parseaddr(str(message["From"]))
        assert name and address, f"{kind}: From without the partnership's name: {message['From']}"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        long = [line for line in text.splitlines() if len(line) > 78 and not URL.match(line.strip())]
        assert long == [], f"{kind}: lines over 78 columns that are not a URL alone: {long}"
        assert "\n-- \n" in text.replace("\r\n", "\n"), f"{kind}: no '-- ' signature separator"
        assert not HASH.search(text) and not HASH.search(html), f"{kind}: a 64-hex hash in an email to a person"
        for part in message.walk():
            if part.get_content_type() != "text/calendar":
                continue
            assert message.get_content_type() == "multipart/alternative", f"{kind}: calendar part outside alternative"
            ics = part.get_content()
            assert "/c/" not in ics, f"{kind}: a personal link in a calendar entry, which people forward"
            cal = icalendar.Calendar.from_ical(ics)
            assert part.get_param("method") == str(cal["METHOD"])
            (event,) = cal.walk("VEVENT")
            assert str(event["ORGANIZER"]) == f"mailto:{address}", f"{kind}: ORGANIZER is not the sender"
    return kinds
