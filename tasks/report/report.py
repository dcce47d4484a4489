"""The report as one HTML document (a draft or the publication), and its PDF.

Content reaches the page only as sanitised HTML; templates mark it safe
after sanitising it again here, and it is never rendered as a template.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlmodel import Session, col, select

from models.cycle import Contribution, Cycle, Revision
from models.lifecycle import ContributionState
from models.partnership_file import ReportSpec
from models.store import central_sections, contributions, cycle_values, partnership_of
from tasks.contributions.content import markdown_to_html, picture_alts, sanitise, word_count
from tasks.contributions.images import image_bytes, referenced
from tasks.contributions.priorities import uncovered
from tasks.mail.render import environment
from tasks.report.figures import FigureView, figure_views
from tasks.report.files import write_atomic
from tasks.report.glossary import anchor_glossary, is_glossary, link_terms, parse_glossary
from tasks.report.register import RegisterView, register_view, reviews_of


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
    # The partnership's priorities the contribution does not name (tasks.contributions.priorities).
    priorities_uncovered: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CentralView:
    key: str
    title: str
    status: str
    html: Markup
    body_hash: str
    figures: list[FigureView] = field(default_factory=list)


@dataclass
class Completeness:
    missing: list[str] = field(default_factory=list)  # agencies with nothing submitted
    excused: list[str] = field(default_factory=list)
    over_limit: list[str] = field(default_factory=list)  # "Agency: Section (512 of 400 words)"
    empty_sections: list[str] = field(default_factory=list)  # "Agency: Section"
    central_empty: list[str] = field(default_factory=list)
    pictures_without_alt: list[str] = field(default_factory=list)  # "Agency: Section"
    pictures_missing: list[str] = field(default_factory=list)  # image names referenced but not stored


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
    images: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, for every picture the report shows
    reviews: RegisterView | None = None  # the reviews register's tables; None when the register is empty


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
    found: dict[str, Any] = {
        "contributions": {
            a.slug: [c.status == ContributionState.excused, c.current_revision or None, hashes.get(c.id or 0)]
            for c, a in contributions(session, cycle)
        },
        "central": {s.key: s.body_hash for s in central_sections(session, cycle)},
    }
    # The reviews register is content too; left out while empty, so drafts made before it stay current.
    register = [
        [r.name, str(r.started_on), str(r.concluded_on), [[f.text, f.outcome, f.outcome_text] for f in fs]]
        for r, fs in reviews_of(session, cycle)
    ]
    if register:
        found["reviews"] = register
    return found


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _glossary(central: list[Any]) -> tuple[str | None, list[str]]:
    """The glossary section's key and its terms (none when the report has no glossary)."""
    for cs in central:
        if is_glossary(cs.key, cs.title):
            return cs.key, list(parse_glossary(markdown_to_html(cs.body_md)))
    return None, []


def build_view(session: Session, cycle: Cycle, *, at: dt.datetime, draft_number: int | None) -> ReportView:
    partnership = partnership_of(session, cycle)
    brief, priorities, _, _, _ = cycle_values(cycle)
    spec = ReportSpec.model_validate(cycle.report or {})
    completeness = Completeness()
    views = []
    pictures: list[str] = []
    pairs = contributions(session, cycle)
    current = session.exec(
        select(Revision)
        .join(Contribution, col(Revision.contribution_id) == col(Contribution.id))
        .where(Contribution.cycle_id == cycle.id, col(Revision.number) == col(Contribution.current_revision))
    ).all()
    revisions = {r.contribution_id: r for r in current}
    central = central_sections(session, cycle)
    glossary_key, terms = _glossary(central)
    for c, agency in pairs:
        linked: set[str] = set()  # each term linked once per chapter
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
            if any(not alt for alt in picture_alts(html)):
                completeness.pictures_without_alt.append(f"{agency.name}: {s.title}")
            pictures += referenced(html)
            html = link_terms(html, terms, already=linked)
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
                priorities_uncovered=uncovered(brief, priorities, revision.sections, is_html=True) if revision else [],
            )
        )
    by_section, charts = figure_views(spec.figures, [cs.key for cs in central])
    before: list[CentralView] = []
    after: list[CentralView] = []
    target = before
    for cs in central:
        if not cs.body_md.strip():
            completeness.central_empty.append(cs.title)
        html = markdown_to_html(cs.body_md)
        pictures += referenced(html)
        html = anchor_glossary(html, terms) if cs.key == glossary_key else link_terms(html, terms)
        target.append(
            CentralView(cs.key, cs.title, cs.status, Markup(html), cs.body_hash, figures=by_section.get(cs.key, []))
        )
        if spec.contributions_after == cs.key:
            target = after
    local = at.astimezone(dt.UTC)
    images = image_bytes(session, pictures)
    completeness.pictures_missing = [name for name in dict.fromkeys(pictures) if name not in images]
    images.update(charts)
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
        images=images,
        reviews=register_view(session, cycle, spec.kind),
    )


def render_html(templates_dir: Path, view: ReportView) -> str:
    """The report page, with pictures addressed relative to it (`images/<name>`), so that the page and an
    `images/` folder beside it work copied to any web host."""
    html = environment(templates_dir).get_template("report/report.html").render(report=view)
    return html.replace('src="/images/', 'src="images/')  # only our sanitised addresses look like this


def write_images(folder: Path, images: Mapping[str, bytes]) -> list[dict[str, str]]:
    """The report's pictures in `folder/images/`, with their SHA-256 (for a manifest)."""
    return [
        {"name": f"images/{name}", "sha256": write_atomic(folder / "images" / name, data)}
        for name, data in sorted(images.items())
    ]


# Relative addresses in the page resolve against this made-up origin, which only our fetcher answers.
PDF_BASE = "https://report.invalid/"


def render_pdf(html: str, images: Mapping[str, bytes] | None = None, refused: list[str] | None = None) -> bytes:
    """The PDF of a report page. It fetches only the report's own pictures: any other address (file://,
    the network) is refused, and added to `refused` when a list is given."""
    import logging

    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    # WeasyPrint warns on every font when HarfBuzz's subsetter is absent; the fallback is correct, only slower.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    own = {f"{PDF_BASE}images/{name}": data for name, data in (images or {}).items()}
    turned_away = refused if refused is not None else []

    class OwnAssetsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url in own:
                kind = {"png": "image/png", "svg": "image/svg+xml"}.get(url.rsplit(".", 1)[-1], "image/jpeg")
                return URLFetcherResponse(url, own[url], {"Content-Type": kind})
            turned_away.append(url)
            raise ValueError(f"the report may not fetch {url!r}")

    return HTML(string=html, base_url=PDF_BASE, url_fetcher=OwnAssetsOnly()).write_pdf(pdf_variant="pdf/ua-1") or b""


def view_summary(view: ReportView) -> dict[str, list[str]]:
    return asdict(view.completeness)
