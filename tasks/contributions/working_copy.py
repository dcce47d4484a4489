"""The agency's text in the portal: a versioned working copy, saved without silent overwrite, then submitted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select, update

from models.audit import record
from models.cycle import Contribution, Cycle, Revision
from models.partnership import Agency
from models.portal import WorkingCopy
from models.revisions import IncompleteContribution, add_revision
from models.values import Brief
from tasks.contributions.content import html_to_markdown, markdown_to_html, picture_alts, word_count
from tasks.contributions.submission import enqueue_receipt


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
    figures: dict[str, str] | None = None,
) -> WorkingCopy | Conflict:
    """Save the text if nobody saved since `expected_version`; otherwise a Conflict and nothing written."""
    known = {s.key for s in brief.sections}
    sections = {k: v for k, v in sections.items() if k in known}
    known_figures = {f.key for f in brief.key_figures}
    figures = {k: v.strip() for k, v in (figures or {}).items() if k in known_figures}
    values = {"sections": sections, "figures": figures, "updated_at": at, "updated_by": actor}
    current: WorkingCopy | None
    if expected_version != 0:
        # One compare-and-set: the row changes only if its stored version is still the one the page was loaded
        # with, so nobody else's save can land between the check and the write, without reading the row first
        # (a statement and a row lock fewer than SELECT ... FOR UPDATE, then UPDATE).
        current = (
            session.execute(
                update(WorkingCopy)
                .where(
                    col(WorkingCopy.contribution_id) == contribution.id,
                    col(WorkingCopy.version) == expected_version,
                )
                .values(version=expected_version + 1, **values)
                .returning(WorkingCopy)
                # the row as written, into the copy this session read with the page (if it did)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
            .scalars()
            .first()
        )
    else:
        current = None if working_copy(session, contribution) else _first_copy(contribution, values)
    if current is None:
        theirs = session.exec(
            select(WorkingCopy)
            .where(WorkingCopy.contribution_id == contribution.id)
            .execution_options(populate_existing=True)
        ).first()
        assert theirs is not None  # a version the page was loaded with, or a copy made since
        return Conflict(theirs=theirs, mine=sections)
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


def _first_copy(contribution: Contribution, values: dict[str, Any]) -> WorkingCopy:
    """The contribution's first working copy, version 1 (two first saves at once: the unique key refuses one)."""
    return WorkingCopy(contribution_id=contribution.id or 0, version=1, **values)


def parse_figures(brief: Brief, figures: dict[str, str]) -> tuple[dict[str, float], list[str]]:
    """The key figures as numbers, and what is wrong with any that are not."""
    parsed: dict[str, float] = {}
    wrong = []
    for f in brief.key_figures:
        raw = figures.get(f.key, "").replace(",", "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            wrong.append(f"“{f.label}” should be a number, like 1250; it is “{figures[f.key]}”.")
            continue
        if value < 0 or value != value or value in (float("inf"), float("-inf")):
            wrong.append(f"“{f.label}” should be zero or more.")
            continue
        parsed[f.key] = int(value) if value.is_integer() else value
    return parsed, wrong


def problems(brief: Brief, sections: dict[str, str], figures: dict[str, str] | None = None) -> list[str]:
    """What stops a submission, in words: empty required sections or figures, word limits, figures not numbers."""
    parsed, found = parse_figures(brief, figures or {})
    found += [
        f"“{f.label}” is required: give the number."
        for f in brief.key_figures
        if f.required and f.key not in parsed and not (figures or {}).get(f.key, "").strip()
    ]
    for s in brief.sections:
        html = markdown_to_html(sections.get(s.key, ""), shift_headings=1)
        words = word_count(html)
        if s.required and words == 0:
            found.append(f"“{s.title}” is required: write something in it.")
        if s.word_limit and words > s.word_limit:
            found.append(
                f"“{s.title}” has {words} words; the limit is {s.word_limit}. Shorten it by {words - s.word_limit}."
            )
        missing_alt = sum(1 for alt in picture_alts(html) if not alt)
        if missing_alt:
            found.append(
                f"“{s.title}” has {missing_alt} picture(s) with no description: write one between the square "
                "brackets, as in ![what the picture shows](/images/…)."
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
    figures: dict[str, str] | None = None,
) -> Revision:
    """A new immutable revision from the working copy's Markdown and figures, and a receipt."""
    found = problems(brief, sections, figures)
    if found:
        raise IncompleteContribution(" ".join(found))
    html = {s.key: markdown_to_html(sections.get(s.key, ""), shift_headings=1) for s in brief.sections}
    parsed, _ = parse_figures(brief, figures or {})
    revision = add_revision(
        session, contribution, html, brief=brief, source="portal", at=at, actor=actor, figures=parsed
    )
    enqueue_receipt(
        session, cycle, agency, contribution, revision, at=at, base_url=base_url, templates_dir=templates_dir
    )
    return revision


def last_year(session: Session, cycle: Cycle, agency: Agency) -> dict[str, str]:
    """The agency's text from the partnership's previous cycle, as Markdown per section of this year's brief."""
    previous = session.exec(
        select(Cycle)
        .where(Cycle.partnership_id == cycle.partnership_id, col(Cycle.period_end) < cycle.period_start)
        .order_by(col(Cycle.period_end).desc())
    ).first()
    if previous is None:
        return {}
    revision = session.exec(
        select(Revision)
        .join(Contribution, col(Revision.contribution_id) == col(Contribution.id))
        .where(
            Contribution.cycle_id == previous.id,
            Contribution.agency_id == agency.id,
            col(Revision.number) == col(Contribution.current_revision),
        )
    ).first()
    if revision is None:
        return {}
    return {key: html_to_markdown(html) for key, html in revision.sections.items() if html.strip()}
