"""The framework's checklist on the desk: what the law asks the report to contain, and the evidence found so far
(tasks.desk.framework_checklist), with the statutory recipients and the reviews register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from portal.desk_partnership import WHO, allowed, base
from portal.web import RowId, db, now, page, refused
from tasks.desk.framework_checklist import checklist

router = APIRouter()
DB = Annotated[Session, Depends(db)]


@router.get("/desk/{cycle_id}/framework", response_class=HTMLResponse)
def framework_page(request: Request, cycle_id: RowId, session: DB) -> Response:
    found_cycle = allowed(request, session, cycle_id)
    if found_cycle is None:
        return refused(request, WHO)
    found, cycle = found_cycle
    context = base(
        session, cycle, found, "What the report must contain", found_list=checklist(session, cycle, at=now(request))
    )
    return page(request, "desk_framework.html", {**context, "caption": f"The framework: {cycle.title}"})
