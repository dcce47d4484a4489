"""A post that arrives after its session ended: the text is kept, and the page says how to get it back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.portal import KeptPost
from models.store import cycle_values
from portal.web import RowId, db, now, page, refused, visitor
from tasks.contributions.kept import expired_owner, keep

router = APIRouter()
DB = Annotated[Session, Depends(db)]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def refused_post(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    """What every agency form answers when its session is gone: the text kept if the form proves whose it is."""
    contribution = session.get(Contribution, contribution_id)
    owner = expired_owner(session, contribution_id, str(form.get("csrf", ""))) if contribution else None
    kept = keep(session, owner, contribution, form, at=now(request)) if owner and contribution else None
    session.commit()
    if _wants_json(request):  # the page's background autosave: the page itself says what to do
        return JSONResponse({"error": "signed_out", "kept": kept is not None}, status_code=403)
    if kept is None:
        return refused(request)
    return page(
        request,
        "kept.html",
        {"title": "You were signed out, but your text is kept", "kept_at": kept.kept_at},
        status_code=403,
    )


@router.get("/contribution/{contribution_id}/kept/{post_id}", response_class=HTMLResponse)
def kept_text(request: Request, contribution_id: RowId, post_id: RowId, session: DB) -> Response:
    """Kept text that was not put back because the contribution changed since: shown to copy from."""
    found = visitor(request, session)
    post = session.get(KeptPost, post_id)
    contribution = session.get(Contribution, contribution_id)
    if (
        found is None
        or found.contribution_id != contribution_id
        or post is None
        or contribution is None
        or post.contribution_id != contribution_id
        or post.contact_id != found.contact_id
    ):
        return refused(request)
    cycle = session.get(Cycle, contribution.cycle_id)
    assert cycle is not None
    brief = cycle_values(cycle)[0]
    sections = [{"title": s.title, "text": post.sections[s.key]} for s in brief.sections if post.sections.get(s.key)]
    figures = [
        {"key": {"text": f.label}, "value": {"text": post.figures[f.key]}}
        for f in brief.key_figures
        if post.figures.get(f.key)
    ]
    return page(
        request,
        "kept_text.html",
        {
            "title": "The text you typed before you were signed out",
            "sections": sections,
            "figures": figures,
            "kept_at": post.kept_at,
            "contribution_id": contribution_id,
        },
    )
