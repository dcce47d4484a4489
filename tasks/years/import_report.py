"""Last year's contributions from last year's report: a closed cycle with each agency's chapter, approved.

A partnership that starts using reportcycle has no history, so the portal has no "last year's text" to
offer. Importing the previous annual report (Markdown) gives it one: `tasks.contributions.working_copy.last_year` finds
the imported cycle because its period ends before the current cycle's begins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle
from models.lifecycle import CycleState, next_cycle_state
from models.partnership import Agency, Partnership
from models.partnership_file import PartnershipFile
from models.revisions import add_revision
from models.store import NotFound, cycle_settings, transition
from models.year_on import move_years, period_end_on, same_day, years_named
from tasks.contributions.content import markdown_to_html
from tasks.years.report_chapters import Chapters, Placement, find_chapters, headings, place, plain


class ReportImportError(ValueError):
    """A report that cannot be imported as asked; nothing was written."""


@dataclass(frozen=True)
class ImportedChapter:
    slug: str
    name: str
    heading: str
    line: int
    words: int
    placed: str


@dataclass(frozen=True)
class ImportReport:
    partnership: str
    label: str
    title: str
    period_start: dt.date
    period_end: dt.date
    chapters: list[ImportedChapter]
    missing: list[tuple[str, str, tuple[str, ...]]]  # slug, name, aliases: what no heading matched
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """The cycle the report becomes: by default the year before the partnership file's cycle."""

    label: str
    title: str
    period_start: dt.date
    period_end: dt.date


def target(
    spec: PartnershipFile,
    *,
    label: str | None,
    title: str | None,
    period_start: dt.date | None,
    period_end: dt.date | None,
) -> Target:
    """The imported cycle's label, title and period: given, or the file's cycle moved back a year.

    The default is "the year before the file's cycle" because the point of the import is to give that
    cycle its history. An explicit period moves the derived label and title by the same number of years.
    """
    c = spec.cycle
    if (period_start is None) != (period_end is None):
        raise ReportImportError("give both --period-start and --period-end, or neither (the year before the file's)")
    if period_start is None or period_end is None:
        years = -1
        period_start = same_day(c.period_start, years, leap_day_to="later")
        period_end = period_end_on(c.period_end, years)
    else:
        years = period_end.year - c.period_end.year
        if period_end <= period_start:
            raise ReportImportError(f"--period-end ({period_end}) must come after --period-start ({period_start})")
    file_years = {c.period_start.year, c.period_end.year}
    if label is None and (label := move_years(c.label, years, file_years)) is None:
        raise ReportImportError(f"cannot tell the imported cycle's label from the file's {c.label!r}; give --label")
    if title is None and (title := move_years(c.title, years, file_years)) is None:
        raise ReportImportError(f"cannot move the file's title {c.title!r} to the imported year; give --title")
    label, title = label.strip(), title.strip()
    if not 1 <= len(label) <= 32:
        raise ReportImportError(f"the label {label!r} must be 1 to 32 characters; give another with --label")
    if not 1 <= len(title) <= 300:
        raise ReportImportError("the title must be 1 to 300 characters; give another with --title")
    return Target(label, title, period_start, period_end)


def _report_title_note(text: str, t: Target) -> list[str]:
    """A warning when the report's own title names other years than the ones it is imported as."""
    first = next((h for h in headings(text.splitlines()) if h.level == 1), None)
    if first is None:
        return []
    named = years_named(first.text)
    if named and not named <= {t.period_start.year, t.period_end.year}:
        return [
            f"the report's title {plain(first.text)!r} names other years than {t.label} ({t.period_start} to "
            f"{t.period_end}), the year it was imported as; if that is wrong, give --label, --period-start "
            "and --period-end"
        ]
    return []


def _agencies(session: Session, spec: PartnershipFile) -> tuple[Partnership, dict[str, Agency]]:
    partnership = session.exec(select(Partnership).where(Partnership.slug == spec.partnership.slug)).first()
    if partnership is None:
        raise NotFound(
            f"the partnership {spec.partnership.slug!r} is not in the database; load its file first "
            "(reportcycle partnership load FILE), then import the report"
        )
    agencies = {a.slug: a for a in session.exec(select(Agency).where(Agency.partnership_id == partnership.id))}
    unknown = [a.slug for a in spec.agencies if a.slug not in agencies]
    if unknown:
        raise NotFound(
            f"agencies {', '.join(unknown)} of the partnership file are not in the database; load the file again "
            "(reportcycle partnership load FILE), then import the report"
        )
    return partnership, agencies


def _check_free(session: Session, partnership: Partnership, t: Target) -> None:
    for other in session.exec(
        select(Cycle).where(Cycle.partnership_id == partnership.id).order_by(col(Cycle.period_start))
    ):
        if other.label == t.label:
            raise ReportImportError(
                f"{partnership.slug} already has a cycle {t.label!r} ({other.status}); nothing was imported. "
                "A report is imported once; to import it as another year, give --label, --period-start and "
                "--period-end"
            )
        if other.period_start <= t.period_end and t.period_start <= other.period_end:
            raise ReportImportError(
                f"the period {t.period_start} to {t.period_end} overlaps cycle {other.label} "
                f"({other.period_start} to {other.period_end}); nothing was imported. Give the report's own "
                "period with --period-start and --period-end"
            )


def _chapters(spec: PartnershipFile, text: str, source: str) -> Chapters:
    parts = [c.title for c in spec.central_sections] + [spec.report.contributions_title, "Glossary", "Contents"]
    found = find_chapters(text, spec.agencies, parts)
    if not found.found:
        example = spec.agencies[0]
        raise ReportImportError(
            f"{source}: no heading names an agency of {spec.partnership.slug}, so nothing was imported. An agency's "
            f"chapter must start with a heading that is its name or one of its aliases, e.g. '## {example.name}'; "
            "if the report names agencies differently, add those names to `aliases` in the partnership file"
        )
    return found


def import_report(
    session: Session,
    spec: PartnershipFile,
    text: str,
    *,
    source: str,
    at: dt.datetime,
    actor: str,
    label: str | None = None,
    title: str | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> ImportReport:
    """A closed cycle for the report's year with an approved contribution for each agency found in it.

    Refuses, writing nothing, when the cycle exists, its period overlaps another, or no agency is found.
    """
    t = target(spec, label=label, title=title, period_start=period_start, period_end=period_end)
    partnership, agencies = _agencies(session, spec)
    _check_free(session, partnership, t)
    found = _chapters(spec, text, source)

    c = spec.cycle
    # The other dates are a record, not deadlines anyone will meet: they keep the file's distances from
    # the period's end, so they stay in the order every cycle has.
    after_end = {
        name: t.period_end + (getattr(c, name) - c.period_end)
        for name in ("requests_on", "contributions_due", "review_due", "publish_by")
    }
    cycle = Cycle(
        partnership_id=partnership.id or 0,
        label=t.label,
        title=t.title,
        period_start=t.period_start,
        period_end=t.period_end,
        cut_off=c.cut_off,
        **cycle_settings(spec),
        **after_end,
    )
    # A past year went through the whole cycle: it is closed through the same transitions as any other,
    # and being closed keeps it out of the way of commands that pick "the running cycle".
    status = CycleState.planned
    for action in ("open", "start_review", "publish", "close"):
        status = next_cycle_state(status, action)
    cycle.status = status
    session.add(cycle)
    session.flush()

    imported: list[ImportedChapter] = []
    for chapter in found.found:
        placement: Placement = place(chapter, spec.brief, spec.priorities)
        agency = agencies[chapter.slug]
        contribution = Contribution(
            cycle_id=cycle.id or 0,
            agency_id=agency.id or 0,
            due_date=cycle.contributions_due,
            cut_off=cycle.cut_off,
            deadline_set_on=cycle.requests_on,
        )
        session.add(contribution)
        session.flush()
        html = {key: markdown_to_html(md, shift_headings=1) for key, md in placement.sections.items()}
        # A past chapter is kept as it was published: sections the brief requires may be empty.
        add_revision(
            session, contribution, html, brief=spec.brief, source="import", at=at, actor=actor, allow_incomplete=True
        )
        transition(session, contribution, "approve", at=at, actor=actor, imported_from=source)
        imported.append(
            ImportedChapter(
                chapter.slug, agency.name, chapter.heading, chapter.line, placement.words, placement.where(spec.brief)
            )
        )
    missing = [(a.slug, a.name, a.aliases) for a in spec.agencies if a.slug in found.missing]
    notes = _report_title_note(text, t) + found.notes
    record(
        session,
        at=at,
        actor=actor,
        action="cycle.import",
        subject=f"cycle:{cycle.id}",
        cycle_id=cycle.id,
        source=source,
        label=t.label,
        period=[t.period_start.isoformat(), t.period_end.isoformat()],
        agencies={i.slug: {"heading": i.heading, "line": i.line, "words": i.words} for i in imported},
        not_found=[slug for slug, _, _ in missing],
    )
    session.flush()
    return ImportReport(partnership.slug, t.label, t.title, t.period_start, t.period_end, imported, missing, notes)
