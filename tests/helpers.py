"""Plain helpers for the flow tests: local instants, what the SMTP server got, table counts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from models.audit import AuditEvent
from models.cycle import PersonalLink
from models.outbox import OutboundEmail
from reportcycle.mailsink import MailSink, Received

LONDON = ZoneInfo("Europe/London")


def local(day: str, hhmm: str = "09:30") -> dt.datetime:
    """A wall-clock moment in London as an aware UTC datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=LONDON).astimezone(dt.UTC)


def agency_of(address: str) -> str:
    """The first label of the address domain: each agency of the test partnerships has its own."""
    return address.split("@")[1].split(".")[0]


def local_date(received: Received) -> str:
    return parsedate_to_datetime(str(received.message["Date"])).astimezone(LONDON).date().isoformat()


def received_table(sink: MailSink) -> Counter[tuple[str, str, str]]:
    """(agency, kind, local date) for every message the SMTP server received."""
    return Counter(
        (agency_of(str(r.message["To"]).split(",")[0].strip()), r.kind, local_date(r)) for r in sink.received
    )


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.exec(select(func.count()).select_from(OutboundEmail)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
        session.exec(select(func.count()).select_from(PersonalLink)).one(),
    )


def expand(rows: list[tuple[str, str, str]]) -> Counter[tuple[str, str, str]]:
    """Hand-written rows of (local date, kind, space-separated agencies) as a table of messages."""
    table: Counter[tuple[str, str, str]] = Counter()
    for day, kind, agencies in rows:
        for agency in agencies.split():
            slug, _, times = agency.partition("*")
            table[(slug, kind, day)] += int(times or 1)
    return table
