"""What will happen: the business manager's view of every email the ladder sends if nobody answers.

Reached from the desk (/desk/{cycle}/plan) with the business manager's session for the cycle. The page only
reads: the forecast comes from tasks.asking.forecast, which replays the chase itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from models.cycle import Cycle
from models.store import calendar_of, partnership_of
from portal.web import RowId, db, now, page, refused, staff
from tasks.asking.forecast import Forecast, forecast
from tasks.asking.forecast_calendar import WEEKDAYS, forecast_months
from tasks.mail.context import day_text

router = APIRouter()
DB = Annotated[Session, Depends(db)]
STATES = {"to come": "To come", "sent": "Sent", "queued": "Waiting to go", "held": "Held for you"}


def _email_rows(plan: Forecast) -> list[list[dict[str, str]]]:
    rows = []
    for e in plan.emails:
        to = ", ".join(e.to) + (f" (copy to {', '.join(e.cc)})" if e.cc else "")
        state = STATES.get(e.state, e.state.capitalize())
        rows.append(
            [
                {"text": f"{day_text(e.on)}, {e.at:%H:%M}"},
                {"text": e.agency},
                {"text": e.kind_text},
                {"text": to},
                {"text": state + (f": {e.note}" if e.note else "")},
            ]
        )
    return rows


def plan_context(plan: Forecast) -> dict[str, Any]:
    return {
        "email_rows": _email_rows(plan),
        "to_come": sum(1 for e in plan.emails if e.state == "to come"),
        "stage_rows": [
            {"key": {"text": s.name}, "value": {"text": day_text(s.on) + (f" ({s.note})" if s.note else "")}}
            for s in plan.stages
        ],
        "day_rows": [
            [
                {"text": day_text(d.on)},
                {"text": d.name},
                {"text": ", ".join(d.stepped) if d.stepped else "Nothing falls on it"},
            ]
            for d in plan.days_off
        ],
    }


@router.get("/desk/{cycle_id}/plan", response_class=HTMLResponse)
def desk_plan(request: Request, cycle_id: RowId, session: DB) -> Response:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    if found is None or cycle is None:
        return refused(request, "the business manager's desk")
    return plan_page(request, session, cycle, back=f"/desk/{cycle.id}", back_text="Back to the desk")


def plan_page(request: Request, session: Session, cycle: Cycle, *, back: str, back_text: str = "Back") -> Response:
    """The forecast of `cycle` as a calendar and a table; `back` is the desk page it was reached from."""
    plan = forecast(session, cycle, at=now(request))
    partnership = partnership_of(session, cycle)
    context = {
        "title": "What will happen",
        "caption": cycle.title,
        "partnership": partnership.name,
        "wide": True,
        "cycle": cycle,
        "back": back,
        "back_text": back_text,
        "plan": plan,
        "months": forecast_months(plan, calendar_of(partnership)),
        "weekdays": WEEKDAYS,
        **plan_context(plan),
    }
    return page(request, "desk_plan.html", context)
