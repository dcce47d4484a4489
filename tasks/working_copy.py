"""The agency's text in the portal: a versioned working copy, saved without silent overwrite, then submitted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from models.audit import record
from models.cycle import Contribution, Cycle, Revision
from models.partnership import Agency
from models.portal import WorkingCopy
from models.revisions import IncompleteContribution, add_revision
from models.values import Brief
from tasks.content import markdown_to_html, word_count
from tasks.submission import enqueue_receipt


@dataclass(frozen=True)
class Conflict:
    """Someone saved since this page was loaded: both versions, for the person to choose."""

    theirs: WorkingCopy
    mine: dict[str, str]


def working_copy(session: Session, contribution: Contribution) -> WorkingCopy | None:
    return session.exec(select(WorkingCopy).where(WorkingCopy.contribution_id == contribution.id)).first()


def save(
    session: Session,
    contribution: Contribution,
    sections: dict[str, str],
    *,
    brief: Brief,
    expected_version: int,
    at: dt.datetime,
    actor: str,
) -> WorkingCopy | Conflict:
    """Save the text if nobody saved since `expected_version`; otherwise a Conflict and nothing written."""
    known = {s.key for s in brief.sections}
    sections = {k: v for k, v in sections.items() if k in known}
    current = working_copy(session, contribution)
    if (current.version if current else 0) != expected_version:
        assert current is not None
        return Conflict(theirs=current, mine=sections)
    if current is None:
        current = WorkingCopy(contribution_id=contribution.id or 0, sections={}, updated_at=at, updated_by=actor)
    current.sections, current.version = sections, current.version + 1
    current.updated_at, current.updated_by = at, actor
    session.add(current)
    record(
        session,
        at=at,
        actor=actor,
        action="working_copy.save",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        version=current.version,
    )
    return current


def problems(brief: Brief, sections: dict[str, str]) -> list[str]:
    """What stops a submission, in words: empty required sections, sections over their word limit."""
    found = []
    for s in brief.sections:
        html = markdown_to_html(sections.get(s.key, ""), shift_headings=1)
        words = word_count(html)
        if s.required and words == 0:
            found.append(f"“{s.title}” is required: write something in it.")
        if s.word_limit and words > s.word_limit:
            found.append(
                f"“{s.title}” has {words} words; the limit is {s.word_limit}. Shorten it by {words - s.word_limit}."
            )
    return found


def submit(
    session: Session,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    sections: dict[str, str],
    *,
    brief: Brief,
    at: dt.datetime,
    actor: str,
    base_url: str,
    templates_dir: Path,
) -> Revision:
    """A new immutable revision from the working copy's Markdown, and a receipt."""
    found = problems(brief, sections)
    if found:
        raise IncompleteContribution(" ".join(found))
    html = {s.key: markdown_to_html(sections.get(s.key, ""), shift_headings=1) for s in brief.sections}
    revision = add_revision(session, contribution, html, brief=brief, source="portal", at=at, actor=actor)
    enqueue_receipt(
        session, cycle, agency, contribution, revision, at=at, base_url=base_url, templates_dir=templates_dir
    )
    return revision
