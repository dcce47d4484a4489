"""An agency's correspondence on the desk: every email sent to it about its contribution, and every message read
from the monitored mailbox about it, newest first (issue 17)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.inbound import InboundMessage
from models.outbox import OutboundEmail
from models.partnership import Agency
from models.store import contribution_for, partnership_of
from portal.desk_timeline import EMAIL_WORDS
from portal.web import Name, RowId, db, page, refused, staff

router = APIRouter()
DB = Annotated[Session, Depends(db)]
WHO = "the business manager"
OUTCOMES = {"applied": "Acted on", "needs_person": "Left for a person", "ignored": "Nothing to do"}
STATUSES = {"queued": "Waiting to go", "sending": "Sending", "sent": "Sent", "failed": "Not delivered"}


@router.get("/desk/{cycle_id}/agency/{slug}/mail", response_class=HTMLResponse)
def correspondence(request: Request, cycle_id: RowId, slug: Name, session: DB) -> Response:
    found = staff(request, session, cycle_id, "manager")
    cycle = session.get(Cycle, cycle_id) if found else None
    if cycle is None:
        return refused(request, WHO)
    agency = session.exec(
        select(Agency).where(Agency.partnership_id == cycle.partnership_id, Agency.slug == slug)
    ).first()
    if agency is None:
        return page(request, "message.html", {"title": "Not found", "message": "There is no such agency."}, 404)
    contribution = contribution_for(session, cycle, agency)
    sent = session.exec(
        select(OutboundEmail)
        .where(OutboundEmail.contribution_id == contribution.id)
        .order_by(col(OutboundEmail.created_at).desc(), col(OutboundEmail.id).desc())
    ).all()
    read = session.exec(
        select(InboundMessage)
        .where(InboundMessage.contribution_id == contribution.id)
        .order_by(col(InboundMessage.received_at).desc(), col(InboundMessage.id).desc())
    ).all()
    return page(
        request,
        "desk_mail.html",
        {
            "title": f"{agency.name}: emails in and out",
            "caption": cycle.title,
            "partnership": partnership_of(session, cycle).name,
            "zone": partnership_of(session, cycle).timezone,
            "cycle": cycle,
            "agency": agency,
            "out_rows": [
                [
                    {"text": e.created_at},
                    {"text": EMAIL_WORDS.get(e.kind, e.kind.replace("_", " ").capitalize())},
                    {"text": ", ".join(e.to_addrs) + (f" (copy to {', '.join(e.cc_addrs)})" if e.cc_addrs else "")},
                    {"text": STATUSES.get(e.status, e.status.capitalize()) + _bounced(e)},
                ]
                for e in sent
            ],
            "in_rows": [
                [
                    {"text": m.received_at},
                    {"text": m.from_addr},
                    {"text": m.subject},
                    {"text": f"{OUTCOMES.get(m.outcome, m.outcome)}: {m.why}"},
                    {"text": m.text[:500]},
                ]
                for m in read
            ],
        },
    )


def _bounced(email: OutboundEmail) -> str:
    refused = [a for a, d in email.deliveries.items() if d.get("state") == "failed"]
    return f" (refused for {', '.join(refused)})" if refused else ""
