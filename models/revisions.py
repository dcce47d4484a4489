"""Revisions: immutable, numbered, hashed content per brief section."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlmodel import Session

from models.cycle import Contribution, Revision
from models.store import transition
from models.values import Brief


class IncompleteContribution(ValueError):
    pass


def content_hash(sections: dict[str, str], figures: dict[str, float] | None = None) -> str:
    content: dict[str, object] = dict(sections)
    if figures:  # a revision without key figures hashes as its sections alone
        content = {"sections": sections, "figures": figures}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def missing_sections(brief: Brief, sections: dict[str, str]) -> list[str]:
    """Titles of the required sections left empty."""
    return [s.title for s in brief.sections if s.required and not sections.get(s.key, "").strip()]


def check_sections(brief: Brief, sections: dict[str, str], *, allow_incomplete: bool = False) -> None:
    unknown = sorted(set(sections) - {s.key for s in brief.sections})
    if unknown:
        raise IncompleteContribution(
            f"unknown section(s) {', '.join(unknown)}; the brief's sections are "
            + ", ".join(s.key for s in brief.sections)
        )
    missing = missing_sections(brief, sections)
    if missing and not allow_incomplete:
        raise IncompleteContribution(f"required section(s) empty: {', '.join(missing)}; write them and submit again")


def add_revision(
    session: Session,
    contribution: Contribution,
    sections: dict[str, str],
    *,
    brief: Brief,
    source: str,
    at: dt.datetime,
    actor: str,
    allow_incomplete: bool = False,
    figures: dict[str, float] | None = None,
) -> Revision:
    """Submit: a new revision, and the contribution moves to submitted (or is refused, changing nothing)."""
    check_sections(brief, sections, allow_incomplete=allow_incomplete)
    ordered = {s.key: sections.get(s.key, "") for s in brief.sections}
    transition(
        session,
        contribution,
        "submit",
        at=at,
        actor=actor,
        revision=contribution.current_revision + 1,
        empty_required=missing_sections(brief, ordered),
    )
    revision = Revision(
        contribution_id=contribution.id or 0,
        number=contribution.current_revision + 1,
        sections=ordered,
        figures=figures or {},
        content_hash=content_hash(ordered, figures),
        source=source,
        created_by=actor,
        created_at=at,
    )
    contribution.current_revision = revision.number
    contribution.submitted_at = at
    session.add(revision)
    session.add(contribution)
    session.flush()
    return revision
