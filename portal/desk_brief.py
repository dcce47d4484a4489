"""The lists of the partnership the desk edits item by item: the priorities, the statutory recipients, the
brief's sections and its key figures (see portal.desk_forms.COLLECTIONS).

/desk/{cycle}/partnership/{list}/new adds one, /{list}/{n} changes the n-th, /{list}/{n}/remove removes it
after saying what that does. A cycle keeps these once its agencies are asked: they change only while it is
planned (tasks.desk.partnership_edit refuses otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Cycle
from models.store import partnership_of
from portal.desk_forms import COLLECTIONS, Collection
from portal.desk_partnership import WHO, allowed, base, missing, with_problems
from portal.web import Name, csrf_ok, db, expired_form, in_thread, now, page, refused
from tasks.desk.partnership_edit import EditRefused, edit
from tasks.desk.partnership_export import file_data

router = APIRouter()
DB = Annotated[Session, Depends(db)]
ListName = Annotated[str, Path(pattern=r"^(priorities|recipients|sections|figures)$")]
CycleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _position(items: list[dict[str, Any]], item: str) -> int | None:
    """The 0-based place of the n-th item ("3"); None for "new", or a number past the end."""
    if not item.isdigit() or not 1 <= int(item) <= len(items):
        return None
    return int(item) - 1


def _context(session: Session, cycle: Cycle, found: Any, c: Collection, item: str, **extra: Any) -> dict[str, Any]:
    adding = item == "new"
    return base(
        session,
        cycle,
        found,
        f"Add a {c.noun}" if adding else f"Change the {c.noun}",
        fields=list(c.fields),
        intro=c.intro,
        action=f"/desk/{cycle.id}/partnership/{c.name}/{item}",
        button=f"Add the {c.noun}" if adding else "Save",
        back=f"/desk/{cycle.id}/partnership#{c.name}",
        **extra,
    )


@router.get("/desk/{cycle_id}/partnership/{name}/{item}", response_class=HTMLResponse)
def item_form(request: Request, cycle_id: CycleId, name: ListName, item: Name, session: DB) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    c = COLLECTIONS[name]
    if item == "new":
        return page(request, "desk_item.html", _context(session, cycle, found, c, item))
    items = c.items(file_data(session, partnership_of(session, cycle), cycle))
    at = _position(items, item)
    if at is None:
        return missing(request)
    sent = {k: "" if v is None else v for k, v in items[at].items()}
    return page(request, "desk_item.html", _context(session, cycle, found, c, item, sent=sent, was=items[at][c.key]))


@router.post("/desk/{cycle_id}/partnership/{name}/{item}", response_class=HTMLResponse)
async def item_post(request: Request, cycle_id: CycleId, name: ListName, item: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _save, cycle_id, name, item, form)


def _labels(c: Collection) -> dict[str, str]:
    return {f.name: f"the {f.label[:1].lower() + f.label[1:]}" for f in c.fields}


def _save(request: Request, session: Session, cycle_id: int, name: str, item: str, form: Any) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was changed")
    c = COLLECTIONS[name]
    value = c.value(form)
    stale = False

    def change(data: dict[str, Any]) -> tuple[str | int, ...]:
        nonlocal stale
        items = c.items(data)
        if item == "new":
            items.append(value)
            return (*c.path, len(items) - 1)
        at = _position(items, item)
        # The page was opened on another item than is there now (someone changed the list meanwhile).
        if at is None or str(items[at][c.key]) != str(form.get("was", "")):
            stale = True
            return ()
        items[at] = value
        return (*c.path, at)

    try:
        changes = edit(session, cycle, change, at=now(request), actor=found.email or "manager", labels=_labels(c))
    except EditRefused as exc:
        session.rollback()
        context = _context(session, cycle, found, c, item, was=str(form.get("was", "")))
        return page(request, "desk_item.html", with_problems(context, exc, form), status_code=422)
    if stale:
        session.rollback()
        return _changed_meanwhile(request, cycle)
    session.commit()
    return RedirectResponse(
        f"/desk/{cycle_id}/partnership?done={'item' if changes else 'nothing'}#{c.name}", status_code=303
    )


def _changed_meanwhile(request: Request, cycle: Cycle) -> Response:
    message = "The list changed since this page was opened, so nothing was saved: go back and try again."
    return page(
        request,
        "message.html",
        {"title": "That was not done", "message": message, "back": f"/desk/{cycle.id}/partnership"},
        409,
    )


@router.get("/desk/{cycle_id}/partnership/{name}/{item}/remove", response_class=HTMLResponse)
def remove_page(request: Request, cycle_id: CycleId, name: ListName, item: Name, session: DB) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    c = COLLECTIONS[name]
    items = c.items(file_data(session, partnership_of(session, cycle), cycle))
    at = _position(items, item)
    if at is None:
        return missing(request)
    shown = items[at].get("title") or items[at].get("label") or items[at].get("name") or items[at][c.key]
    context = base(
        session,
        cycle,
        found,
        f"Remove the {c.noun} {shown}?",
        what=[
            f"The {c.noun} leaves {cycle.title}: the agencies are asked without it when the cycle opens.",
            "Past cycles keep theirs as they were.",
        ],
        action=f"/desk/{cycle.id}/partnership/{c.name}/{item}/remove",
        button=f"Remove the {c.noun}",
        back=f"/desk/{cycle.id}/partnership#{c.name}",
        was=items[at][c.key],
    )
    return page(request, "desk_remove.html", context)


@router.post("/desk/{cycle_id}/partnership/{name}/{item}/remove", response_class=HTMLResponse)
async def remove_post(request: Request, cycle_id: CycleId, name: ListName, item: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _remove, cycle_id, name, item, form)


def _remove(request: Request, session: Session, cycle_id: int, name: str, item: str, form: Any) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so nothing was removed")
    c = COLLECTIONS[name]
    stale = False

    def change(data: dict[str, Any]) -> tuple[str | int, ...]:
        nonlocal stale
        items = c.items(data)
        at = _position(items, item)
        if at is None or str(items[at][c.key]) != str(form.get("was", "")):
            stale = True
        else:
            del items[at]
        return ()

    try:
        edit(session, cycle, change, at=now(request), actor=found.email or "manager", labels=_labels(c))
    except EditRefused as exc:
        session.rollback()
        back = f"/desk/{cycle_id}/partnership"
        return page(request, "message.html", {"title": "That was not done", "message": str(exc), "back": back}, 422)
    if stale:
        session.rollback()
        return _changed_meanwhile(request, cycle)
    session.commit()
    return RedirectResponse(f"/desk/{cycle_id}/partnership?done=removed#{c.name}", status_code=303)
