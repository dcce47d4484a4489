"""One page per section of the brief, and the key figures' page: each saves only its own part."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.values import Brief, BriefSection
from portal.web import RowId, in_thread, page, refused
from portal.writing import Writer, conflict_page, count_text, form_version, gate, words_of, writer
from tasks.contributions.working_copy import Conflict, last_year, parse_figures, problems

router = APIRouter()
Key = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


def _section_page(
    request: Request, w: Writer, section: BriefSection, text: str, *, version: int, notice: str | None = None
) -> Response:
    # What would stop a submission is said on the field, once there is text (an empty page is not an error).
    found = problems(Brief(sections=(section,)), {section.key: text}) if text.strip() else []
    field = f"section-{section.key}"
    previous = last_year(w.session, w.cycle, w.agency).get(section.key, "")
    context = w.context(
        section.title,
        section=section,
        text=text,
        words=count_text(words_of(text), section.word_limit),
        priorities=w.priorities if section.per_priority else [],
        last_year=previous,
        version=version,
        field_error=" ".join(found),
        # read by portal.js: the live count, and its limit
        attrs={
            "data-count": f"count-{section.key}",
            **({"data-limit": str(section.word_limit)} if section.word_limit else {}),
        },
        errors=[{"text": e, "href": f"#{field}"} for e in found],
        notice=notice,
    )
    return page(request, "contribution_section.html", context)


@router.get("/contribution/{contribution_id}/section/{key}", response_class=HTMLResponse)
async def section_page(request: Request, contribution_id: RowId, key: Key, saved: int = 0) -> Response:
    return await in_thread(request, _show_section, contribution_id, key, saved, reading=True)


def _show_section(request: Request, session: Session, contribution_id: int, key: str, saved: int) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    section = w.section(key)
    if section is None:
        return page(request, "message.html", {"title": "Page not found", "message": "No such section."}, 404)
    if w.closed:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    notice = "Your text is saved." if saved else None
    return _section_page(request, w, section, w.texts.get(key, ""), version=w.version, notice=notice)


@router.post("/contribution/{contribution_id}/section/{key}", response_class=HTMLResponse)
async def save_section(request: Request, contribution_id: RowId, key: Key) -> Response:
    form = await request.form()
    return await in_thread(request, _save_section, contribution_id, key, form)


def _save_section(request: Request, session: Session, contribution_id: int, key: str, form: Any) -> Response:
    w = gate(request, session, contribution_id, form, ", so your text was not saved (go back and copy it first)")
    if not isinstance(w, Writer):
        return w
    section = w.section(key)
    if section is None:
        return page(request, "message.html", {"title": "Page not found", "message": "No such section."}, 404)
    text = str(form.get(f"section-{key}", ""))
    version = form_version(form)
    if form.get("action") == "last-year":
        # Nothing is saved yet, and nothing typed is dropped: last year's text goes after it.
        previous = last_year(session, w.cycle, w.agency).get(key, "")
        filled = f"{text.rstrip()}\n\n{previous}" if text.strip() else previous
        notice = "Last year's text is in the box. Change it, then save: nothing is saved yet."
        return _section_page(request, w, section, filled, version=version, notice=notice)
    mine = {**w.texts, key: text}
    result = w.save({key: text}, version=version)
    if isinstance(result, Conflict) and result.theirs.sections.get(key, "") != text:
        session.rollback()
        return conflict_page(request, w, result, mine)
    # (a "conflict" with this very text is this page's own autosave arriving first: nothing is lost)
    session.commit()
    if form.get("action") == "stay":
        return RedirectResponse(f"/contribution/{contribution_id}/section/{key}?saved=1", status_code=303)
    return RedirectResponse(f"/contribution/{contribution_id}?done=saved", status_code=303)


def _figures_page(
    request: Request, w: Writer, values: dict[str, str], wrong: list[str], version: int, status_code: int = 200
) -> Response:
    errors = []
    fields = []
    for f in w.brief.key_figures:
        said = [e for e in wrong if e.startswith(f"“{f.label}”")]
        errors += [{"text": e, "href": f"#figure-{f.key}"} for e in said]
        fields.append({"figure": f, "value": values.get(f.key, ""), "error": " ".join(said)})
    context = w.context("Key figures for the year", fields=fields, errors=errors, version=version)
    return page(request, "contribution_figures.html", context, status_code=status_code)


@router.get("/contribution/{contribution_id}/figures", response_class=HTMLResponse)
async def figures_page(request: Request, contribution_id: RowId) -> Response:
    return await in_thread(request, _show_figures, contribution_id, reading=True)


def _show_figures(request: Request, session: Session, contribution_id: int) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    if w.closed or not w.brief.key_figures:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    return _figures_page(request, w, w.figures, [], w.version)


@router.post("/contribution/{contribution_id}/figures", response_class=HTMLResponse)
async def save_figures(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _save_figures, contribution_id, form)


def _save_figures(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    w = gate(request, session, contribution_id, form, ", so your figures were not saved (go back and copy them first)")
    if not isinstance(w, Writer):
        return w
    figures = {f.key: str(form.get(f"figure-{f.key}", "")) for f in w.brief.key_figures}
    version = form_version(form)
    _, wrong = parse_figures(w.brief, figures)
    if wrong:
        # Nothing saved: the figures come back as typed, each with what to put right.
        return _figures_page(request, w, figures, wrong, version, status_code=422)
    result = w.save(figures=figures, version=version)
    if isinstance(result, Conflict):
        session.rollback()
        return conflict_page(request, w, result, w.texts, figures)
    session.commit()
    return RedirectResponse(f"/contribution/{contribution_id}?done=saved", status_code=303)
