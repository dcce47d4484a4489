"""The contribution page: the brief, the text by section, save, preview, submit, pictures and Word."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from models.cycle import Contribution, Cycle, ReviewDecision
from models.lifecycle import IllegalTransition
from models.partnership import Agency, Contact
from models.portal import Image, PortalSession
from models.revisions import IncompleteContribution
from models.store import calendar_of, cycle_values, partnership_of
from portal import word_upload
from portal.kept import refused_post
from portal.web import RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, state, visitor
from tasks.contributions.content import markdown_to_html, word_count
from tasks.contributions.images import MAX_BYTES, ImageRefused, markdown_for, store_image
from tasks.contributions.word_import import WordRefused
from tasks.contributions.working_copy import Conflict, last_year, parse_figures, problems, save, submit, working_copy
from tasks.mail.context import day_text
from tasks.ops.events import contribution_submitted

router = APIRouter()
CLOSED = ("approved", "excused")  # nothing more to write
DONE = {
    "extension": "Your request for more time has gone to the business manager, who will reply.",
    "handover": "Your colleague has been sent their own link; you were copied.",
    "signoff": "The sign-off is recorded.",
    "image": "The picture is saved and placed at the end of its section: move its line to where it belongs.",
    "word": "The document's text is saved as your draft. Check it, then submit when it is ready.",
}
DB = Annotated[Session, Depends(db)]
# Ids in paths are database integers: anything else is a bad request, not a server error.
Small = Annotated[int, Query(ge=0, le=2**31 - 1)]
ImageName = Annotated[str, Path(pattern=r"^[0-9a-f]{64}\.(png|jpg)$")]


def agency_session(request: Request, session: Session, contribution_id: int) -> PortalSession | None:
    found = visitor(request, session)
    return found if found is not None and found.contribution_id == contribution_id else None


def page_context(
    session: Session,
    contribution: Contribution,
    portal_session: PortalSession,
    at: Any,
    texts: dict[str, str] | None = None,
    figures: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    cycle = session.get(Cycle, contribution.cycle_id)
    agency = session.get(Agency, contribution.agency_id)
    contact = session.get(Contact, portal_session.contact_id)
    assert cycle is not None and agency is not None and contact is not None
    brief, priorities, _, _, chair = cycle_values(cycle)
    copy = working_copy(session, contribution)
    texts = texts if texts is not None else (copy.sections if copy else {})
    figures = figures if figures is not None else (copy.figures if copy else {})
    calendar = calendar_of(partnership_of(session, cycle))
    previous = last_year(session, cycle, agency)
    sections = [
        {
            "key": s.key,
            "title": s.title,
            "guidance": s.guidance,
            "word_limit": s.word_limit,
            "required": s.required,
            "per_priority": s.per_priority,
            "text": texts.get(s.key, ""),
            "last_year": previous.get(s.key, ""),
            "words": word_count(markdown_to_html(texts.get(s.key, ""))),
        }
        for s in brief.sections
    ]
    returned = None
    if contribution.status == "returned":
        decision = session.exec(
            select(ReviewDecision)
            .where(ReviewDecision.contribution_id == contribution.id, ReviewDecision.decision == "return")
            .order_by(col(ReviewDecision.decided_at).desc(), col(ReviewDecision.id).desc())
        ).first()
        if decision is not None:
            pointed = next((s.title for s in brief.sections if s.key == decision.brief_section), None)
            returned = {"comments": decision.comments, "section": pointed, "chair": chair.name}
    return {
        "title": f"{agency.name}: {cycle.title}",
        "returned": returned,
        "cycle": cycle,
        "agency": agency,
        "contact": contact,
        "contribution": contribution,
        "deadline": f"{contribution.cut_off:%H:%M} on {day_text(contribution.due_date)}",
        "overdue": calendar.at_local(contribution.due_date, contribution.cut_off) < at,
        "priorities": priorities,
        "sections": sections,
        "has_last_year": bool(previous),
        "figures": [
            {"key": f.key, "label": f.label, "unit": f.unit, "required": f.required, "value": figures.get(f.key, "")}
            for f in brief.key_figures
        ],
        "version": copy.version if copy else 0,
        "csrf": portal_session.csrf_token,
        "closed": contribution.status in CLOSED,
        "errors": [],
        "kept": True,  # whether the text shown with errors was saved
        "image_limit_mb": MAX_BYTES // 1024 // 1024,
        "notice": None,
        "preview": None,
        **extra,
    }


def _not_saved(
    request: Request,
    session: Session,
    contribution: Contribution,
    portal_session: PortalSession,
    at: Any,
    texts: dict[str, str],
    figures: dict[str, str],
    version: int,
    errors: list[str],
    status_code: int = 422,
) -> Response:
    """The page as it was sent, with what to fix: nothing was saved, nothing is lost."""
    context = page_context(
        session, contribution, portal_session, at, texts, figures, errors=errors, version=version, kept=False
    )
    return page(request, "contribution.html", context, status_code=status_code)


@router.get("/contribution/{contribution_id}", response_class=HTMLResponse)
def contribution_page(
    request: Request, contribution_id: RowId, session: DB, saved: Small = 0, submitted: Small = 0, done: str = ""
) -> Response:
    portal_session = agency_session(request, session, contribution_id)
    contribution = session.get(Contribution, contribution_id)
    if portal_session is None or contribution is None:
        return refused(request)
    if saved:
        notice: str | None = "Your text is saved."
    elif submitted:
        notice = f"Submitted as revision {submitted}. A receipt is on its way."
    else:
        notice = DONE.get(done)
    return page(
        request, "contribution.html", page_context(session, contribution, portal_session, now(request), notice=notice)
    )


def conflict_page(
    request: Request,
    contribution: Contribution,
    portal_session: PortalSession,
    brief: Any,
    result: Conflict,
    texts: dict[str, str],
    figures: dict[str, str],
) -> Response:
    """Two tabs saved the same contribution: both versions side by side, and the person chooses."""
    theirs = [
        {"title": s.title, "key": s.key, "mine": texts.get(s.key, ""), "theirs": result.theirs.sections.get(s.key, "")}
        for s in brief.sections
    ]
    return page(
        request,
        "conflict.html",
        {
            "title": "Someone else saved this contribution",
            "sections": theirs,
            "version": result.theirs.version,
            "csrf": portal_session.csrf_token,
            "contribution": contribution,
            "updated_by": result.theirs.updated_by,
            "figures": figures,
        },
        status_code=409,
    )


def typed(form: Any) -> tuple[dict[str, str], dict[str, str]] | None:
    """The section texts and key figures a form carries, or None when it carries none."""
    texts = _texts(form)
    return (texts, _figures(form)) if texts else None


def _figures(form: Any) -> dict[str, str]:
    return {k.removeprefix("figure-"): str(v) for k, v in form.items() if k.startswith("figure-")}


def _texts(form: Any) -> dict[str, str]:
    return {k.removeprefix("section-"): str(v) for k, v in form.items() if k.startswith("section-")}


@router.post("/contribution/{contribution_id}", response_class=HTMLResponse)
async def contribution_action(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _contribution_action, contribution_id, form)


def _contribution_action(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    """Save, preview or submit: one form, the button pressed says which."""
    portal_session = agency_session(request, session, contribution_id)
    contribution = session.get(Contribution, contribution_id)
    if portal_session is None or contribution is None:
        return refused_post(request, session, contribution_id, form)
    if contribution.status in CLOSED:
        return page(
            request,
            "message.html",
            {
                "title": "This contribution is closed",
                "message": f"It is {contribution.status}: nothing more can be saved or submitted.",
            },
            status_code=409,
        )
    if not csrf_ok(portal_session, str(form.get("csrf", ""))):
        return expired_form(request, ", so your text was not saved (go back and copy it first)")
    texts, figures = _texts(form), _figures(form)
    action = str(form.get("action", "save"))
    at = now(request)
    cycle = session.get(Cycle, contribution.cycle_id)
    agency = session.get(Agency, contribution.agency_id)
    contact = session.get(Contact, portal_session.contact_id)
    assert cycle is not None and agency is not None and contact is not None
    brief = cycle_values(cycle)[0]
    try:
        version = int(str(form.get("version", "0")))
    except ValueError:
        version = -1
    if action == "last-year":
        previous = last_year(session, cycle, agency)
        filled = {key: texts.get(key, "").strip() or previous.get(key, "") for key in {*texts, *previous}}
        return page(
            request,
            "contribution.html",
            page_context(
                session,
                contribution,
                portal_session,
                at,
                filled,
                figures,
                version=version,
                notice="Last year's text is in the empty fields. Change it, then save: nothing is saved yet.",
            ),
        )
    if action == "preview":
        preview = [
            {"title": s.title, "html": Markup(markdown_to_html(texts.get(s.key, ""), shift_headings=1))}
            for s in brief.sections
        ]
        return page(
            request,
            "contribution.html",
            page_context(session, contribution, portal_session, at, texts, figures, preview=preview, version=version),
        )
    _, wrong = parse_figures(brief, figures)
    if wrong:
        return _not_saved(request, session, contribution, portal_session, at, texts, figures, version, wrong)
    if action == "word":
        return _word(request, session, contribution, portal_session, texts, figures, form, version, at, contact.email)
    if action == "word-confirm":
        try:
            texts = word_upload.confirm(session, contribution, brief, form, actor=contact.email, at=at)
        except ImageRefused as exc:
            session.rollback()
            context = word_upload.previews(word_upload.from_form(form, brief))
            return page(
                request,
                "word_confirm.html",
                {
                    **context,
                    "title": "Check the document's text",
                    "contribution": contribution,
                    "csrf": portal_session.csrf_token,
                    "version": version,
                    "errors": [str(exc)],
                    "notes": [],
                    "missing": [],
                    "brief_sections": [(b.key, b.title) for b in brief.sections],
                },
                status_code=422,
            )
    if action == "add-image":
        try:
            texts = _with_image(session, contribution, brief.sections, texts, form, actor=contact.email, at=at)
        except ImageRefused as exc:
            session.rollback()
            return _not_saved(request, session, contribution, portal_session, at, texts, figures, version, [str(exc)])
    result = save(
        session, contribution, texts, brief=brief, expected_version=version, at=at, actor=contact.email, figures=figures
    )
    if isinstance(result, Conflict):
        session.rollback()
        return conflict_page(request, contribution, portal_session, brief, result, texts, figures)
    if action in ("add-image", "word-confirm"):
        session.commit()
        done = "image" if action == "add-image" else "word"
        return RedirectResponse(f"/contribution/{contribution_id}?done={done}", status_code=303)
    if action != "submit":
        session.commit()
        return RedirectResponse(f"/contribution/{contribution_id}?saved=1", status_code=303)
    found = problems(brief, texts, figures)
    if found:
        session.commit()  # the text is kept; only the submission is refused
        return page(
            request,
            "contribution.html",
            page_context(session, contribution, portal_session, at, texts, figures, errors=found),
            status_code=422,
        )
    s = state(request).settings
    try:
        revision = submit(
            session,
            cycle,
            agency,
            contribution,
            texts,
            brief=brief,
            at=at,
            actor=contact.email,
            base_url=s.public_base_url,
            templates_dir=s.templates_dir,
            figures=figures,
        )
    except (IncompleteContribution, IllegalTransition) as exc:
        session.commit()
        return page(
            request,
            "contribution.html",
            page_context(session, contribution, portal_session, at, texts, errors=[str(exc)]),
            status_code=422,
        )
    session.commit()
    # After the commit, so the dispatch it wakes finds the receipt's row.
    contribution_submitted(
        contribution_id=contribution_id, cycle_id=cycle.id or 0, agency=agency.slug, revision=revision.number, at=at
    )
    return RedirectResponse(f"/contribution/{contribution_id}?submitted={revision.number}", status_code=303)


def _with_image(
    session: Session,
    contribution: Contribution,
    sections: Any,
    texts: dict[str, str],
    form: Any,
    *,
    actor: str,
    at: Any,
) -> dict[str, str]:
    """Keep the uploaded picture and put its line at the end of the chosen section."""
    upload = form.get("image-file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ImageRefused("Choose a picture to add (a PNG or JPEG file).")
    key = str(form.get("image-section", ""))
    section = next((s for s in sections if s.key == key), None)
    if section is None:
        raise ImageRefused("Choose the section the picture belongs in.")
    data = upload.file.read(MAX_BYTES + 1)
    alt = str(form.get("image-alt", ""))
    image = store_image(session, contribution, data, alt=alt, filename=upload.filename, actor=actor, at=at)
    before = texts.get(key, "").rstrip()
    return {**texts, key: (before + "\n\n" if before else "") + markdown_for(image, alt) + "\n"}


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


def _word(
    request: Request,
    session: Session,
    contribution: Contribution,
    portal_session: PortalSession,
    texts: dict[str, str],
    figures: dict[str, str],
    form: Any,
    version: int,
    at: Any,
    actor: str,
) -> Response:
    """Read the uploaded document and show what it proposes; the text on the page is saved first."""
    cycle = session.get(Cycle, contribution.cycle_id)
    assert cycle is not None
    brief = cycle_values(cycle)[0]
    try:
        proposal = word_upload.propose(form, brief, texts)
    except WordRefused as exc:
        return _not_saved(request, session, contribution, portal_session, at, texts, figures, version, [str(exc)])
    saved = save(
        session, contribution, texts, brief=brief, expected_version=version, at=at, actor=actor, figures=figures
    )
    if isinstance(saved, Conflict):
        session.rollback()
        clash = "Someone saved this contribution since you opened it: save your text first, then upload it again."
        return _not_saved(
            request, session, contribution, portal_session, at, texts, figures, version, [clash], status_code=409
        )
    session.commit()
    return page(
        request,
        "word_confirm.html",
        {
            **word_upload.previews(proposal),
            "title": "Check the document's text",
            "contribution": contribution,
            "csrf": portal_session.csrf_token,
            "version": saved.version,
            "errors": [],
            "brief_sections": [(b.key, b.title) for b in brief.sections],
        },
    )
