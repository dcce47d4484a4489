"""The business manager's desk: the cycle at a glance and every action on it, each one audited.

Pages read; one POST route takes every action through the same guard (the manager's session for
this cycle, the CSRF token), runs the task function, and goes back with a notice or the error.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.inbound import for_a_person
from models.ladder import Kind
from models.lifecycle import AWAITING, IllegalTransition
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency
from models.portal import ExtensionRequest, WorkingCopy
from models.report import CentralSection
from models.status import OWING, cycle_status
from models.store import (
    NotFound,
    calendar_of,
    central_sections,
    contacts_of,
    contribution_for,
    contributions,
    cycle_values,
    partnership_of,
)
from portal.desk_actions import ACTIONS, AGENCY_ACTIONS, Act
from portal.desk_confirm import ASK_FIRST, DATE_PARTS, ask, carried, confirmed, replace_problems, typed_date
from portal.desk_publish import (
    ask_publish,
    check,
    error_context,
    let_one_through,
    publication_context,
    publish_now,
)
from portal.desk_timeline import CENTRAL_WORDS, EMAIL_WORDS, timeline
from portal.web import Name, RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff, state
from portal.words import contribution_state
from tasks.desk.desk import deadline_warnings
from tasks.desk.manager_desk import DeskError
from tasks.links.access import contact_access
from tasks.mail.context import day_text
from tasks.ops.events import desk_action
from tasks.report.collate import latest_draft

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager's desk"
DONE = {
    "grant": "The extension is granted; the agency has been told, with a new calendar entry.",
    "refuse": "The request is refused; the agency has been told.",
    "confirm-escalation": "The escalation is released; it goes out in the next send window.",
    "excuse": "The agency is excused; its contacts are told why, and the report will say so. You can undo it below.",
    "unexcuse": "The excusal is undone: the agency is asked again, and chased from where its deadline stands.",
    "extend": "The deadline is moved; the agency has been told, with a new calendar entry.",
    "resend": "A new link is on its way.",
    "fix-address": "The address is put right: the next chaser goes to it again.",
    "revoke": "The links are withdrawn.",
    "replace": "The contact is replaced; the old links are withdrawn and the new contact has a link.",
    "on-behalf": "The contribution is recorded as a new revision; the agency gets a receipt.",
    "central": "The central section is saved; it waits for the Chair's approval.",
    "collate": "A draft is collated; its report is below.",
    "chair-link": "The Chair has been sent a personal link to the review.",
    "retry-email": "The email is back in the queue; dispatch sends it now.",
    "cancel-email": "The email is cancelled: it will not be sent.",
    "publish": "The report is published; its recipients and partners are emailed a link to it.",
    "publish-on": "The sign-off is recorded; the morning run publishes the report on the day you chose.",
    "let-through": "It is let through: publishing no longer waits for it. The audit log records who, when and why.",
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
    return _desk_page(request, session, cycle, found.csrf_token, done=done)


def _desk_page(
    request: Request, session: Session, cycle: Cycle, csrf: str, *, done: str = "", extra: dict[str, Any] | None = None
) -> Response:
    """The desk; `extra` carries a refused publication form (its errors, what was sent)."""
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
    partnership = partnership_of(session, cycle)
    return page(
        request,
        "desk.html",
        {
            "title": cycle.title,
            "caption": "The business manager's desk",
            "wide": True,
            "partnership": partnership.name,
            "zone": partnership.timezone,
            "cycle": cycle,
            "rows": cycle_status(session, cycle, at=now(request)),
            # the stored state behind a row that says "overdue", so the words can say what it is overdue for
            "codes": {a.slug: str(c.status) for c, a in pairs},
            "email_words": EMAIL_WORDS,
            "central_words": CENTRAL_WORDS,
            "requests": [(r, names[r.contribution_id]) for r in requests],
            "held": [(a, n) for a, n in held if n],
            "failed": failed,
            "for_a_person": for_a_person(session),
            "central": central_sections(session, cycle),
            "draft": draft,
            "csrf": csrf,
            "notice": DONE.get(done),
            "notice_success": done in DONE,
            **publication_context(session, cycle),
            **{"errors": [], "field_errors": {}, "sent": {}, "marked": {}, **(extra or {})},
        },
        status_code=422 if extra and extra.get("errors") else 200,
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
    return _agency_page(request, session, cycle, agency, found.csrf_token, done=done)


def _agency_page(
    request: Request,
    session: Session,
    cycle: Cycle,
    agency: Agency,
    csrf: str,
    *,
    done: str = "",
    errors: list[dict[str, str]] | None = None,
    sent: dict[str, str] | None = None,
    marked: list[str] | None = None,
) -> Response:
    """An agency's page on the desk; with `errors`, the form that was refused as it was sent (`sent`, by field
    id), each error on its field."""
    contribution = contribution_for(session, cycle, agency)
    copy = session.exec(select(WorkingCopy).where(WorkingCopy.contribution_id == contribution.id)).first()
    brief = cycle_values(cycle)[0]
    at = now(request)
    access, live_links = contact_access(session, contribution.id or 0, at=at)
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    deadline = calendar.at_local(contribution.due_date, contribution.cut_off)
    return page(
        request,
        "desk_agency.html",
        {
            "title": agency.name,
            "caption": cycle.title,
            "partnership": partnership.name,
            "zone": calendar.spec.timezone,
            "cycle": cycle,
            "agency": agency,
            "contribution": contribution,
            "state_code": str(contribution.status),
            "overdue": contribution.status in AWAITING and at > deadline,
            "deadline": deadline,
            "contacts": sorted(contacts_of(session, agency).items()),
            "live_links": live_links,
            "access": access,
            "timeline": timeline(session, contribution),
            "today": calendar.local(at).date(),
            "sections": [(s.key, s.title, (copy.sections if copy else {}).get(s.key, "")) for s in brief.sections],
            "csrf": csrf,
            "notice": DONE.get(done),
            "notice_success": done in DONE,
            "errors": errors or [],
            "field_errors": {e["href"].removeprefix("#"): e["text"] for e in errors or [] if e.get("href")},
            "sent": sent or {},
            "marked": marked or [],
        },
        status_code=422 if errors else 200,
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
        {
            "title": section.title,
            "caption": f"Edit a central section: {cycle.title}",
            "partnership": partnership_of(session, cycle).name,
            "cycle": cycle,
            "section": section,
            "state_text": CENTRAL_WORDS.get(section.status, str(section.status)),
            "csrf": found.csrf_token,
        },
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
    work = let_one_through if action == "let-through" else ACTIONS.get(action)
    if work is None and action != "publish":  # publishing has steps of its own (_publish_step)
        return page(request, "message.html", {"title": "Not found", "message": "There is no such action."}, 404)
    a = Act(session, cycle, form, now(request), found.email or "manager", state(request).settings)
    try:
        if action == "publish":
            return _publish_step(request, a, found.csrf_token)
        if action == "extend":
            asked = _deadline_step(request, a, found.csrf_token)
            if asked is not None:
                return asked
        elif action == "replace" and replace_problems(form):
            agency = a.session.get(Agency, a.contribution().agency_id)
            assert agency is not None
            sent = {f"replace-{k}": a.field(k) for k in ("role", "name", "email")}
            return _agency_page(
                request, session, cycle, agency, found.csrf_token, errors=replace_problems(form), sent=sent
            )
        elif action in ASK_FIRST and (not confirmed(form) or (action == "excuse" and not a.field("reason"))):
            errors = []
            if confirmed(form):  # the confirmation page, sent without the reason it asks for
                errors = [
                    {
                        "text": "Say why the agency is excused: they are told, and the audit log keeps it.",
                        "href": "#reason",
                    }
                ]
            return _confirmation(request, a, action, found.csrf_token, errors=errors)
        assert work is not None
        work(a)
    except (DeskError, NotFound, IllegalTransition) as exc:
        session.rollback()
        back = (
            f"/desk/{cycle_id}/agency/{a.field('agency')}"
            if action in AGENCY_ACTIONS and a.field("agency")
            else f"/desk/{cycle_id}"
        )
        message = str(exc)
        if isinstance(exc, IllegalTransition):  # its message names stored codes; say it as the desk does
            message = (
                f"That cannot be done to a contribution in this state: {contribution_state(exc.state, staff=True)}."
            )
        return page(
            request,
            "message.html",
            {"title": "That was not done", "message": message, "back": back},
            status_code=422,
        )
    session.commit()
    # After the commit: the reconcile it wakes (the annual-cycle deployment) must find what was done.
    desk_action(cycle_id=cycle_id, action=action, actor=a.actor, at=a.at)
    back = f"/desk/{cycle_id}/agency/{a.field('agency')}" if action in AGENCY_ACTIONS else f"/desk/{cycle_id}"
    return RedirectResponse(f"{back}?done={action}", status_code=303)


def _confirmation(
    request: Request,
    a: Act,
    action: str,
    csrf: str,
    *,
    warnings: list[str] | None = None,
    errors: list[dict[str, str]] | None = None,
    about: dict[str, Any] | None = None,
) -> Response:
    """The page that says what `action` will do, posting it again with `confirm=yes`; nothing is written."""
    about = {"back": f"/desk/{a.cycle.id}", **about} if about else ask(a, action, warnings)
    return page(
        request,
        "desk_confirm.html",
        {
            **about,
            "caption": a.cycle.title,
            "partnership": partnership_of(a.session, a.cycle).name,
            "cycle": a.cycle,
            "action": action,
            "carried": carried(a.form),
            "reason_value": str(a.form.get("reason", "")),
            "csrf": csrf,
            "errors": errors or [],
            "field_errors": {e["href"].removeprefix("#"): e["text"] for e in errors or [] if e.get("href")},
        },
        status_code=422 if errors else 200,
    )


def _deadline_step(request: Request, a: Act, csrf: str) -> Response | None:
    """A typed deadline: refused on its field if it is no date or cannot be one; asked about if it is unusual
    (earlier than the agency's deadline, after publish-by, not a working day); else None, to go ahead."""
    contribution = a.contribution()
    agency = a.session.get(Agency, contribution.agency_id)
    assert agency is not None
    until, problem, marked = typed_date(a.form, "until", "the new deadline")
    warnings: list[str] = []
    if contribution.status not in OWING:
        state_words = contribution_state(contribution.status, staff=True).lower()
        problem = f"The deadline cannot move now: {agency.name}'s contribution is {state_words}"
        marked = list(DATE_PARTS)
    elif until is not None:
        today = calendar_of(partnership_of(a.session, a.cycle)).local(a.at).date()
        if until <= today:
            problem, marked = f"The new deadline must be after today, {day_text(today)}", list(DATE_PARTS)
        else:
            try:
                warnings = deadline_warnings(a.session, a.cycle, contribution, until, at=a.at)
            except ValueError as exc:
                problem, marked = str(exc)[:1].upper() + str(exc)[1:], list(DATE_PARTS)
    if problem:
        sent = {f"until-{p}": a.field(f"until-{p}") for p in DATE_PARTS}
        errors = [{"text": problem, "href": f"#until-{marked[0]}"}]
        return _agency_page(request, a.session, a.cycle, agency, csrf, errors=errors, sent=sent, marked=marked)
    if warnings and not confirmed(a.form):
        return _confirmation(request, a, "extend", csrf, warnings=warnings)
    return None


def _publish_step(request: Request, a: Act, csrf: str) -> Response:
    """The board's sign-off: refused on its fields; publishing now asks first; a later day is only recorded."""
    values, errors = check(a)
    if errors:
        a.session.rollback()
        return _desk_page(request, a.session, a.cycle, csrf, extra=error_context(a, errors))
    if values["when"] == "now" and not confirmed(a.form):
        a.session.rollback()  # nothing is kept until the confirmation page is posted
        return _confirmation(request, a, "publish", csrf, about=ask_publish(values))
    if values["when"] == "now":
        publish_now(a)
    a.session.commit()
    desk_action(cycle_id=a.cycle.id or 0, action="publish", actor=a.actor, at=a.at)
    done = "publish" if values["when"] == "now" else "publish-on"
    return RedirectResponse(f"/desk/{a.cycle.id}?done={done}", status_code=303)
