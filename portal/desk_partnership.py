"""The partnership on the desk: its agencies and contacts (add, change, retire), and the partnership file to
download.

Reached from the desk (/desk/{cycle}/partnership) with the business manager's session for the cycle. Every
change goes through tasks.desk.partnership_edit: the partnership file's own rules judge it, the audit log
records it, and a refused form comes back as typed with each error on its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Cycle
from models.lifecycle import CycleState
from models.store import calendar_of, partnership_of
from portal.desk_forms import AGENCY_FIELDS, COLLECTIONS, agency_form_values, agency_value
from portal.web import Name, RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff
from tasks.desk.partnership_edit import EditRefused, edit
from tasks.desk.partnership_export import current_spec, export_toml, file_data

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager's desk"
DONE = {
    "agency-added": "The agency is added. It is asked for its contribution from the next cycle that opens.",
    "agency": "The agency's details are saved.",
    "retired": "The agency is retired: it stays in past cycles' records and is not asked again.",
    "item": "Saved.",
    "removed": "Removed.",
    "nothing": "Nothing was changed.",
}


def allowed(request: Request, session: Session, cycle_id: int) -> tuple[Any, Cycle] | None:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    return (found, cycle) if found is not None and cycle is not None else None


def base(session: Session, cycle: Cycle, found: Any, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "caption": f"The partnership: {cycle.title}",
        "partnership": partnership_of(session, cycle).name,
        "cycle": cycle,
        "csrf": found.csrf_token,
        "errors": [],
        "field_errors": {},
        "sent": {},
        **extra,
    }


def with_problems(context: dict[str, Any], exc: EditRefused, form: Any) -> dict[str, Any]:
    """The form as typed, with each problem in the error summary, linked to its field."""
    errors = [{"text": p.text, "href": f"#{p.field}"} if p.field else {"text": p.text} for p in exc.problems]
    by_field = {p.field: p.text for p in exc.problems if p.field}
    sent = {k: str(v) for k, v in form.items() if k != "csrf"}
    return {**context, "errors": errors, "field_errors": by_field, "sent": sent}


def missing(request: Request) -> Response:
    return page(request, "message.html", {"title": "Not found", "message": "There is no such item."}, 404)


@router.get("/desk/{cycle_id}/partnership", response_class=HTMLResponse)
def overview(request: Request, cycle_id: RowId, session: DB, done: str = "") -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    data = file_data(session, partnership_of(session, cycle), cycle)
    context = base(
        session,
        cycle,
        found,
        "The partnership",
        data=data,
        collections=COLLECTIONS,
        planned=cycle.status == CycleState.planned,
        notice=DONE.get(done),
        notice_success=done in DONE,
        wide=True,
    )
    return page(request, "desk_partnership.html", context)


@router.get("/desk/{cycle_id}/partnership/export")
def export(request: Request, cycle_id: RowId, session: DB) -> Response:
    """The partnership file, to keep or edit and load again with `reportcycle partnership load`."""
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    _, cycle = found_cycle
    partnership = partnership_of(session, cycle)
    stamp = calendar_of(partnership).local(now(request))
    text = export_toml(current_spec(session, partnership, cycle), exported_at=f"{stamp:%d %B %Y %H:%M %Z}")
    name = f"{partnership.slug}-{cycle.label.replace('/', '-')}.toml"
    return Response(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _agency_context(session: Session, cycle: Cycle, found: Any, slug: str | None, **extra: Any) -> dict[str, Any]:
    running = cycle.status in (CycleState.open, CycleState.in_review)
    return base(
        session,
        cycle,
        found,
        "Add an agency" if slug is None else "Change the agency",
        fields=[f for f in AGENCY_FIELDS if slug is None or f.name != "slug"],
        action=f"/desk/{cycle.id}/partnership/agencies/{slug or 'new'}",
        button="Add the agency" if slug is None else "Save the agency",
        back=f"/desk/{cycle.id}/partnership",
        running_note=running and slug is not None,
        agency_slug=slug,
        **extra,
    )


@router.get("/desk/{cycle_id}/partnership/agencies/{slug}", response_class=HTMLResponse)
def agency_form(request: Request, cycle_id: RowId, slug: Name, session: DB) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    if slug == "new":
        return page(request, "desk_item.html", _agency_context(session, cycle, found, None))
    data = file_data(session, partnership_of(session, cycle), cycle)
    agency = next((a for a in data["agencies"] if a["slug"] == slug), None)
    if agency is None:
        return missing(request)
    context = _agency_context(session, cycle, found, slug, sent=agency_form_values(agency))
    return page(request, "desk_item.html", context)


@router.post("/desk/{cycle_id}/partnership/agencies/{slug}", response_class=HTMLResponse)
async def agency_post(request: Request, cycle_id: RowId, slug: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _agency_save, cycle_id, slug, form)


def _contact_field(value: dict[str, Any]) -> Callable[[tuple[str | int, ...]], str | None]:
    """Where an error inside the agency goes on the form: a contact's by its role, the aliases on their box."""

    def field_of(rest: tuple[str | int, ...]) -> str | None:
        if rest[0] == "contacts":
            if len(rest) >= 3 and isinstance(rest[1], int) and rest[1] < len(value["contacts"]):
                return f"{value['contacts'][rest[1]]['role']}-{rest[2]}"
            return "lead-name"
        return str(rest[0])

    return field_of


# Each field as an error message names it.
AGENCY_LABELS = {
    "slug": "the short name",
    "name": "the agency's name",
    "aliases": "the other names",
    **{f"{r}-name": f"the {r} contact's name" for r in ("lead", "deputy", "senior")},
    **{f"{r}-email": f"the {r} contact's email address" for r in ("lead", "deputy", "senior")},
}


def _agency_save(request: Request, session: Session, cycle_id: int, slug: str, form: Any) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was changed")
    adding = slug == "new"
    value = agency_value(form, str(form.get("slug", "")).strip() if adding else slug)
    data = file_data(session, partnership_of(session, cycle), cycle)
    if not adding and not any(a["slug"] == slug for a in data["agencies"]):
        return missing(request)

    def change(data: dict[str, Any]) -> tuple[str | int, ...]:
        agencies = data["agencies"]
        at = next((i for i, a in enumerate(agencies) if a["slug"] == slug and not adding), None)
        if at is None:
            agencies.append(value)
            return ("agencies", len(agencies) - 1)
        agencies[at] = value
        return ("agencies", at)

    try:
        changes = edit(
            session,
            cycle,
            change,
            at=now(request),
            actor=found.email or "manager",
            labels=AGENCY_LABELS,
            field_of=_contact_field(value),
        )
    except EditRefused as exc:
        session.rollback()
        context = with_problems(_agency_context(session, cycle, found, None if adding else slug), exc, form)
        return page(request, "desk_item.html", context, status_code=422)
    session.commit()
    done = "nothing" if not changes else "agency-added" if adding else "agency"
    return RedirectResponse(f"/desk/{cycle_id}/partnership?done={done}", status_code=303)


@router.get("/desk/{cycle_id}/partnership/agencies/{slug}/retire", response_class=HTMLResponse)
def retire_page(request: Request, cycle_id: RowId, slug: Name, session: DB) -> Response:
    """What retiring does, with the button that does it: nothing changes before."""
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    data = file_data(session, partnership_of(session, cycle), cycle)
    agency = next((a for a in data["agencies"] if a["slug"] == slug), None)
    if agency is None:
        return missing(request)
    running = cycle.status in (CycleState.open, CycleState.in_review)
    context = base(
        session,
        cycle,
        found,
        f"Retire {agency['name']}?",
        what=[
            "It is not asked for a contribution in any cycle that opens from now on.",
            "Its contributions to past cycles, and the audit log, keep its name.",
            *(
                [f"Its contribution to {cycle.title} is not changed: excuse it on its page if it should not be chased."]
                if running
                else []
            ),
            "Adding it again with the same short name brings it back.",
        ],
        action=f"/desk/{cycle.id}/partnership/agencies/{slug}/retire",
        button="Retire the agency",
        back=f"/desk/{cycle.id}/partnership",
    )
    return page(request, "desk_remove.html", context)


@router.post("/desk/{cycle_id}/partnership/agencies/{slug}/retire", response_class=HTMLResponse)
async def retire_post(request: Request, cycle_id: RowId, slug: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _retire, cycle_id, slug, form)


def _retire(request: Request, session: Session, cycle_id: int, slug: str, form: Any) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was changed")

    def change(data: dict[str, Any]) -> tuple[str | int, ...]:
        data["agencies"] = [a for a in data["agencies"] if a["slug"] != slug]
        return ()

    try:
        changes = edit(session, cycle, change, at=now(request), actor=found.email or "manager")
    except EditRefused as exc:
        session.rollback()
        back = f"/desk/{cycle_id}/partnership"
        return page(request, "message.html", {"title": "That was not done", "message": str(exc), "back": back}, 422)
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/partnership?done={'retired' if changes else 'nothing'}", status_code=303)
