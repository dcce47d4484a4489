"""The reviews register on the desk: the reviews of the year, their findings, and what became of each.

Reached from the desk (/desk/{cycle}/reviews) with the business manager's session for the cycle. Each POST
checks the CSRF token, runs one function of tasks.report.register, and goes back with a notice, or shows
the form again as typed with each error on its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Cycle
from models.partnership_file import ReportSpec
from models.reviews import CaseReview, ReviewFinding
from models.store import partnership_of
from portal.desk_confirm import typed_date
from portal.web import RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff
from tasks.report.register import (
    RegisterError,
    add_finding,
    add_review,
    ongoing_at_end,
    remove_review,
    reviews_of,
    set_outcome,
    words_for,
)

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager's desk"
DONE = {
    "review": "The review is added to the register. Add its findings below.",
    "finding": "The finding is added.",
    "outcome": "What became of the finding is recorded.",
    "removed": "The review and its findings are removed from the register.",
}


def _allowed(request: Request, session: Session, cycle_id: int) -> tuple[Any, Cycle] | None:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    return (found, cycle) if found is not None and cycle is not None else None


def _base(session: Session, cycle: Cycle, found: Any, title: str, **extra: Any) -> dict[str, Any]:
    words = words_for(ReportSpec.model_validate(cycle.report or {}).kind)
    return {
        "title": title,
        "caption": f"{words.plural}: {cycle.title}",
        "partnership": partnership_of(session, cycle).name,
        "cycle": cycle,
        "words": words,
        "csrf": found.csrf_token,
        "errors": [],
        "field_errors": {},
        "sent": {},
        **extra,
    }


def _with_errors(context: dict[str, Any], errors: list[dict[str, str]], form: Any) -> dict[str, Any]:
    by_field = {e["href"].removeprefix("#"): e["text"] for e in errors}
    sent = {k: str(v) for k, v in form.items() if k != "csrf"}
    return {**context, "errors": errors, "field_errors": by_field, "sent": sent}


def _register_page(request: Request, session: Session, found: Any, cycle: Cycle, **extra: Any) -> dict[str, Any]:
    entries = [
        {"review": r, "findings": f, "ongoing": ongoing_at_end(r, cycle), "open": sum(1 for x in f if not x.outcome)}
        for r, f in reviews_of(session, cycle)
    ]
    words = words_for(ReportSpec.model_validate(cycle.report or {}).kind)
    return _base(session, cycle, found, f"{words.plural} register", entries=entries, marked={}, **extra)


@router.get("/desk/{cycle_id}/reviews", response_class=HTMLResponse)
def register(request: Request, cycle_id: RowId, session: DB, done: str = "") -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    context = _register_page(request, session, found, cycle, notice=DONE.get(done), notice_success=done in DONE)
    return page(request, "register.html", context)


@router.post("/desk/{cycle_id}/reviews", response_class=HTMLResponse)
async def add_review_post(request: Request, cycle_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _add_review, cycle_id, form)


def _add_review(request: Request, session: Session, cycle_id: int, form: Any) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so the review was not added")
    errors: list[dict[str, str]] = []
    marked: dict[str, list[str]] = {}
    name = str(form.get("name", ""))
    if not name.strip():
        errors.append({"text": "Enter the review's name, as the report will name it", "href": "#name"})
    started, problem, parts = typed_date(form, "started", "the date the review started")
    if problem:
        errors.append({"text": problem, "href": f"#started-{parts[0]}"})
        marked["started"] = parts
    concluded: dt.date | None = None
    if any(str(form.get(f"concluded-{p}", "")).strip() for p in ("day", "month", "year")):
        concluded, problem, parts = typed_date(form, "concluded", "the date the review concluded")
        if problem:
            errors.append({"text": problem, "href": f"#concluded-{parts[0]}"})
            marked["concluded"] = parts
    if not errors and started is not None:
        try:
            review = add_review(session, cycle, name, started, concluded, at=now(request), actor=found.email or "")
        except RegisterError as exc:
            session.rollback()
            href = {"name": "#name", "started": "#started-day", "concluded": "#concluded-day"}[exc.field]
            errors.append({"text": str(exc).rstrip("."), "href": href})
            if exc.field != "name":
                marked[exc.field] = ["day", "month", "year"]
        else:
            session.commit()
            return RedirectResponse(f"/desk/{cycle_id}/reviews/{review.id}?done=review", status_code=303)
    context = _with_errors(_register_page(request, session, found, cycle), errors, form)
    return page(request, "register.html", {**context, "marked": marked}, status_code=422)


def _review(session: Session, cycle: Cycle, review_id: int) -> CaseReview | None:
    review = session.get(CaseReview, review_id)
    return review if review is not None and review.cycle_id == cycle.id else None


def _review_page(session: Session, found: Any, cycle: Cycle, review: CaseReview, **extra: Any) -> dict[str, Any]:
    findings = [f for r, fs in reviews_of(session, cycle) if r.id == review.id for f in fs]
    return _base(
        session,
        cycle,
        found,
        review.name,
        review=review,
        findings=findings,
        ongoing=ongoing_at_end(review, cycle),
        **extra,
    )


def _missing(request: Request) -> Response:
    return page(request, "message.html", {"title": "Not found", "message": "There is no such review or finding."}, 404)


@router.get("/desk/{cycle_id}/reviews/{review_id}", response_class=HTMLResponse)
def review_page(request: Request, cycle_id: RowId, review_id: RowId, session: DB, done: str = "") -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    review = _review(session, cycle, review_id)
    if review is None:
        return _missing(request)
    context = _review_page(session, found, cycle, review, notice=DONE.get(done), notice_success=done in DONE)
    return page(request, "register_review.html", context)


@router.post("/desk/{cycle_id}/reviews/{review_id}", response_class=HTMLResponse)
async def add_finding_post(request: Request, cycle_id: RowId, review_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _add_finding, cycle_id, review_id, form)


def _add_finding(request: Request, session: Session, cycle_id: int, review_id: int, form: Any) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so the finding was not added")
    review = _review(session, cycle, review_id)
    if review is None:
        return _missing(request)
    try:
        add_finding(session, review, str(form.get("finding", "")), at=now(request), actor=found.email or "")
    except RegisterError as exc:
        session.rollback()
        errors = [{"text": str(exc).rstrip("."), "href": "#finding"}]
        context = _with_errors(_review_page(session, found, cycle, review), errors, form)
        return page(request, "register_review.html", context, status_code=422)
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/reviews/{review_id}?done=finding", status_code=303)


def _finding(session: Session, review: CaseReview, finding_id: int) -> ReviewFinding | None:
    finding = session.get(ReviewFinding, finding_id)
    return finding if finding is not None and finding.review_id == review.id else None


@router.get("/desk/{cycle_id}/reviews/{review_id}/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(request: Request, cycle_id: RowId, review_id: RowId, finding_id: RowId, session: DB) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    review = _review(session, cycle, review_id)
    finding = _finding(session, review, finding_id) if review else None
    if review is None or finding is None:
        return _missing(request)
    sent = {"outcome": finding.outcome or "", "outcome-text": finding.outcome_text}
    context = _base(session, cycle, found, f"Finding {finding.number}", review=review, finding=finding, sent=sent)
    return page(request, "register_finding.html", context)


@router.post("/desk/{cycle_id}/reviews/{review_id}/findings/{finding_id}", response_class=HTMLResponse)
async def outcome_post(request: Request, cycle_id: RowId, review_id: RowId, finding_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _outcome, cycle_id, review_id, finding_id, form)


def _outcome(request: Request, session: Session, cycle_id: int, review_id: int, finding_id: int, form: Any) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was recorded")
    review = _review(session, cycle, review_id)
    finding = _finding(session, review, finding_id) if review else None
    if review is None or finding is None:
        return _missing(request)
    outcome, text = str(form.get("outcome", "")), str(form.get("outcome-text", ""))
    try:
        set_outcome(session, finding, outcome, text, at=now(request), actor=found.email or "")
    except RegisterError as exc:
        session.rollback()
        errors = [{"text": str(exc).rstrip("."), "href": f"#{exc.field}"}]
        context = _base(session, cycle, found, f"Finding {finding.number}", review=review, finding=finding)
        return page(request, "register_finding.html", _with_errors(context, errors, form), status_code=422)
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/reviews/{review_id}?done=outcome", status_code=303)


@router.get("/desk/{cycle_id}/reviews/{review_id}/remove", response_class=HTMLResponse)
def remove_page(request: Request, cycle_id: RowId, review_id: RowId, session: DB) -> Response:
    """What removing a review will do, with the button that does it: nothing changes before."""
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    review = _review(session, cycle, review_id)
    if review is None:
        return _missing(request)
    context = _review_page(session, found, cycle, review)
    return page(request, "register_remove.html", {**context, "title": f"Remove {review.name}?"})


@router.post("/desk/{cycle_id}/reviews/{review_id}/remove", response_class=HTMLResponse)
async def remove_post(request: Request, cycle_id: RowId, review_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _remove, cycle_id, review_id, form)


def _remove(request: Request, session: Session, cycle_id: int, review_id: int, form: Any) -> Response:
    allowed = _allowed(request, session, cycle_id)
    if allowed is None:
        return refused(request, WHO)
    found, cycle = allowed
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was removed")
    review = _review(session, cycle, review_id)
    if review is None:
        return _missing(request)
    remove_review(session, review, at=now(request), actor=found.email or "")
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/reviews?done=removed", status_code=303)
