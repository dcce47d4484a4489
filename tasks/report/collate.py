"""Collate: every current revision and the central sections into a numbered draft."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Cycle
from models.report import Draft
from models.store import cycle_values, partnership_of
from tasks.report.collation_report import build_collation_report, render_collation_report, report_page_path
from tasks.report.files import cycle_folder, sha256_file, write_atomic
from tasks.report.report import build_view, inputs_hash, render_html, report_inputs, view_summary, write_images


@dataclass(frozen=True)
class CollateResult:
    number: int
    created: bool  # False: nothing changed since the last draft, which is returned
    path: str
    summary: dict[str, Any]  # the view's completeness lists, then the collation report's keys

    @property
    def report_path(self) -> str:
        """The collation report for the business manager, beside the draft."""
        return str(report_page_path(Path(self.path)))


def latest_draft(session: Session, cycle: Cycle) -> Draft | None:
    return session.exec(select(Draft).where(Draft.cycle_id == cycle.id).order_by(col(Draft.number).desc())).first()


def collate(
    session: Session, cycle: Cycle, *, at: dt.datetime, actor: str, output_dir: Path, templates_dir: Path
) -> CollateResult:
    latest = latest_draft(session, cycle)
    inputs = report_inputs(session, cycle)
    fingerprint = inputs_hash(inputs)
    number, made_at = ((latest.number + 1) if latest else 1), at
    if latest and latest.inputs_hash == fingerprint:
        path = Path(latest.html_path)
        # The collation report is checked for presence only: it is derived, and a draft made before it existed
        # gets one (and the new summary keys) by being written again.
        if path.exists() and sha256_file(path) == latest.html_sha256 and report_page_path(path).exists():
            return CollateResult(latest.number, False, latest.html_path, latest.summary)
        # The file went missing or was altered: write this draft number again from the same inputs.
        number, made_at = latest.number, latest.created_at
    view = build_view(session, cycle, at=made_at, draft_number=number)
    partnership = partnership_of(session, cycle)
    path = cycle_folder(output_dir / "drafts", partnership.slug, cycle.label) / f"draft-{number}.html"
    html = render_html(templates_dir, view)
    sha = write_atomic(path, html.encode())
    write_images(path.parent, view.images)
    completeness = view_summary(view)
    found = build_collation_report(view, html, recipients=cycle_values(cycle)[3])
    page = render_collation_report(templates_dir, view, found, completeness, path.name)
    write_atomic(report_page_path(path), page.encode())
    summary: dict[str, Any] = {**completeness, **found.summary()}
    if latest and latest.number == number:
        latest.html_sha256 = sha
        latest.summary = summary
        session.add(latest)
        record(
            session,
            at=at,
            actor=actor,
            action="draft.rewrite",
            subject=f"draft:{latest.id}",
            cycle_id=cycle.id,
            number=number,
        )
    else:
        draft = Draft(
            cycle_id=cycle.id or 0,
            number=number,
            inputs_hash=fingerprint,
            inputs=inputs,
            summary=summary,
            html_path=str(path),
            html_sha256=sha,
            created_at=at,
        )
        session.add(draft)
        session.flush()
        record(
            session,
            at=at,
            actor=actor,
            action="draft.collate",
            subject=f"draft:{draft.id}",
            cycle_id=cycle.id,
            number=number,
            missing=summary["missing"],
            path=str(path),
        )
    return CollateResult(number, True, str(path), summary)
