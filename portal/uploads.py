"""The upload pages reached from the summary: a Word document (read, shown for confirmation, then placed) and a
picture (checked, stored, and its line put at the end of the chosen section)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from models.inbound import EmailedDocument
from portal import word_upload
from portal.web import RowId, db, in_thread, page, refused
from portal.writing import Writer, conflict_page, form_version, gate, writer
from tasks.contributions.images import MAX_BYTES, ImageRefused, markdown_for, store_image
from tasks.contributions.word_import import WordRefused
from tasks.contributions.working_copy import Conflict

router = APIRouter()
DB = Annotated[Session, Depends(db)]


def _open(request: Request, session: Session, contribution_id: int) -> Writer | Response:
    w = writer(request, session, contribution_id)
    if w is None:
        return refused(request)
    if w.closed:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    return w


def _word_page(request: Request, w: Writer, error: str = "", status_code: int = 200) -> Response:
    errors = [{"text": error, "href": "#word-file"}] if error else []
    context = w.context("Upload a Word document", errors=errors, field_error=error, limit_mb=10)
    return page(request, "contribution_word.html", context, status_code=status_code)


@router.get("/contribution/{contribution_id}/word", response_class=HTMLResponse)
def word_page(request: Request, contribution_id: RowId, session: DB) -> Response:
    w = _open(request, session, contribution_id)
    return w if isinstance(w, Response) else _word_page(request, w)


@router.post("/contribution/{contribution_id}/word", response_class=HTMLResponse)
async def read_word(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _read_word, contribution_id, form)


def _read_word(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    """Read the document and show what it proposes: nothing changes until the agency confirms."""
    w = gate(request, session, contribution_id, form)
    if isinstance(w, Response):
        return w
    try:
        proposal = word_upload.propose(form, w.brief)
    except WordRefused as exc:
        return _word_page(request, w, str(exc), status_code=422)
    return _confirm_page(request, w, word_upload.previews(proposal, w.brief), [])


@router.get("/contribution/{contribution_id}/word/emailed/{document_id}", response_class=HTMLResponse)
def emailed_word(request: Request, contribution_id: RowId, document_id: RowId, session: DB) -> Response:
    """A document its sender emailed in, shown as an upload is: nothing changes until they confirm it."""
    w = _open(request, session, contribution_id)
    if isinstance(w, Response):
        return w
    document = session.get(EmailedDocument, document_id)
    if document is None or document.contribution_id != contribution_id or document.confirmed_at is not None:
        return RedirectResponse(f"/contribution/{contribution_id}", status_code=303)
    try:
        proposal = word_upload.propose_file(document.content, document.filename, w.brief)
    except WordRefused as exc:
        return _word_page(request, w, str(exc), status_code=422)
    return _confirm_page(request, w, {**word_upload.previews(proposal, w.brief), "emailed": document.id}, [])


def _confirm_page(
    request: Request, w: Writer, proposal: dict[str, Any], errors: list[Any], status_code: int = 200
) -> Response:
    context = w.context("Check the document's text", **proposal, errors=errors)
    return page(request, "word_confirm.html", context, status_code=status_code)


@router.post("/contribution/{contribution_id}/word/confirm", response_class=HTMLResponse)
async def confirm_word(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _confirm_word, contribution_id, form)


def _confirm_word(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    w = gate(request, session, contribution_id, form)
    if isinstance(w, Response):
        return w
    try:
        texts = word_upload.confirm(session, w.contribution, w.brief, form, w.texts, actor=w.contact.email, at=w.at)
    except ImageRefused as exc:
        session.rollback()
        shown = word_upload.previews(word_upload.from_form(form, w.brief), w.brief)
        return _confirm_page(request, w, shown, [str(exc)], status_code=422)
    result = w.save(texts, version=form_version(form))
    if isinstance(result, Conflict):
        session.rollback()
        return conflict_page(request, w, result, {**w.texts, **texts})
    emailed = session.get(EmailedDocument, int(str(form.get("emailed", "0")) or 0) or 0)
    if emailed is not None and emailed.contribution_id == contribution_id:
        emailed.confirmed_at = w.at  # the emailed proposal is used: no longer offered on the summary
    session.commit()
    return RedirectResponse(f"/contribution/{contribution_id}?done=word", status_code=303)


def _picture_page(
    request: Request, w: Writer, values: dict[str, str], errors: list[dict[str, str]], status_code: int = 200
) -> Response:
    by_field = {e["href"].lstrip("#"): e["text"] for e in errors}
    context = w.context(
        "Add a picture",
        values=values,
        errors=errors,
        field_errors=by_field,
        section_items=[
            {"value": s.key, "text": s.title, "selected": values.get("image-section") == s.key}
            for s in w.brief.sections
        ],
        limit_mb=MAX_BYTES // 1024 // 1024,
    )
    return page(request, "contribution_picture.html", context, status_code=status_code)


@router.get("/contribution/{contribution_id}/picture", response_class=HTMLResponse)
def picture_page(request: Request, contribution_id: RowId, session: DB) -> Response:
    w = _open(request, session, contribution_id)
    return w if isinstance(w, Response) else _picture_page(request, w, {}, [])


@router.post("/contribution/{contribution_id}/picture", response_class=HTMLResponse)
async def add_picture(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _add_picture, contribution_id, form)


def _add_picture(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    w = gate(request, session, contribution_id, form)
    if isinstance(w, Response):
        return w
    values = {"image-section": str(form.get("image-section", "")), "image-alt": str(form.get("image-alt", ""))}
    upload = form.get("image-file")
    section = w.section(values["image-section"])
    errors = []
    if section is None:
        errors.append({"text": "Choose the section the picture belongs in.", "href": "#image-section"})
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.append({"text": "Choose a picture to add (a PNG or JPEG file).", "href": "#image-file"})
    if errors or section is None or not isinstance(upload, UploadFile):
        return _picture_page(request, w, values, errors, status_code=422)
    alt = values["image-alt"]
    try:
        image = store_image(
            session,
            w.contribution,
            upload.file.read(MAX_BYTES + 1),
            alt=alt,
            filename=upload.filename or "",
            actor=w.contact.email,
            at=w.at,
        )
    except ImageRefused as exc:
        session.rollback()
        # a refused description is the description's fault; anything else is the file's
        field = "#image-alt" if "describ" in str(exc).lower() or "alternative" in str(exc).lower() else "#image-file"
        return _picture_page(request, w, values, [{"text": str(exc), "href": field}], status_code=422)
    before = w.texts.get(section.key, "").rstrip()
    text = (before + "\n\n" if before else "") + markdown_for(image, alt) + "\n"
    result = w.save({section.key: text}, version=form_version(form))
    if isinstance(result, Conflict):
        session.rollback()
        return conflict_page(request, w, result, {**w.texts, section.key: text})
    session.commit()
    return RedirectResponse(f"/contribution/{contribution_id}?done=image", status_code=303)
