"""Read the monitored mailbox once: each new message classified, matched, acted on, recorded and filed.

Safe to re-run. A message's effect and its record are one transaction, committed before the message is
filed away: a crash before the commit leaves the message where it was and nothing done (the next run does it
once); a crash after it leaves a message whose record exists, which the next run files without acting again.
The record is found by the mailbox's UID (within its UIDVALIDITY) or by Message-ID, so a copy delivered
twice is acted on once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models.audit import record
from models.db import session_scope
from models.inbound import InboundKind, InboundMessage, InboundOutcome
from tasks.inbound import effects
from tasks.inbound.classify import Classified, classify
from tasks.inbound.mailbox import LOST, Fetched, ImapConfig, Mailbox, MailboxUnreachable
from tasks.inbound.match import Match, match, who_is_wrong


@dataclass
class InboundReport:
    applied: int = 0
    needs_person: int = 0
    ignored: int = 0
    already: int = 0  # recorded by an earlier run that stopped before filing them: filed now, nothing done again
    lines: list[str] = field(default_factory=list)
    unreachable: str | None = None

    @property
    def summary(self) -> str:
        line = f"acted on {self.applied}, for a person {self.needs_person}, nothing to do {self.ignored}"
        if self.already:
            line += f", {self.already} read before and filed now"
        if self.unreachable:
            line += f"; the mailbox could not be read ({self.unreachable}); its messages wait there"
        return line


def message_key(message: Classified, raw: bytes) -> str:
    """Its Message-ID; a message without one is known by its content."""
    return message.message_id[:998] or f"<sha256-{hashlib.sha256(raw).hexdigest()}@reportcycle.invalid>"


def already_read(session: Session, *, folder: str, uidvalidity: int, uid: int, key: str) -> InboundMessage | None:
    same_place = and_(
        col(InboundMessage.folder) == folder,
        col(InboundMessage.uidvalidity) == uidvalidity,
        col(InboundMessage.uid) == uid,
    )
    query = select(InboundMessage).where(or_(same_place, col(InboundMessage.message_id) == key))
    return session.exec(query).first()


def act(
    session: Session, message: Classified, key: str, mailbox: str, e: effects.Effects
) -> tuple[str, str, Match | None]:
    """(outcome, why, match) for a message not read before; its effect is done in `session`."""
    found = match(session, message, mailbox)
    if message.kind == InboundKind.delay:
        return InboundOutcome.ignored, "a delivery delay notice: the relay is still trying", found
    if found is None:
        return InboundOutcome.needs_person, "it answers none of our emails", found
    wrong = who_is_wrong(message, found)
    if wrong:
        if effects.answer_wrong_sender(session, found, message, e):
            wrong += "; they were told how to send it"
        return InboundOutcome.needs_person, wrong, found
    if message.kind == InboundKind.bounce:
        return InboundOutcome.applied, effects.bounce(session, found, message, key, e), found
    if message.kind == InboundKind.auto_reply:
        return InboundOutcome.applied, effects.auto_reply(session, found, message, key, e), found
    return InboundOutcome.applied, effects.reply(session, found, message, key, e), found


def read_one(
    session: Session, fetched: Fetched, *, folder: str, uidvalidity: int, mailbox: str, e: effects.Effects
) -> tuple[InboundMessage, bool]:
    """(its record, whether it was new): acts on a new message and records it, in the caller's transaction."""
    message = classify(fetched.raw)
    key = message_key(message, fetched.raw)
    before = already_read(session, folder=folder, uidvalidity=uidvalidity, uid=fetched.uid, key=key)
    if before is not None:
        return before, False
    outcome, why, found = act(session, message, key, mailbox, e)
    kind = InboundKind.unmatched if found is None and message.kind != InboundKind.delay else message.kind
    email = found.email if found is not None else None
    contribution = found.contribution if found is not None else None
    agency = found.agency if found is not None else None
    row = InboundMessage(
        message_id=key,
        folder=folder,
        uidvalidity=uidvalidity,
        uid=fetched.uid,
        received_at=e.at,
        from_addr=message.from_addr[:320],
        subject=message.subject,
        kind=kind,
        outcome=outcome,
        why=why[:500],
        outbound_email_id=email.id if email is not None else None,
        contribution_id=contribution.id if contribution is not None else None,
        agency_id=agency.id if agency is not None else None,
        text=message.text,
    )
    session.add(row)
    session.flush()
    record(
        session,
        at=e.at,
        actor=e.actor,
        action=f"inbound.{outcome}",
        subject=f"inbound:{row.id}",
        cycle_id=contribution.cycle_id if contribution is not None else None,
        kind=message.kind,
        sender=message.from_addr,
        why=why,
    )
    return row, True


def read_mailbox(
    database_url: str,
    config: ImapConfig,
    *,
    at: dt.datetime,
    actor: str,
    templates_dir: Path,
    base_url: str,
    link_valid_days: int = 120,
    observe: Callable[[str, int], None] | None = None,
) -> InboundReport:
    """Read every message waiting in the folder. `observe(phase, uid)` runs after each commit and each filing:
    a hook for crash tests, never for control."""
    report = InboundReport()
    e = effects.Effects(
        at=at,
        actor=actor,
        templates_dir=templates_dir,
        base_url=base_url,
        processed_folder=config.processed,
        link_valid_days=link_valid_days,
    )
    try:
        with Mailbox(config) as box:
            for fetched in box.messages():
                with session_scope(database_url) as session:
                    row, new = read_one(
                        session, fetched, folder=config.folder, uidvalidity=box.uidvalidity, mailbox=config.address, e=e
                    )
                    outcome, why = row.outcome, row.why
                if observe:
                    observe("recorded", fetched.uid)
                box.file(
                    fetched.uid, config.needs_person if outcome == InboundOutcome.needs_person else config.processed
                )
                if observe:
                    observe("filed", fetched.uid)
                if not new:
                    report.already += 1
                    continue
                setattr(report, outcome, getattr(report, outcome) + 1)
                report.lines.append(why if outcome != InboundOutcome.needs_person else f"for a person: {why}")
    except MailboxUnreachable as exc:
        report.unreachable = str(exc)
    except LOST as exc:  # the server went away mid-run: what was filed is done, the rest waits on the server
        report.unreachable = f"{config.host}:{config.port}: {type(exc).__name__}: {exc}"
    return report
