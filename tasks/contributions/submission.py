"""A contribution received by other means (a file), recorded as a revision with a receipt."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlmodel import Session

from models.cycle import Contribution, Cycle, Revision
from models.ladder import Kind
from models.partnership import Agency, ContactRole
from models.revisions import add_revision
from models.store import calendar_of, contacts_of, cycle_values, partnership_of
from models.values import Brief
from tasks.asking.deadline_notice import cancelled_entry
from tasks.contributions.content import markdown_to_html
from tasks.links.tokens import LINK_VALID_DAYS, personal_link
from tasks.mail.context import email_context
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import render_email

_HEADING = re.compile(r"^#{1,3}\s+(.+?)\s*#*\s*$")


class SubmissionFileError(ValueError):
    pass


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def split_sections(path: Path, brief: Brief) -> dict[str, str]:
    """Split a Markdown file into the brief's sections by its level 1-3 headings (key or title).

    Level-4 headings and below stay inside a section (an agency's own sub-headings).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionFileError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    names = {}
    for s in brief.sections:
        names[_norm(s.key)] = s.key
        names[_norm(s.title)] = s.key
    parts: dict[str, list[str]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADING.match(line)
        if match:
            key = names.get(_norm(match.group(1)))
            if key is None:
                expected = "; ".join(f"'{s.title}'" for s in brief.sections)
                raise SubmissionFileError(
                    f"{path}:{number}: heading {match.group(1)!r} matches no section of the brief; "
                    f"use one of: {expected}"
                )
            current = key
            parts.setdefault(key, [])
        elif current is not None:
            parts[current].append(line)
        elif line.strip():
            raise SubmissionFileError(
                f"{path}:{number}: text before the first heading; start each section with '## <section title>'"
            )
    if not parts:
        raise SubmissionFileError(f"{path}: no section headings found; start each section with '## <section title>'")
    return {key: markdown_to_html("\n".join(lines), shift_headings=1) for key, lines in parts.items()}


def submit_file(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    path: Path,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> Revision:
    brief, _, _, _, _ = cycle_values(cycle)
    # Received by other means: recorded as it came, gaps and all; the draft's summary shows the gaps.
    revision = add_revision(
        session,
        contribution,
        split_sections(path, brief),
        brief=brief,
        source="other-means",
        at=at,
        actor=actor,
        allow_incomplete=True,
    )
    enqueue_receipt(
        session, cycle, agency, contribution, revision, at=at, base_url=base_url, templates_dir=templates_dir
    )
    return revision


def enqueue_receipt(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    revision: Revision,
    *,
    at: dt.datetime,
    base_url: str,
    templates_dir: Path,
    link_valid_days: int = LINK_VALID_DAYS,
) -> None:
    """The receipt is transactional: it goes at once, whatever the send window."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    lead = contacts_of(session, agency).get(ContactRole.lead)
    if lead is None:
        return
    local = calendar.local(at)
    # The deadline is met: its calendar entry comes out of the lead's and the deputy's calendars (the deputy is
    # copied for that); a return later sends a new REQUEST.
    entry, attendees = cancelled_entry(session, cycle, agency, contribution, at=at)
    context = email_context(
        partnership=partnership,
        cycle=cycle,
        agency=agency,
        contribution=contribution,
        contact=lead,
        calendar=calendar,
        at=at,
        link=personal_link(
            session,
            base_url,
            contribution_id=contribution.id or 0,
            contact_id=lead.id or 0,
            at=at,
            valid_days=link_valid_days,
        ),
        revision={"number": revision.number},  # no fingerprint: a hash means nothing to the person who wrote it
        received_text=f"{local:%A} {local.day} {local:%B %Y at %H:%M}",
        cancelled=entry is not None,
    )
    enqueue(
        session,
        partnership_envelope(
            partnership,
            key=f"contribution:{contribution.id}:receipt:revision:{revision.number}",
            kind=Kind.receipt,
            to=[lead.email],
            cc=[a for a in attendees if a != lead.email],
            cycle_id=cycle.id,
            contribution_id=contribution.id,
            attachments=[entry] if entry else [],
        ),
        render_email(templates_dir, Kind.receipt, context),
        at=at,
    )
