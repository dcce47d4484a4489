"""Around the contribution, each on its own page reached from the summary: ask for more time, hand the link to a
colleague, record who signed it off. Each page has its own form and its own errors, on its fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from portal.web import RowId, db, in_thread, page, refused, state
from portal.writing import Writer, gate, writer
from reportcycle.settings import Settings
from tasks.contributions.agency_desk import AgencyRequestError, ask_for_extension, hand_over, sign_off

router = APIRouter()
DB = Annotated[Session, Depends(db)]
Error = dict[str, str]
PAGES = {
    "extension": ("Ask for more time", "contribution_extension.html"),
    "handover": ("A colleague will write it", "contribution_handover.html"),
    "signoff": ("Senior sign-off", "contribution_signoff.html"),
}


def parse_date(day: str, month: str, year: str) -> tuple[dt.date | None, Error | None]:
    """The GOV.UK date input's three fields as a date, or one error linked to the first field to put right;
    its "fields" say which of the three are marked wrong (all three when the date as a whole is)."""
    parts = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    every = "day month year"
    missing = [name for name, value in parts.items() if not value]
    if len(missing) == 3:
        text = "Enter the date you ask for as a day, month and year, like 27 3 2026"
        return None, {"text": text, "href": "#until-day", "fields": every}
    if missing:
        said = " and a ".join(missing)
        text = f"The date you ask for must include a {said}"
        return None, {"text": text, "href": f"#until-{missing[0]}", "fields": " ".join(missing)}
    wrong = [name for name, value in parts.items() if not value.isdigit()]
    if wrong:
        text = f"The date you ask for must be a real date: the {wrong[0]} is not a number"
        return None, {"text": text, "href": f"#until-{wrong[0]}", "fields": " ".join(wrong)}
    if len(parts["year"]) != 4:
        return None, {"text": "The year must include 4 numbers, like 2026", "href": "#until-year", "fields": "year"}
    try:
        return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"])), None
    except ValueError:
        return None, {"text": "The date you ask for must be a real date", "href": "#until-day", "fields": every}


def _show(
    request: Request, w: Writer, what: str, values: dict[str, str], errors: list[Error], status_code: int = 200
) -> Response:
    title, template = PAGES[what]
    by_field = {e["href"].lstrip("#"): e["text"] for e in errors}
    # the date input's three fields share one message, shown once on the group
    date = next((e for e in errors if e["href"].startswith("#until-")), None)
    context = w.context(
        title,
        values=values,
        errors=errors,
        field_errors=by_field,
        date_error=date["text"] if date else "",
        date_wrong=date.get("fields", "day month year").split() if date else [],
    )
    return page(request, template, context, status_code=status_code)


def _get(request: Request, session: Session, contribution_id: int, what: str) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    if w.closed:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    return _show(request, w, what, {}, [])


@router.get("/contribution/{contribution_id}/extension", response_class=HTMLResponse)
def extension_page(request: Request, contribution_id: RowId, session: DB) -> Response:
    return _get(request, session, contribution_id, "extension")


@router.get("/contribution/{contribution_id}/handover", response_class=HTMLResponse)
def handover_page(request: Request, contribution_id: RowId, session: DB) -> Response:
    return _get(request, session, contribution_id, "handover")


@router.get("/contribution/{contribution_id}/signoff", response_class=HTMLResponse)
def signoff_page(request: Request, contribution_id: RowId, session: DB) -> Response:
    return _get(request, session, contribution_id, "signoff")


def _post(
    request: Request,
    session: Session,
    contribution_id: int,
    form: Any,
    what: str,
    work: Callable[[Writer, dict[str, str], Settings], list[Error]],
) -> Response:
    """Check the session and the CSRF token, run `work` (it returns errors, or raises AgencyRequestError),
    then back to the summary with a notice, or the page again with its errors and the values as typed."""
    w = gate(request, session, contribution_id, form)
    if not isinstance(w, Writer):
        return w
    values = {str(k): str(v) for k, v in form.items() if k != "csrf"}
    try:
        errors = work(w, values, state(request).settings)
    except AgencyRequestError as exc:
        # a refusal by the rules (a date too early or too late) is about the date as a whole
        errors = [{"text": str(exc), "href": _field_for(what, str(exc))}]
    if errors:
        session.rollback()
        return _show(request, w, what, values, errors, status_code=422)
    session.commit()
    return RedirectResponse(f"/contribution/{contribution_id}?done={what}", status_code=303)


def _field_for(what: str, message: str) -> str:
    """The field a refusal from the rules is about: the one it names."""
    if what == "extension":
        return "#reason" if "why" in message.lower() else "#until-day"
    if what == "handover":
        return "#email" if "email" in message.lower() else "#name"
    return "#name"


def _extension(w: Writer, values: dict[str, str], settings: Settings) -> list[Error]:
    until, error = parse_date(values.get("until-day", ""), values.get("until-month", ""), values.get("until-year", ""))
    reason = values.get("reason", "").strip()
    errors = [error] if error else []
    if not reason:
        errors.append(
            {"text": "Say why you need more time: the business manager decides on the reason", "href": "#reason"}
        )
    if errors or until is None:
        return errors
    ask_for_extension(
        w.session,
        w.cycle,
        w.agency,
        w.contribution,
        w.contact,
        until=until,
        reason=reason,
        at=w.at,
        templates_dir=settings.templates_dir,
    )
    return []


def _handover(w: Writer, values: dict[str, str], settings: Settings) -> list[Error]:
    name, email = values.get("name", "").strip(), values.get("email", "").strip()
    errors = []
    if not name:
        errors.append({"text": "Enter your colleague's name", "href": "#name"})
    if not email:
        errors.append({"text": "Enter your colleague's work email address", "href": "#email"})
    if errors:
        return errors
    hand_over(
        w.session,
        w.cycle,
        w.agency,
        w.contribution,
        w.contact,
        name=name,
        email=email,
        at=w.at,
        base_url=settings.public_base_url,
        link_valid_days=settings.link_valid_days,
        templates_dir=settings.templates_dir,
    )
    return []


def _signoff(w: Writer, values: dict[str, str], settings: Settings) -> list[Error]:
    name, role = values.get("name", "").strip(), values.get("role", "").strip()
    errors = []
    if not name:
        errors.append({"text": "Enter the name of the senior officer who signed it off", "href": "#name"})
    if not role:
        errors.append({"text": "Enter their role, like Director of Children's Services", "href": "#role"})
    if errors:
        return errors
    sign_off(w.session, w.contribution, w.contact, name=name, role=role, at=w.at)
    return []


@router.post("/contribution/{contribution_id}/extension", response_class=HTMLResponse)
async def ask_extension(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _post, contribution_id, form, "extension", _extension)


@router.post("/contribution/{contribution_id}/handover", response_class=HTMLResponse)
async def handover(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _post, contribution_id, form, "handover", _handover)


@router.post("/contribution/{contribution_id}/signoff", response_class=HTMLResponse)
async def signoff(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _post, contribution_id, form, "signoff", _signoff)
