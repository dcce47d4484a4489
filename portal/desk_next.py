"""Plan the next cycle from the desk: create it (from this year's, or blank), enter its dates, open it.

Reached from a cycle's desk with the business manager's session for that cycle; every page is under
/desk/{cycle}/next and works on a planned cycle of the same partnership. A date nobody works on is refused on
its field with the nearest working days offered as choices (tasks.desk.next_cycle makes every check); choosing
one and continuing saves it. Opening now asks first; left alone, the year's morning run opens the cycle on its
requests date, which the page says in words.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Cycle
from models.lifecycle import CycleState
from models.store import NotFound, calendar_of, partnership_of
from models.year_on import move_years
from portal.desk_dates import DateForm, read_dates
from portal.desk_plan import plan_page
from portal.web import RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff, state
from tasks.desk.next_cycle import (
    NextCycleError,
    check_dates,
    create_next,
    dates_of,
    not_planned,
    open_now,
    opening,
    partnership_cycles,
    planned_cycles,
    publication_rule,
    set_dates,
)
from tasks.mail.context import day_text
from tasks.ops.events import desk_action
from tasks.years.roll_forward import RollForwardError

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager's desk"
DONE = {
    "created": "The next cycle is created from this year's, its dates a year on. Check them below.",
    "saved": "The dates are saved.",
    "opened": "The cycle is open: its requests are on their way, and a link to its desk is in your email.",
}


def _allowed(request: Request, session: Session, cycle_id: int) -> tuple[Any, Cycle] | None:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    return (found, cycle) if found is not None and cycle is not None else None


def _target(session: Session, desk: Cycle, next_id: int) -> Cycle | None:
    """A cycle of the desk's own partnership; never another partnership's."""
    target = session.get(Cycle, next_id)
    return target if target is not None and target.partnership_id == desk.partnership_id else None


def _not_found(request: Request) -> Response:
    return page(request, "message.html", {"title": "Not found", "message": "There is no such cycle."}, 404)


@router.get("/desk/{cycle_id}/next", response_class=HTMLResponse)
def next_page(request: Request, cycle_id: RowId, session: DB) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    return _choice(request, session, allowed[1], allowed[0].csrf_token)


def _choice(request: Request, session: Session, desk: Cycle, csrf: str, error: str = "") -> Response:
    calendar = calendar_of(partnership_of(session, desk))
    planned = [(c, opening(c, calendar, now(request)).text) for c in planned_cycles(session, desk)]
    errors = [{"text": error, "href": "#start"}] if error else []
    return page(
        request,
        "desk_next.html",
        {
            "title": "Plan the next cycle",
            "caption": desk.title,
            "partnership": partnership_of(session, desk).name,
            "cycle": desk,
            "planned": planned,
            "csrf": csrf,
            "errors": errors,
            "field_errors": {"start": error} if error else {},
        },
        status_code=422 if error else 200,
    )


@router.post("/desk/{cycle_id}/next", response_class=HTMLResponse)
async def start(request: Request, cycle_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _start, cycle_id, form)


def _start(request: Request, session: Session, cycle_id: int, form: Any) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, desk = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was created")
    choice = str(form.get("start", ""))
    if choice == "blank":
        return RedirectResponse(f"/desk/{cycle_id}/next/new", status_code=303)
    if choice != "copy":
        return _choice(request, session, desk, found.csrf_token, "Choose how to start the next cycle")
    years = {desk.period_start.year, desk.period_end.year}
    label = move_years(desk.label, 1, years)
    taken = next((c for c in partnership_cycles(session, desk) if c.label == label), None)
    if taken is not None and taken.status == CycleState.planned:  # made already: go on planning it
        return RedirectResponse(f"/desk/{cycle_id}/next/{taken.id}", status_code=303)
    if taken is not None:
        problem = f"There is already a cycle labelled {label}: start blank, with another label"
        return _choice(request, session, desk, found.csrf_token, problem)
    try:
        cycle = create_next(session, desk, at=now(request), actor=found.email or "manager")
    except (RollForwardError, NotFound) as exc:
        session.rollback()
        message = str(exc).split("; ")[0]
        return _choice(request, session, desk, found.csrf_token, f"{message[:1].upper()}{message[1:]}: start blank")
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/next/{cycle.id}?done=created", status_code=303)


def _dates_page(
    request: Request, session: Session, desk: Cycle, csrf: str, target: Cycle | None, form: DateForm, done: str = ""
) -> Response:
    """The form for a new cycle (`target` None) or a planned one; a cycle that has opened is shown, not edited."""
    partnership = partnership_of(session, desk)
    calendar = calendar_of(partnership)
    kind = (target or desk).report.get("kind")
    when = opening(target, calendar, now(request)) if target and target.status == CycleState.planned else None
    if when is not None and target is not None and not form.errors and not form.warnings:
        today = calendar.local(now(request)).date()
        form.warnings = check_dates(dates_of(target), calendar, kind=kind, today=today)[1]
    return page(
        request,
        "desk_next_dates.html",
        {
            "title": target.title if target else "A blank cycle",
            "caption": "Plan the next cycle",
            "partnership": partnership.name,
            "cycle": desk,
            "target": target,
            "planned": target is None or target.status == CycleState.planned,
            "opening": when,
            # Before the year it reports on has ended, open_now refuses: say so rather than offer the button.
            "opens_from": None
            if target is None or calendar.local(now(request)).date() >= target.period_end
            else target.period_end,
            "publication_rule": publication_rule(kind),
            "form": form,
            "csrf": csrf,
            "errors": form.errors,
            "field_errors": form.field_errors,
            "sent": form.sent,
            "marked": form.marked,
            "notice": DONE.get(done),
            "notice_success": done in DONE,
        },
        status_code=422 if form.errors else 200,
    )


@router.get("/desk/{cycle_id}/next/new", response_class=HTMLResponse)
def blank(request: Request, cycle_id: RowId, session: DB) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    return _dates_page(request, session, allowed[1], allowed[0].csrf_token, None, DateForm(sent={"cut-off": "17:00"}))


@router.get("/desk/{cycle_id}/next/{next_id}", response_class=HTMLResponse)
def planned_page(request: Request, cycle_id: RowId, next_id: RowId, session: DB, done: str = "") -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    target = _target(session, allowed[1], next_id)
    if target is None:
        return _not_found(request)
    form = DateForm.of(target.title, dates_of(target), target.cut_off)
    return _dates_page(request, session, allowed[1], allowed[0].csrf_token, target, form, done)


@router.post("/desk/{cycle_id}/next/{next_id}", response_class=HTMLResponse)
async def save(request: Request, cycle_id: RowId, next_id: str) -> Response:
    form = await request.form()
    return await in_thread(request, _save, cycle_id, next_id, form)


def _save(request: Request, session: Session, cycle_id: int, next_id: str, form: Any) -> Response:
    """Both the blank cycle (`next_id` "new") and a planned one's dates: refused on their fields, or saved."""
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, desk = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was changed")
    target = None
    if next_id != "new":
        target = _target(session, desk, int(next_id)) if next_id.isdigit() and len(next_id) < 10 else None
        if target is None:
            return _not_found(request)
        if target.status != CycleState.planned:  # said plainly, not as a problem with each date typed
            typed = DateForm.of(target.title, dates_of(target), target.cut_off)
            typed.refuse(not_planned(target), "")  # no form for it: the summary says it without a link
            return _dates_page(request, session, desk, found.csrf_token, target, typed)
    calendar = calendar_of(partnership_of(session, desk))
    at, actor = now(request), found.email or "manager"
    new = target is None
    typed = read_dates(form, calendar, kind=(target or desk).report.get("kind"), at=at, new=new)
    if new and typed.label and any(c.label == typed.label for c in partnership_cycles(session, desk)):
        typed.refuse(f"There is already a cycle labelled {typed.label}: choose another label", "#label")
        typed.dates = None
    if typed.errors or typed.dates is None:
        return _dates_page(request, session, desk, found.csrf_token, target, typed)
    try:
        if target is None:
            target = create_next(session, desk, at=at, actor=actor, label=typed.label, title=typed.title)
        set_dates(session, target, title=typed.title, dates=typed.dates, cut_off=typed.cut_off, at=at, actor=actor)
    except (NextCycleError, RollForwardError, NotFound) as exc:
        session.rollback()
        typed.refuse(str(exc), "#label" if new else "#title")
        return _dates_page(request, session, desk, found.csrf_token, None if new else target, typed)
    session.commit()
    desk_action(cycle_id=target.id or 0, action="dates", actor=found.email or "manager", at=now(request))
    return RedirectResponse(f"/desk/{cycle_id}/next/{target.id}?done=saved", status_code=303)


@router.post("/desk/{cycle_id}/next/{next_id}/open", response_class=HTMLResponse)
async def open_it(request: Request, cycle_id: RowId, next_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _open, cycle_id, next_id, form)


def _open(request: Request, session: Session, cycle_id: int, next_id: int, form: Any) -> Response:
    """Asks first (it emails every agency); `confirm=yes` from that page opens it."""
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, desk = allowed
    target = _target(session, desk, next_id)
    if target is None:
        return _not_found(request)
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was opened")
    back = f"/desk/{cycle_id}/next/{next_id}"
    if str(form.get("confirm", "")) != "yes":
        when = opening(target, calendar_of(partnership_of(session, desk)), now(request))
        return page(
            request,
            "desk_confirm.html",
            {
                "title": f"Open {target.title} now?",
                "caption": "Plan the next cycle",
                "partnership": partnership_of(session, desk).name,
                "cycle": desk,
                "action_url": f"{back}/open",
                "what": [
                    "Every active agency is asked for its contribution now: its contacts are emailed their personal "
                    "links in the next send window.",
                    f"Its deadline stays {day_text(target.contributions_due)}. Left alone, it would open by itself: "
                    f"{when.text[:1].lower()}{when.text[1:]}.",
                    "You are emailed a link to the new cycle's desk.",
                ],
                "button": "Open the cycle now",
                "warning": False,
                "back": back,
                "carried": [],
                "csrf": found.csrf_token,
                "errors": [],
                "field_errors": {},
            },
        )
    s = state(request).settings
    try:
        open_now(
            session,
            target,
            at=now(request),
            actor=found.email or "manager",
            base_url=s.public_base_url,
            link_valid_days=s.link_valid_days,
            templates_dir=s.templates_dir,
        )
    except NextCycleError as exc:
        session.rollback()
        return page(
            request,
            "message.html",
            {"title": "That was not done", "message": str(exc) + ".", "back": back},
            status_code=422,
        )
    session.commit()
    desk_action(cycle_id=target.id or 0, action="open", actor=found.email or "manager", at=now(request))
    return RedirectResponse(f"{back}?done=opened", status_code=303)


@router.get("/desk/{cycle_id}/next/{next_id}/plan", response_class=HTMLResponse)
def next_plan(request: Request, cycle_id: RowId, next_id: RowId, session: DB) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    target = _target(session, allowed[1], next_id)
    if target is None:
        return _not_found(request)
    return plan_page(request, session, target, back=f"/desk/{cycle_id}/next/{next_id}")
