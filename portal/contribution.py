"""The contribution as a task list: the summary, check your answers with the preview, submit, confirmation;
and the pictures a contribution holds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, col, select

from models.cycle import Contribution, ReviewDecision
from models.inbound import waiting_documents
from models.lifecycle import IllegalTransition
from models.portal import Image
from models.revisions import IncompleteContribution
from models.store import calendar_of
from portal.web import RowId, db, in_thread, page, refused, state, visitor
from portal.words import contribution_state
from portal.writing import (
    Writer,
    conflict_page,
    count_text,
    figures_status,
    form_version,
    gate,
    section_status,
    words_of,
    writer,
)
from tasks.contributions.content import markdown_to_html
from tasks.contributions.priorities import priority_coverage, searched_sections
from tasks.contributions.working_copy import Conflict, parse_figures, problems, submit
from tasks.mail.context import day_text
from tasks.ops.events import contribution_submitted

router = APIRouter()
DONE = {
    "saved": "Your text is saved.",
    "restored": "The text you typed before you were signed out is back in your contribution.",
    "extension": "Your request for more time has gone to the business manager, who will reply.",
    "handover": "Your colleague has been sent their own link; you were copied.",
    "signoff": "The sign-off is recorded.",
    "image": "The picture is saved and placed at the end of its section: move its line to where it belongs.",
    "word": "The document's text is saved as your draft. Check it, then submit when it is ready.",
}
DB = Annotated[Session, Depends(db)]
Small = Annotated[int, Query(ge=0, le=2**31 - 1)]
ImageName = Annotated[str, Path(pattern=r"^[0-9a-f]{64}\.(png|jpg)$")]


def _returned(session: Session, w: Writer) -> dict[str, Any] | None:
    """The Chair's latest return, its comments as paragraphs (as the Chair typed them, blank line apart)."""
    if w.contribution.status != "returned":
        return None
    decision = session.exec(
        select(ReviewDecision)
        .where(ReviewDecision.contribution_id == w.contribution.id, ReviewDecision.decision == "return")
        .order_by(col(ReviewDecision.decided_at).desc(), col(ReviewDecision.id).desc())
    ).first()
    if decision is None:
        return None
    section = w.section(decision.brief_section or "")
    paragraphs = [p.strip() for p in decision.comments.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return {"paragraphs": paragraphs, "section": section.title if section else None, "chair": w.chair.name}


def _tasks(w: Writer) -> list[dict[str, Any]]:
    """One row per section of the brief, then the key figures: the Design System's task list items."""
    base = f"/contribution/{w.contribution.id}"
    items = []
    for s in w.brief.sections:
        text = w.texts.get(s.key, "")
        status, colour = section_status(s, text)
        hint = count_text(words_of(text), s.word_limit) + ("" if s.required else " (optional)")
        items.append(_item(s.title, f"{base}/section/{s.key}", hint, status, colour))
    if w.brief.key_figures:
        status, colour = figures_status(w.brief, w.figures)
        items.append(_item("Key figures for the year", f"{base}/figures", "", status, colour))
    return items


def _item(title: str, href: str, hint: str, status: str, colour: str) -> dict[str, Any]:
    item: dict[str, Any] = {"title": {"text": title}, "href": href}
    if hint:
        item["hint"] = {"text": hint}
    # The Design System shows "Completed" as plain text and anything still to do as a tag.
    item["status"] = {"tag": {"text": status, "classes": colour}} if colour else {"text": status}
    return item


def _submit_task(w: Writer) -> dict[str, Any]:
    """The last row: always open (the preview is worth seeing early), saying whether a submission would go."""
    ready = not problems(w.brief, w.texts, w.figures)
    return {
        "title": {"text": "Check your answers and submit"},
        "href": f"/contribution/{w.contribution.id}/check",
        "hint": {"text": "See it as the report will show it, then send it to the Chair"},
        "status": {"tag": {"text": "Ready to submit", "classes": "govuk-tag--green"}}
        if ready
        else {"text": "Not ready yet", "classes": "govuk-task-list__status--cannot-start-yet"},
    }


@router.get("/contribution/{contribution_id}", response_class=HTMLResponse)
async def summary(request: Request, contribution_id: RowId, done: str = "") -> Response:
    # The page agencies open most: one hop to a worker thread for all of its work, where a session from a
    # dependency took three (opening it, the route, closing it).
    return await in_thread(request, _summary, contribution_id, done, reading=True)


def _summary(request: Request, session: Session, contribution_id: int, done: str) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    c = w.contribution
    calendar = calendar_of(w.partnership_row)
    overdue = calendar.at_local(c.due_date, c.cut_off) < w.at and c.status in ("requested", "returned")
    context = w.context(
        w.cycle.title,
        due=f"{c.cut_off:%H:%M} on {day_text(c.due_date)}",
        overdue=overdue,
        state_text=contribution_state(c.status, overdue=overdue),
        state_colour="govuk-tag--red" if overdue else "",
        signed_in=w.contact.name,
        returned=_returned(session, w),
        tasks=_tasks(w),
        submit_task=_submit_task(w),
        closed=w.closed,
        notice=DONE.get(done),
        notice_success=done in DONE,
        emailed=waiting_documents(session, c.id or 0) if w.emailed and not w.closed else [],
        zone=w.zone,
    )
    return page(request, "contribution.html", context)


@router.post("/contribution/{contribution_id}", response_class=HTMLResponse)
async def save_all(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _save_all, contribution_id, form)


def _save_all(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    """Save every section and figure the form carries over the working copy: the conflict page's
    "Keep my version", and any older page still open in a tab."""
    w = gate(request, session, contribution_id, form, ", so your text was not saved (go back and copy it first)")
    if not isinstance(w, Writer):
        return w
    texts = {k.removeprefix("section-"): str(v) for k, v in form.items() if k.startswith("section-")}
    figures = {k.removeprefix("figure-"): str(v) for k, v in form.items() if k.startswith("figure-")}
    _, wrong = parse_figures(w.brief, figures)
    if wrong:
        return page(request, "message.html", {"title": "Nothing was saved", "message": " ".join(wrong)}, 422)
    mine = {**w.texts, **texts}
    result = w.save(texts, figures, form_version(form))
    if isinstance(result, Conflict):
        session.rollback()
        return conflict_page(request, w, result, mine, figures)
    session.commit()
    return RedirectResponse(f"/contribution/{contribution_id}?done=saved", status_code=303)


def _check_context(w: Writer, errors: list[Any]) -> dict[str, Any]:
    base = f"/contribution/{w.contribution.id}"
    rows = []
    for s in w.brief.sections:
        text = w.texts.get(s.key, "")
        status, _ = section_status(s, text)
        value = count_text(words_of(text), s.word_limit) + ("" if status == "Completed" else f": {status.lower()}")
        rows.append(_row(s.title, value, f"{base}/section/{s.key}", s.title))
    figure_rows = []
    for f in w.brief.key_figures:
        given = w.figures.get(f.key, "").strip()
        value = f"{given} {f.unit}".strip() if given else ("Not given" + ("" if f.required else " (optional)"))
        figure_rows.append(_row(f.label, value, f"{base}/figures#figure-{f.key}", f.label))
    preview = [
        {"title": s.title, "html": Markup(markdown_to_html(w.texts.get(s.key, ""), shift_headings=1))}
        for s in w.brief.sections
    ]
    figures = [
        {"label": f.label, "value": f"{w.figures[f.key]} {f.unit}".strip()}
        for f in w.brief.key_figures
        if w.figures.get(f.key, "").strip()
    ]
    # Each priority covered or not: a warning to act on, never a refusal (see tasks.contributions.priorities).
    coverage = priority_coverage(w.brief, w.priorities, w.texts)
    where = next((s for s in w.brief.sections if s.per_priority), None)
    where_href = f"{base}/section/{where.key}" if where else f"{base}/section/{searched_sections(w.brief)[0]}"
    return w.context(
        "Check your answers before you submit",
        rows=rows,
        coverage=coverage,
        coverage_href=where_href,
        priorities_missing=[c.title for c in coverage if not c.covered],
        priorities_where=where.title if where else "",
        figure_rows=figure_rows,
        preview=preview,
        preview_figures=figures,
        errors=errors,
        wide=False,
    )


def _row(key: str, value: str, href: str, hidden: str) -> dict[str, Any]:
    return {
        "key": {"text": key},
        "value": {"text": value},
        "actions": {"items": [{"href": href, "text": "Change", "visuallyHiddenText": hidden}]},
    }


def _linked(w: Writer, found: list[str]) -> list[dict[str, str]]:
    """Each refusal linked to the page where it is put right: the section or key figure it names."""
    base = f"/contribution/{w.contribution.id}"
    linked = []
    for text in found:
        href = f"{base}/check"
        for s in w.brief.sections:
            if text.startswith(f"“{s.title}”"):
                href = f"{base}/section/{s.key}#section-{s.key}"
        for f in w.brief.key_figures:
            if text.startswith(f"“{f.label}”"):
                href = f"{base}/figures#figure-{f.key}"
        linked.append({"text": text, "href": href})
    return linked


@router.get("/contribution/{contribution_id}/check", response_class=HTMLResponse)
def check(request: Request, contribution_id: RowId, session: DB) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    if w.closed:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    return page(request, "contribution_check.html", _check_context(w, []))


@router.post("/contribution/{contribution_id}/submit", response_class=HTMLResponse)
async def submit_it(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _submit, contribution_id, form)


def _submit(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    w = gate(request, session, contribution_id, form)
    if not isinstance(w, Writer):
        return w
    found = problems(w.brief, w.texts, w.figures)
    if found:
        return page(request, "contribution_check.html", _check_context(w, _linked(w, found)), status_code=422)
    s = state(request).settings
    try:
        revision = submit(
            session,
            w.cycle,
            w.agency,
            w.contribution,
            w.texts,
            brief=w.brief,
            at=w.at,
            actor=w.contact.email,
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
            figures=w.figures,
        )
    except (IncompleteContribution, IllegalTransition) as exc:
        session.rollback()
        return page(request, "contribution_check.html", _check_context(w, [str(exc)]), status_code=422)
    session.commit()
    # After the commit, so the dispatch it wakes finds the receipt's row.
    contribution_submitted(
        contribution_id=contribution_id,
        cycle_id=w.cycle.id or 0,
        agency=w.agency.slug,
        revision=revision.number,
        at=w.at,
    )
    return RedirectResponse(f"/contribution/{contribution_id}/submitted?revision={revision.number}", status_code=303)


@router.get("/contribution/{contribution_id}/submitted", response_class=HTMLResponse)
def submitted(request: Request, contribution_id: RowId, session: DB, revision: Small = 0) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    number = w.contribution.current_revision  # the revision on record, whatever the address says
    if not number:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    return page(request, "contribution_submitted.html", w.context("Contribution submitted", revision=number))


@router.get("/images/{name}")
def picture(request: Request, session: DB, name: ImageName) -> Response:
    """A picture from the visitor's own contribution, or for the Chair and the business manager from any
    contribution in their cycle; anything else is not found."""
    found = visitor(request, session)
    query = select(Image).join(Contribution, col(Image.contribution_id) == col(Contribution.id))
    query = query.where(Image.sha256 == name.split(".")[0])
    if found is None:
        image = None
    elif found.role == "agency":
        image = session.exec(query.where(Image.contribution_id == found.contribution_id)).first()
    else:
        image = session.exec(query.where(Contribution.cycle_id == found.cycle_id)).first()
    if image is None or image.name != name:
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(
        image.data,
        media_type=image.media_type,
        headers={"Cache-Control": "private, max-age=86400", "Content-Disposition": "inline"},
    )
