"""The business manager's desk: the cycle at a glance and every action on it, each one audited.

Pages read; one POST route takes every action through the same guard (the manager's session for
this cycle, the CSRF token), runs the task function, and goes back with a notice or the error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from models.cycle import Contribution, Cycle, PersonalLink
from models.ladder import Kind
from models.lifecycle import IllegalTransition
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency
from models.portal import ExtensionRequest, WorkingCopy
from models.report import CentralSection
from models.status import cycle_status
from models.store import NotFound, central_sections, contacts_of, contribution_for, contributions, cycle_values
from portal.web import Name, RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff, state
from reportcycle.settings import Settings
from tasks.contributions.images import ImageRefused, markdown_for, store_image
from tasks.contributions.word_import import MAX_BYTES as WORD_MAX_BYTES
from tasks.contributions.word_import import WordRefused, place, read_word, with_pictures
from tasks.desk.central import set_central_text
from tasks.desk.desk import confirm_escalation, excuse, extend
from tasks.desk.manager_desk import (
    DeskError,
    grant_extension,
    refuse_extension,
    replace_contact,
    resend_link,
    revoke_links,
    submit_on_behalf,
)
from tasks.links.staff_link import send_staff_link
from tasks.mail.outbox_admin import OutboxAdminError, cancel, retry
from tasks.report.collate import collate, latest_draft

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager's desk"
DONE = {
    "grant": "The extension is granted; the agency has been told, with a new calendar entry.",
    "refuse": "The request is refused; the agency has been told.",
    "confirm-escalation": "The escalation is released; it goes out in the next send window.",
    "excuse": "The agency is excused; the report will say so.",
    "extend": "The deadline is moved; the agency has been told, with a new calendar entry.",
    "resend": "A new link is on its way.",
    "revoke": "The links are withdrawn.",
    "replace": "The contact is replaced; the old links are withdrawn and the new contact has a link.",
    "on-behalf": "The contribution is recorded as a new revision; the agency gets a receipt.",
    "central": "The central section is saved; it waits for the Chair's approval.",
    "collate": "A draft is collated; its report is below.",
    "chair-link": "The Chair has been sent a personal link to the review.",
    "retry-email": "The email is back in the queue; dispatch sends it now.",
    "cancel-email": "The email is cancelled: it will not be sent.",
}


def _manager(request: Request, session: Session, cycle_id: int) -> tuple[Any, Cycle] | None:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    return (found, cycle) if found is not None and cycle is not None else None


@router.get("/desk/{cycle_id}", response_class=HTMLResponse)
def desk(request: Request, cycle_id: RowId, session: DB, done: str = "") -> Response:
    allowed = _manager(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    pairs = contributions(session, cycle)
    names = {c.id: a.name for c, a in pairs}
    requests = session.exec(
        select(ExtensionRequest)
        .where(col(ExtensionRequest.contribution_id).in_(list(names)), ExtensionRequest.status == "pending")
        .order_by(col(ExtensionRequest.requested_at))
    ).all()
    held_counts = dict(
        session.exec(
            select(OutboundEmail.contribution_id, func.count())
            .where(
                OutboundEmail.cycle_id == cycle.id,
                OutboundEmail.status == OutboxStatus.held,
                OutboundEmail.kind == Kind.escalation,
            )
            .group_by(col(OutboundEmail.contribution_id))
        ).all()
    )
    held = [(a, held_counts.get(c.id, 0)) for c, a in pairs]
    failed = session.exec(
        select(OutboundEmail)
        .where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.status == OutboxStatus.failed)
        .order_by(col(OutboundEmail.id))
    ).all()
    draft = latest_draft(session, cycle)
    return page(
        request,
        "desk.html",
        {
            "title": f"Desk: {cycle.title}",
            "cycle": cycle,
            "rows": cycle_status(session, cycle, at=now(request)),
            "requests": [(r, names[r.contribution_id]) for r in requests],
            "held": [(a, n) for a, n in held if n],
            "failed": failed,
            "central": central_sections(session, cycle),
            "draft": draft,
            "csrf": found.csrf_token,
            "notice": DONE.get(done),
        },
    )


@router.get("/desk/{cycle_id}/agency/{slug}", response_class=HTMLResponse)
def agency_page(request: Request, cycle_id: RowId, slug: Name, session: DB, done: str = "") -> Response:
    allowed = _manager(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    agency = session.exec(
        select(Agency).where(Agency.partnership_id == cycle.partnership_id, Agency.slug == slug)
    ).first()
    if agency is None:
        return page(request, "message.html", {"title": "Not found", "message": "There is no such agency."}, 404)
    contribution = contribution_for(session, cycle, agency)
    links = session.exec(
        select(PersonalLink).where(
            PersonalLink.contribution_id == contribution.id,
            col(PersonalLink.revoked_at).is_(None),
            col(PersonalLink.expires_at) > now(request),
        )
    ).all()
    copy = session.exec(select(WorkingCopy).where(WorkingCopy.contribution_id == contribution.id)).first()
    brief = cycle_values(cycle)[0]
    return page(
        request,
        "desk_agency.html",
        {
            "title": f"{agency.name}: {cycle.title}",
            "cycle": cycle,
            "agency": agency,
            "contribution": contribution,
            "contacts": sorted(contacts_of(session, agency).items()),
            "live_links": len(links),
            "sections": [(s.key, s.title, (copy.sections if copy else {}).get(s.key, "")) for s in brief.sections],
            "csrf": found.csrf_token,
            "notice": DONE.get(done),
        },
    )


@router.get("/desk/{cycle_id}/central/{key}", response_class=HTMLResponse)
def central_page(request: Request, cycle_id: RowId, key: Name, session: DB) -> Response:
    allowed = _manager(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    section = session.exec(
        select(CentralSection).where(CentralSection.cycle_id == cycle.id, CentralSection.key == key)
    ).first()
    if section is None:
        return page(request, "message.html", {"title": "Not found", "message": "There is no such section."}, 404)
    return page(
        request,
        "desk_central.html",
        {"title": f"Edit: {section.title}", "cycle": cycle, "section": section, "csrf": found.csrf_token},
    )


# The files collation writes for a cycle: drafts, their collation reports, and their pictures and charts.
DRAFT_FILE = re.compile(r"draft-\d{1,6}(-report)?\.html|images/[0-9a-z][0-9a-z.-]{0,120}\.(png|jpg|svg)")
KINDS = {"html": "text/html; charset=utf-8", "png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}


@router.get("/desk/{cycle_id}/drafts/{name:path}")
def draft_file(request: Request, cycle_id: RowId, name: str, session: DB) -> Response:
    """A file from the cycle's drafts folder, served as collation wrote it, so that the pages' relative links
    (the report to its draft, a draft to its images/) work here as they do on disk."""
    allowed = _manager(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    draft = latest_draft(session, allowed[1])
    path = FilePath(draft.html_path).parent / name if draft and DRAFT_FILE.fullmatch(name) else None
    if path is None or not path.is_file():
        return page(request, "message.html", {"title": "Not found", "message": "Collate a draft first."}, 404)
    kind = name.rsplit(".", 1)[1]
    # The pages carry their own style sheet inline; content in them is sanitised and has no style attributes.
    csp = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    return Response(
        path.read_bytes(),
        media_type=KINDS[kind],
        headers={"Content-Security-Policy": csp if kind == "html" else "default-src 'none'"},
    )


@dataclass(frozen=True)
class Act:
    """What an action works with: the form's fields, the cycle, who and when."""

    session: Session
    cycle: Cycle
    form: Any
    at: dt.datetime
    actor: str
    settings: Settings

    def field(self, name: str) -> str:
        return str(self.form.get(name, "")).strip()

    def contribution(self) -> Contribution:
        agency = self.session.exec(
            select(Agency).where(
                Agency.partnership_id == self.cycle.partnership_id, Agency.slug == self.field("agency")
            )
        ).first()
        if agency is None:
            raise DeskError("Choose an agency of this partnership.")
        return contribution_for(self.session, self.cycle, agency)

    def row_id(self, name: str) -> int:
        value = self.field(name)
        if not value.isdigit() or len(value) > 9:
            raise DeskError("That form was not complete: reload the page and try again.")
        return int(value)

    def date(self, name: str) -> dt.date:
        try:
            return dt.date.fromisoformat(self.field(name))
        except ValueError:
            raise DeskError("Give the date as a date, e.g. 2019-06-03.") from None


def _from_word(a: Act, contribution: Contribution) -> dict[str, str] | None:
    """The sections of an uploaded Word document, for the business manager: parts that match no section go at
    the end of the first one (with their headings), and every picture must already have its description."""
    upload = a.form.get("word-file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    brief = cycle_values(a.cycle)[0]
    try:
        proposal = read_word(upload.file.read(WORD_MAX_BYTES + 1), brief)
    except WordRefused as exc:
        raise DeskError(str(exc)) from None
    undescribed = [p.placeholder for p in proposal.pictures if not p.alt]
    if undescribed:
        raise DeskError(
            f"{', '.join(undescribed)} in the document have no description: add one in Word (right-click the "
            "picture, then Edit Alt Text) and upload it again."
        )
    first = brief.sections[0].key
    proposal = place(proposal, {i: first for i in range(len(proposal.unplaced))})
    lines = {}
    for picture in proposal.pictures:
        try:
            image = store_image(
                a.session,
                contribution,
                picture.data,
                alt=picture.alt or "",
                filename=upload.filename,
                actor=a.actor,
                at=a.at,
            )
        except ImageRefused as exc:
            raise DeskError(f"{picture.placeholder}: {exc}") from None
        lines[picture.placeholder] = markdown_for(image, picture.alt or "")
    return {key: with_pictures(text, lines) for key, text in proposal.sections.items()}


def _on_behalf(a: Act) -> object:
    texts = {k.removeprefix("section-"): str(v) for k, v in a.form.items() if k.startswith("section-")}
    contribution = a.contribution()
    texts = _from_word(a, contribution) or texts
    return submit_on_behalf(
        a.session,
        a.cycle,
        contribution,
        texts,
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    )


def _excuse(a: Act) -> None:
    if not a.field("reason"):
        raise DeskError("Say why the agency is excused: the report and the audit log record it.")
    excuse(a.session, a.contribution(), at=a.at, actor=a.actor, reason=a.field("reason"))


def _extend(a: Act) -> object:
    try:
        return extend(
            a.session,
            a.cycle,
            a.contribution(),
            a.date("until"),
            at=a.at,
            actor=a.actor,
            base_url=a.settings.public_base_url,
            templates_dir=a.settings.templates_dir,
        )
    except ValueError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _confirm(a: Act) -> object:
    try:
        return confirm_escalation(a.session, a.cycle, a.contribution(), at=a.at, actor=a.actor)
    except ValueError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _email(a: Act, verb: str) -> object:
    """Retry or cancel one of this cycle's emails, with the operator's rules (tasks.mail.outbox_admin)."""
    row = a.session.get(OutboundEmail, a.row_id("email"))
    if row is None or row.cycle_id != a.cycle.id:
        raise DeskError("There is no such email in this cycle.")
    try:
        if verb == "retry":
            return retry(a.session, row.id or 0, at=a.at, actor=a.actor)
        return cancel(a.session, row.id or 0, at=a.at, actor=a.actor, reason=a.field("reason"))
    except OutboxAdminError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:]) from None


def _collate(a: Act) -> object:
    s = a.settings
    return collate(a.session, a.cycle, at=a.at, actor=a.actor, output_dir=s.output_dir, templates_dir=s.templates_dir)


ACTIONS: dict[str, Callable[[Act], object]] = {
    "grant": lambda a: grant_extension(
        a.session,
        a.cycle,
        a.row_id("request"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    ),
    "refuse": lambda a: refuse_extension(
        a.session,
        a.cycle,
        a.row_id("request"),
        reason=a.field("reason"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    ),
    "confirm-escalation": _confirm,
    "excuse": _excuse,
    "extend": _extend,
    "resend": lambda a: resend_link(
        a.session,
        a.cycle,
        a.contribution(),
        role=a.field("role") or "lead",
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
    "revoke": lambda a: revoke_links(a.session, a.contribution(), at=a.at, actor=a.actor),
    "replace": lambda a: replace_contact(
        a.session,
        a.cycle,
        a.contribution(),
        role=a.field("role"),
        name=a.field("name"),
        email=a.field("email"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
    "on-behalf": _on_behalf,
    "central": lambda a: set_central_text(
        a.session, a.cycle, a.field("key"), str(a.form.get("body", "")), at=a.at, actor=a.actor
    ),
    "collate": _collate,
    "retry-email": lambda a: _email(a, "retry"),
    "cancel-email": lambda a: _email(a, "cancel"),
    "chair-link": lambda a: send_staff_link(
        a.session,
        a.cycle,
        "chair",
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
}
# Where each action goes back to: the agency's page for agency actions, else the desk.
AGENCY_ACTIONS = {"resend", "revoke", "replace", "on-behalf", "excuse", "extend"}


@router.post("/desk/{cycle_id}/do/{action}", response_class=HTMLResponse)
async def act(request: Request, cycle_id: RowId, action: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _act, cycle_id, action, form)


def _act(request: Request, session: Session, cycle_id: int, action: str, form: Any) -> Response:
    allowed = _manager(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was changed")
    work = ACTIONS.get(action)
    if work is None:
        return page(request, "message.html", {"title": "Not found", "message": "There is no such action."}, 404)
    a = Act(session, cycle, form, now(request), found.email or "manager", state(request).settings)
    try:
        work(a)
    except (DeskError, NotFound, IllegalTransition) as exc:
        session.rollback()
        back = (
            f"/desk/{cycle_id}/agency/{a.field('agency')}"
            if action in AGENCY_ACTIONS and a.field("agency")
            else f"/desk/{cycle_id}"
        )
        return page(
            request,
            "message.html",
            {"title": "That was not done", "message": str(exc), "back": back},
            status_code=422,
        )
    session.commit()
    back = f"/desk/{cycle_id}/agency/{a.field('agency')}" if action in AGENCY_ACTIONS else f"/desk/{cycle_id}"
    return RedirectResponse(f"{back}?done={action}", status_code=303)
