"""Autosave: a section page's script posts the section a moment after typing stops; it lands in the working copy
like a save, and the page learns the new version so its own Save does not clash with itself."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from portal.kept import refused_post
from portal.web import RowId, csrf_ok, in_thread
from portal.writing import form_version, words_of, writer
from tasks.contributions.working_copy import Conflict

router = APIRouter()


@router.post("/contribution/{contribution_id}/draft")
async def draft(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(request, _draft, contribution_id, form)


def _draft(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    w = writer(request, session, contribution_id)
    if w is None:
        # signed out since the page was shown: the text is kept for after sign-in (JSON, as the script asks)
        return refused_post(request, session, contribution_id, form)
    if not csrf_ok(w.portal_session, str(form.get("csrf", ""))):
        return JSONResponse({"error": "Your draft was not saved: reload the page, then try again."}, status_code=403)
    if w.closed:
        return JSONResponse({"error": "This contribution is closed."}, status_code=409)
    fields = [(k.removeprefix("section-"), str(v)) for k, v in form.items() if k.startswith("section-")]
    if len(fields) != 1 or w.section(fields[0][0]) is None:
        return JSONResponse({"error": "A draft is one section of the brief."}, status_code=400)
    key, text = fields[0]
    result = w.save({key: text}, version=form_version(form))
    if isinstance(result, Conflict):
        session.rollback()
        return JSONResponse(
            {"error": "Someone else saved this contribution: press Save to compare.", "version": result.theirs.version},
            status_code=409,
        )
    session.commit()
    at = w.at if w.at.tzinfo is not None else w.at.replace(tzinfo=dt.UTC)
    saved_at = at.astimezone(ZoneInfo(w.zone))  # the time as the person's clock shows it
    return JSONResponse({"version": result.version, "words": words_of(text), "saved_at": f"{saved_at:%H:%M}"})
