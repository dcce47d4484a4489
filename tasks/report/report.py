"""The report as one HTML document (a draft or the publication), and its PDF.

Content reaches the page only as sanitised HTML; templates mark it safe
after sanitising it again here, and it is never rendered as a template.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
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
from tasks.report.pdf import PDF_BASE, render_pdf  # noqa: F401  (callers import them from here)
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
    # The section's HTML cut where its figures go: [(html, figures after it)]; the whole text when none.
    chunks: list[tuple[Markup, list[FigureView]]] = field(default_factory=list)
    part: int | None = None  # its Part number, when the report numbers its chapters as Parts


@dataclass
class Completeness:
    missing: list[str] = field(default_factory=list)  # agencies with nothing submitted
    excused: list[str] = field(default_factory=list)
    over_limit: list[str] = field(default_factory=list)  # "Agency: Section (512 of 400 words)"
    empty_sections: list[str] = field(default_factory=list)  # "Agency: Section"
    central_empty: list[str] = field(default_factory=list)
    pictures_without_alt: list[str] = field(default_factory=list)  # "Agency: Section"
    pictures_missing: list[str] = field(default_factory=list)  # image names referenced but not stored
    figures_misplaced: list[str] = field(default_factory=list)  # a figure's `after` names no part of its section


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
    parts: dict[str, int] = field(default_factory=dict)  # chapter key ("contributions" too) -> its Part number
    logo: str | None = None  # "logo.svg" or "logo.png" in the report's images/, from the partnership file


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
    texts: list[tuple[str, str]] = []
    for cs in central:
        if not cs.body_md.strip():
            completeness.central_empty.append(cs.title)
        html = markdown_to_html(cs.body_md)
        pictures += referenced(html)
        texts.append((cs.key, anchor_glossary(html, terms) if cs.key == glossary_key else link_terms(html, terms)))
    chunked, charts, completeness.figures_misplaced = figure_views(spec.figures, texts)
    before: list[CentralView] = []
    after: list[CentralView] = []
    target = before
    for cs, (_, html) in zip(central, texts, strict=True):
        chunks = [(Markup(part), shown) for part, shown in chunked[cs.key]]
        placed = [f for _, fs in chunks for f in fs]
        target.append(
            CentralView(cs.key, cs.title, cs.status, Markup(html), cs.body_hash, figures=placed, chunks=chunks)
        )
        if spec.contributions_after == cs.key:
            target = after
    local = at.astimezone(dt.UTC)
    images = image_bytes(session, pictures)
    completeness.pictures_missing = [name for name in dict.fromkeys(pictures) if name not in images]
    images.update(charts)
    order = [c.key for c in before] + ["contributions"] + [c.key for c in after]
    parts = {key: n for n, key in enumerate((k for k in order if k in spec.parts), start=1)}
    logo = spec.look.logo
    if logo and logo.data:
        images[f"logo.{logo.file.rsplit('.', 1)[-1].lower()}"] = base64.b64decode(logo.data)
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
        parts=parts,
        logo=f"logo.{logo.file.rsplit('.', 1)[-1].lower()}" if logo and logo.data else None,
    )


def render_html(templates_dir: Path, view: ReportView) -> str:
    """The report page, with pictures addressed relative to it (`images/<name>`), so that the page and an
    `images/` folder beside it work copied to any web host."""
    html = environment(templates_dir).get_template("report/report.html").render(report=view)
    html = html.replace('src="/images/', 'src="images/')  # only our sanitised addresses look like this
    return LINK.sub(_mark_printed_url, html)


# A web link as sanitised content and our templates write it: the address in double quotes, no class yet.
LINK = re.compile(r'<a href="(https?://[^"]+)"([^>]*)>(.*?)</a>', re.S)


def _mark_printed_url(match: re.Match[str]) -> str:
    """A link whose words are not its address gets class "show-url": the printed page adds the address
    after it. One whose words are the address ("www.x.org.uk") is printed once, not twice."""
    href, rest, text = match.groups()
    words = re.sub(r"<[^>]+>", "", text).strip().lower()

    def bare(address: str) -> str:
        return re.sub(r"^(https?://)?(www\.)?", "", address.lower()).rstrip("/")

    if bare(words) == bare(href) or "class=" in rest:
        return match.group(0)
    return f'<a href="{href}" class="show-url"{rest}>{text}</a>'


def write_images(folder: Path, images: Mapping[str, bytes]) -> list[dict[str, str]]:
    """The report's pictures in `folder/images/`, with their SHA-256 (for a manifest)."""
    return [
        {"name": f"images/{name}", "sha256": write_atomic(folder / "images" / name, data)}
        for name, data in sorted(images.items())
    ]


def view_summary(view: ReportView) -> dict[str, list[str]]:
    return asdict(view.completeness)


def pdf_title(view: ReportView) -> str:
    """The title the report's page (and so its PDF) carries, as report.html writes it."""
    from tasks.mail.context import report_names

    draft = f" (DRAFT {view.draft_number})" if view.draft_number else ""
    return f"{report_names(view.partnership, view.title).own}{draft} – {view.partnership}"
