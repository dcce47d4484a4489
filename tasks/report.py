"""The report as one HTML document (a draft or the publication), and its PDF.

Content reaches the page only as sanitised HTML; templates mark it safe
after sanitising it again here, and it is never rendered as a template.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlmodel import Session, col, select

from models.cycle import Contribution, Cycle, Revision
from models.lifecycle import ContributionState
from models.partnership_file import ReportSpec
from models.store import central_sections, contributions, cycle_values, partnership_of
from tasks.content import markdown_to_html, sanitise, word_count
from tasks.render import environment


@dataclass(frozen=True)
class SectionView:
    key: str
    title: str
    html: Markup
    words: int
    word_limit: int | None
    required: bool


@dataclass(frozen=True)
class ContributionView:
    slug: str
    name: str
    status: str
    revision: int | None
    content_hash: str | None
    sections: list[SectionView]
    figures: list[tuple[str, str]] = field(default_factory=list)  # (label, value with its unit)


@dataclass(frozen=True)
class CentralView:
    key: str
    title: str
    status: str
    html: Markup
    body_hash: str


@dataclass
class Completeness:
    missing: list[str] = field(default_factory=list)  # agencies with nothing submitted
    excused: list[str] = field(default_factory=list)
    over_limit: list[str] = field(default_factory=list)  # "Agency: Section (512 of 400 words)"
    empty_sections: list[str] = field(default_factory=list)  # "Agency: Section"
    central_empty: list[str] = field(default_factory=list)


@dataclass
class ReportView:
    title: str
    partnership: str
    period_text: str
    draft_number: int | None  # None for the publication
    generated_on: str
    spec: ReportSpec
    contributions: list[ContributionView]
    central_before: list[CentralView]
    central_after: list[CentralView]
    completeness: Completeness


def report_inputs(session: Session, cycle: Cycle) -> dict[str, Any]:
    """What a collation would be made of, read from the database without rendering anything.

    Content only: a decision that changes a status but no text does not make a new draft.
    """
    hashes = dict(
        session.exec(
            select(Revision.contribution_id, Revision.content_hash)
            .join(Contribution, col(Revision.contribution_id) == col(Contribution.id))
            .where(Contribution.cycle_id == cycle.id, col(Revision.number) == col(Contribution.current_revision))
        ).all()
    )
    return {
        "contributions": {
            a.slug: [c.status == ContributionState.excused, c.current_revision or None, hashes.get(c.id or 0)]
            for c, a in contributions(session, cycle)
        },
        "central": {s.key: s.body_hash for s in central_sections(session, cycle)},
    }


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def build_view(session: Session, cycle: Cycle, *, at: dt.datetime, draft_number: int | None) -> ReportView:
    partnership = partnership_of(session, cycle)
    brief, _, _, _, _ = cycle_values(cycle)
    spec = ReportSpec.model_validate(cycle.report or {})
    completeness = Completeness()
    views = []
    pairs = contributions(session, cycle)
    current = session.exec(
        select(Revision)
        .join(Contribution, col(Revision.contribution_id) == col(Contribution.id))
        .where(Contribution.cycle_id == cycle.id, col(Revision.number) == col(Contribution.current_revision))
    ).all()
    revisions = {r.contribution_id: r for r in current}
    for c, agency in pairs:
        revision = revisions.get(c.id or 0)
        if c.status == ContributionState.excused:
            completeness.excused.append(agency.name)
        elif revision is None:
            completeness.missing.append(agency.name)
        sections = []
        for s in brief.sections:
            html = sanitise(revision.sections.get(s.key, "")) if revision else ""
            words = word_count(html)
            if revision and not html.strip():
                completeness.empty_sections.append(f"{agency.name}: {s.title}")
            if s.word_limit and words > s.word_limit:
                completeness.over_limit.append(f"{agency.name}: {s.title} ({words} of {s.word_limit} words)")
            sections.append(SectionView(s.key, s.title, Markup(html), words, s.word_limit, s.required))
        figures = [
            (f.label, f"{revision.figures[f.key]:,}" + (f" {f.unit}" if f.unit else ""))
            for f in brief.key_figures
            if revision and f.key in revision.figures
        ]
        views.append(
            ContributionView(
                agency.slug,
                agency.name,
                c.status,
                revision.number if revision else None,
                revision.content_hash if revision else None,
                sections,
                figures=figures,
            )
        )
    before: list[CentralView] = []
    after: list[CentralView] = []
    target = before
    for cs in central_sections(session, cycle):
        if not cs.body_md.strip():
            completeness.central_empty.append(cs.title)
        target.append(CentralView(cs.key, cs.title, cs.status, Markup(markdown_to_html(cs.body_md)), cs.body_hash))
        if spec.contributions_after == cs.key:
            target = after
    local = at.astimezone(dt.UTC)
    return ReportView(
        title=cycle.title,
        partnership=partnership.name,
        period_text=f"{cycle.period_start:%-d %B %Y} to {cycle.period_end:%-d %B %Y}",
        draft_number=draft_number,
        generated_on=f"{local:%-d %B %Y}",
        spec=spec,
        contributions=views,
        central_before=before,
        central_after=after,
        completeness=completeness,
    )


def render_html(templates_dir: Path, view: ReportView) -> str:
    return environment(templates_dir).get_template("report/report.html").render(report=view)


def render_pdf(html: str) -> bytes:
    """The PDF of a report page. It may fetch nothing: no file:// or network URL from content."""
    import logging

    from weasyprint import HTML

    # WeasyPrint warns on every font when HarfBuzz's subsetter is absent; the fallback is correct, only slower.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    def refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the report may not fetch {url!r}")

    return HTML(string=html, base_url=None, url_fetcher=refuse).write_pdf(pdf_variant="pdf/ua-1") or b""


def view_summary(view: ReportView) -> dict[str, Any]:
    return asdict(view.completeness)
