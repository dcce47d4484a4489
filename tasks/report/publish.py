"""Publish: gate, render for the last time, freeze with SHA-256, notify the recipients and partners.

Each step is keyed so a publish interrupted half-way completes when run
again: files are written before the freeze commits; a frozen publication is
verified, not re-rendered; notices are keyed outbox rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from models.audit import record
from models.cycle import Cycle
from models.ladder import Kind
from models.lifecycle import SETTLED, CentralState, CycleState, next_cycle_state
from models.partnership import ContactRole
from models.report import Publication
from models.store import calendar_of, central_sections, contacts_of, contributions, cycle_values, partnership_of
from tasks.mail.context import date_text, day_text
from tasks.mail.outbox import enqueue, partnership_envelope
from tasks.mail.render import environment, render_email
from tasks.report.checks import Check, axe_check, claims_pdf_ua, link_words, pdf_checks
from tasks.report.collate import collate
from tasks.report.collation_report import holdbacks_of
from tasks.report.content_gate import Holdback, overridden, override, refusal
from tasks.report.files import cycle_folder, sha256_file, write_atomic
from tasks.report.report import ReportView, build_view, pdf_title, render_html, render_pdf, write_images


class NotReadyToPublish(ValueError):
    pass


class AlreadyPublished(NotReadyToPublish):
    """`publish` on a published cycle: refused, saying when and where, and whether the files still match."""


def _changed_files(folder: Path, publication: Publication) -> list[str]:
    return [
        f"the published file {folder / f['name']} is missing or changed since it was frozen "
        f"(expected SHA-256 {f['sha256']})"
        for f in publication.files
        if not (folder / f["name"]).exists() or sha256_file(folder / f["name"]) != f["sha256"]
    ]


def _json(value: object) -> bytes:
    import json

    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def render_statement(
    templates_dir: Path,
    view: ReportView,
    partnership: Any,
    summary: dict[str, Any],
    checks: list[Check] | None = None,
    *,
    claims_pdf_ua: bool = False,
) -> bytes:
    """The accessibility statement beside the report: the checks run on this publication and what they
    found, and what the collation found."""
    known = []
    undefined = [a["acronym"] if isinstance(a, dict) else str(a) for a in summary.get("acronyms_undefined", [])]
    if undefined:
        shown = ", ".join(undefined[:8]) + (f" and {len(undefined) - 8} more" if len(undefined) > 8 else "")
        known.append(f"{len(undefined)} abbreviations in the report are not explained in its glossary: {shown}.")
    if summary.get("pictures_without_alt"):
        known.append("Some pictures have no text description: " + "; ".join(summary["pictures_without_alt"]) + ".")
    if summary.get("broken_links"):
        known.append(f"{len(summary['broken_links'])} links in the report lead nowhere.")
    contact = {"name": partnership.business_manager_name, "email": partnership.business_manager_email}
    known += [f"{c.what}: {c.found}." for c in checks or [] if c.passed is False]
    page = environment(templates_dir).get_template("report/accessibility.html")
    return page.render(
        report=view, contact=contact, known=known, checks=checks or [], claims_pdf_ua=claims_pdf_ua
    ).encode()


@dataclass(frozen=True)
class PublishResult:
    folder: str
    files: list[dict[str, str]]
    newly_frozen: bool
    notices_queued: int
    refused: str | None = None  # why the cycle cannot be published yet; nothing was done


def unsettled(session: Session, cycle: Cycle) -> list[str]:
    """What still stands between the cycle and publication, in words; empty when it may be published."""
    problems = [f"{a.slug} is {c.status}" for c, a in contributions(session, cycle) if c.status not in SETTLED]
    problems += [
        f"central section {s.key} is {s.status}"
        for s in central_sections(session, cycle)
        if s.status != CentralState.approved
    ]
    return problems


def current_holdbacks(session: Session, cycle: Cycle, *, at: dt.datetime, templates_dir: Path) -> list[Holdback]:
    """What in the report as it stands now holds its publication back, overridden or not."""
    view = build_view(session, cycle, at=at, draft_number=None)
    return holdbacks_of(view, render_html(templates_dir, view))


def let_through(
    session: Session, cycle: Cycle, key: str, *, reason: str, at: dt.datetime, actor: str, templates_dir: Path
) -> Holdback:
    """Override one holdback by its key (audited), after checking the report holds it now."""
    found = {h.key: h for h in current_holdbacks(session, cycle, at=at, templates_dir=templates_dir)}
    if key not in found:
        raise NotReadyToPublish(
            f"nothing in the report now has the key {key!r}; the collation report's first table lists the keys"
        )
    try:
        override(session, cycle, found[key], reason=reason, at=at, actor=actor)
    except ValueError as problem:
        raise NotReadyToPublish(str(problem)) from None
    return found[key]


def publish(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    output_dir: Path,
    templates_dir: Path,
    site_url: str,
) -> PublishResult:
    partnership = partnership_of(session, cycle)
    publication = session.exec(select(Publication).where(Publication.cycle_id == cycle.id)).first()
    folder = cycle_folder(output_dir / "site", partnership.slug, cycle.label)
    newly = publication is None
    if publication is not None and cycle.status in (CycleState.published, CycleState.closed):
        changed = _changed_files(folder, publication)
        raise AlreadyPublished(
            f"{cycle.label} was published on {publication.frozen_at:%-d %B %Y} and is frozen in {folder}; "
            "nothing was done" + (f". Warning: {'; '.join(changed)}" if changed else ". Its files match their SHA-256.")
        )
    if publication is None:
        problems = unsettled(session, cycle)
        if problems:
            raise NotReadyToPublish(
                "cannot publish yet: every contribution must be approved or excused and every central section "
                "approved; still open: " + "; ".join(problems)
            )
        # Never by itself: the board signs the report off and the business manager chooses the day.
        if cycle.board_signed_off_by is None or cycle.publish_on is None:
            raise NotReadyToPublish(
                "the board's sign-off is not recorded: record it on the desk, or with reportcycle publish "
                '--signed-off-by "the Board at its meeting on 12 June"'
            )
        if calendar_of(partnership).local(at).date() < cycle.publish_on:
            raise NotReadyToPublish(
                f"the report is to be published on {day_text(cycle.publish_on)}; the morning run publishes it then"
            )
        draft = collate(session, cycle, at=at, actor=actor, output_dir=output_dir, templates_dir=templates_dir)
        view = build_view(session, cycle, at=at, draft_number=None)
        html = render_html(templates_dir, view)
        let = overridden(session, cycle)
        blocking = [h for h in holdbacks_of(view, html) if h.key not in let]
        if blocking:  # made-up figures, notes for the business manager, dead or placeholder links
            raise NotReadyToPublish(refusal(blocking))
        refused: list[str] = []
        # Relative links in the PDF (the statement, the web page) lead to where the report is published.
        address = f"{site_url.rstrip('/')}/{cycle_folder(Path(), partnership.slug, cycle.label).as_posix()}/"
        pdf = render_pdf(html, view.images, refused=refused, base_url=address)
        if refused:
            raise NotReadyToPublish(
                "the report asks for files that are not its own, so it was not published: " + ", ".join(refused)
            )
        files = write_images(folder, view.images)
        for name, data in (("index.html", html.encode()), ("report.pdf", pdf)):
            files.append({"name": name, "sha256": write_atomic(folder / name, data)})
        # The statement reports the checks run now on these files, not what a template asserts.
        checks = [axe_check(folder / "index.html")]
        checks += pdf_checks(pdf, language=view.spec.look.language, title=pdf_title(view), links=link_words(html))
        statement = render_statement(
            templates_dir, view, partnership, draft.summary, checks, claims_pdf_ua=claims_pdf_ua(pdf)
        )
        files.append({"name": "accessibility.html", "sha256": write_atomic(folder / "accessibility.html", statement)})
        manifest = {
            "report": cycle.title,
            "partnership": partnership.name,
            "cycle": cycle.label,
            "published_at": at.isoformat(),
            "draft": draft.number,
            "files": [{**f, "bytes": (folder / f["name"]).stat().st_size} for f in files],
        }
        files.append({"name": "manifest.json", "sha256": write_atomic(folder / "manifest.json", _json(manifest))})
        sums = "".join(f"{f['sha256']}  {f['name']}\n" for f in files)
        write_atomic(folder / "SHA256SUMS", sums.encode())
        publication = Publication(cycle_id=cycle.id or 0, draft_number=draft.number, files=files, frozen_at=at)
        session.add(publication)
        session.flush()
        record(
            session,
            at=at,
            actor=actor,
            action="publication.freeze",
            subject=f"publication:{publication.id}",
            cycle_id=cycle.id,
            files=files,
            draft=draft.number,
        )
    else:
        changed = _changed_files(folder, publication)
        if changed:
            raise NotReadyToPublish("; ".join(changed) + "; restore it from a backup")
    queued = _notify(session, cycle, publication, at=at, templates_dir=templates_dir, site_url=site_url)
    if cycle.status != CycleState.published:
        cycle.status = next_cycle_state(CycleState(cycle.status), "publish")
        session.add(cycle)
        record(session, at=at, actor=actor, action="cycle.publish", subject=f"cycle:{cycle.id}", cycle_id=cycle.id)
    publication.notified_at = publication.notified_at or at
    session.add(publication)
    return PublishResult(str(folder), publication.files, newly, queued)


def _notify(
    session: Session, cycle: Cycle, publication: Publication, *, at: dt.datetime, templates_dir: Path, site_url: str
) -> int:
    """The statutory recipients and every partner agency's contacts, one keyed email each."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    _, _, _, recipients, _ = cycle_values(cycle)
    people: dict[str, tuple[str, str]] = {str(r.email): (r.name, r.role) for r in recipients}
    for _, agency in contributions(session, cycle):
        for role, contact in contacts_of(session, agency).items():
            if role in (ContactRole.lead, ContactRole.senior):
                people.setdefault(contact.email, (contact.name, f"a partner at {agency.name}"))
    base = f"{site_url}/{cycle_folder(Path(), partnership.slug, cycle.label).as_posix()}"
    queued = 0
    for email, (name, role) in people.items():
        context = {
            "partnership": {"name": partnership.name},
            "business_manager": {
                "name": partnership.business_manager_name,
                "email": partnership.business_manager_email,
            },
            "cycle": {
                "title": cycle.title,
                "label": cycle.label,
                "period_text": f"{date_text(cycle.period_start)} to {date_text(cycle.period_end)}",
            },
            "recipient": {"name": name, "role": role},
            "site_link": f"{base}/index.html",
            "pdf_link": f"{base}/report.pdf",
            # the checksums stay on the site, in one file a reader's tools can check against; never in an email
            "sums_link": f"{base}/SHA256SUMS",
        }
        row = enqueue(
            session,
            partnership_envelope(
                partnership,
                key=f"publication:{publication.id}:notice:{email.lower()}",
                kind=Kind.published,
                to=[email],
                cycle_id=cycle.id,
            ),
            render_email(templates_dir, Kind.published, context),
            at=at,
            send_after=calendar.next_send_time(at),
        )
        queued += row is not None
    return queued
