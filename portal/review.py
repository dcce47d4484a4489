"""The Chair's review: the draft item by item, what changed since the Chair last read it, approve or return.

A decision is a row (tasks.review.review.record_decision); the page then applies pending decisions with the
same function the review flow runs, so the agency hears at once and nothing waits on a person.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, col, select

from models.cycle import Contribution, Cycle, ReviewDecision, Revision
from models.lifecycle import CentralState, ContributionState
from models.partnership import Agency
from models.report import CentralSection
from models.store import NotFound, central_sections, contributions, cycle_values, partnership_of
from models.values import Brief
from portal.desk_timeline import CENTRAL_TAGS, CENTRAL_WORDS
from portal.web import Name, RowId, csrf_ok, db, expired_form, in_thread, now, page, refused, staff, state
from portal.words import TAG_COLOURS, contribution_state
from tasks.contributions.content import markdown_to_html, sanitise
from tasks.contributions.priorities import priority_coverage
from tasks.report.collate import latest_draft
from tasks.review.diff import section_diff
from tasks.review.review import ReviewError, apply_decisions, record_decision

router = APIRouter()
DB = Annotated[Session, Depends(db)]


def _last_reviewed(session: Session, contribution: Contribution) -> Revision | None:
    """The revision the Chair last decided on (approved or returned), if any."""
    decision = session.exec(
        select(ReviewDecision)
        .where(ReviewDecision.contribution_id == contribution.id, col(ReviewDecision.revision_id).is_not(None))
        .order_by(col(ReviewDecision.decided_at).desc(), col(ReviewDecision.id).desc())
    ).first()
    return session.get(Revision, decision.revision_id) if decision else None


def _current(session: Session, contribution: Contribution) -> Revision | None:
    return session.exec(
        select(Revision).where(
            Revision.contribution_id == contribution.id, Revision.number == contribution.current_revision
        )
    ).first()


@router.get("/review/{cycle_id}", response_class=HTMLResponse)
def overview(request: Request, cycle_id: RowId, session: DB, done: str = "") -> Response:
    if staff(request, session, cycle_id, "chair") is None:
        return refused(request, "the Chair's review")
    cycle = session.get(Cycle, cycle_id)
    assert cycle is not None
    items = []
    for c, agency in contributions(session, cycle):
        last = _last_reviewed(session, c)
        items.append(
            {
                "name": agency.slug,
                "title": agency.name,
                "status": str(c.status),
                "state_text": contribution_state(c.status, staff=True),
                "tag": TAG_COLOURS.get(c.status, ""),
                "revision": c.current_revision,
                "to_decide": c.status == ContributionState.submitted,
                "changed": bool(last and last.number != c.current_revision),
            }
        )
    central = [
        {
            "name": s.key,
            "title": s.title,
            "status": str(s.status),
            "state_text": CENTRAL_WORDS.get(s.status, str(s.status)),
            "tag": CENTRAL_TAGS.get(s.status, ""),
            "to_decide": s.status == CentralState.draft and bool(s.body_md.strip()),
        }
        for s in central_sections(session, cycle)
    ]
    draft = latest_draft(session, cycle)
    notices = {
        "approve": "Approved.",
        "return": "Returned with your comments; the agency has a new deadline and has been told.",
        "stale": "The text changed while you were reading it: your decision was not applied. Read it again.",
    }
    return page(
        request,
        "review.html",
        {
            "title": f"Review: {cycle.title}",
            "caption": "The Independent Chair's review",
            "wide": True,
            "partnership": partnership_of(session, cycle).name,
            "zone": partnership_of(session, cycle).timezone,
            "cycle": cycle,
            "items": items,
            "central": central,
            "draft": draft,
            "waiting": sum(1 for i in [*items, *central] if i["to_decide"]),
            "notice": notices.get(done),
            "notice_success": done in ("approve", "return"),
        },
    )


def paragraphs(text: str) -> list[str]:
    """A comment as its writer set it out: paragraphs where they left a blank line, none empty."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]


def _number(value: float) -> str:
    """120.0 as "120", 1250 as "1,250", 2.5 as "2.5": the figure as the agency typed it, with thousands marked."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _figures(brief: Brief, current: Revision | None) -> list[dict[str, str]]:
    """The key figures the brief asks for, with what the agency entered in the revision the Chair reads."""
    entered = current.figures if current else {}
    return [
        {
            "label": f.label,
            "value": f"{_number(entered[f.key])}{' ' + f.unit if f.unit else ''}" if f.key in entered else "",
        }
        for f in brief.key_figures
    ]


def _earlier_comments(session: Session, **subject: int | None) -> list[dict[str, Any]]:
    """The Chair's earlier returns with comments, newest first, each kept in its paragraphs."""
    where = [getattr(ReviewDecision, k) == v for k, v in subject.items()]
    rows = session.exec(
        select(ReviewDecision)
        .where(*where, ReviewDecision.comments != "")
        .order_by(col(ReviewDecision.decided_at).desc(), col(ReviewDecision.id).desc())
    ).all()
    return [
        {"at": r.decided_at, "decision": r.decision, "about": r.brief_section, "paragraphs": paragraphs(r.comments)}
        for r in rows
    ]


def _item(session: Session, cycle: Cycle, name: str) -> dict[str, Any]:
    """What the Chair reads for one agency or central section, with the change since the last review."""
    brief, priorities, _, _, _ = cycle_values(cycle)
    agency = session.exec(
        select(Agency).where(Agency.partnership_id == cycle.partnership_id, Agency.slug == name)
    ).first()
    if agency is not None:
        c = session.exec(
            select(Contribution).where(Contribution.cycle_id == cycle.id, Contribution.agency_id == agency.id)
        ).one()
        current, last = _current(session, c), _last_reviewed(session, c)
        sections = []
        for s in brief.sections:
            now_html = sanitise(current.sections.get(s.key, "")) if current else ""
            change = None
            if last is not None and current is not None and last.number != current.number:
                change = section_diff(last.sections.get(s.key, ""), now_html)
            sections.append({"key": s.key, "title": s.title, "html": Markup(now_html), "change": change})
        titles = {s.key: s.title for s in brief.sections}
        earlier = _earlier_comments(session, contribution_id=c.id)
        for e in earlier:
            e["about"] = titles.get(e["about"] or "", "")
        return {
            "kind": "contribution",
            "title": agency.name,
            "status": str(c.status),
            "state_text": contribution_state(c.status, staff=True),
            "tag": TAG_COLOURS.get(c.status, ""),
            "revision": c.current_revision,
            "last_reviewed": last.number if last else None,
            "sections": sections,
            "figures": _figures(brief, current),
            # The revision's text is sanitised HTML: the same rule as the agency's own check page.
            "coverage": priority_coverage(brief, priorities, current.sections, is_html=True) if current else [],
            "earlier": earlier,
            "signed_off": (c.signed_off_by, c.signed_off_role) if c.signed_off_by else None,
            "to_decide": c.status == ContributionState.submitted,
            "brief_sections": [(s.key, s.title) for s in brief.sections],
        }
    central = session.exec(
        select(CentralSection).where(CentralSection.cycle_id == cycle.id, CentralSection.key == name)
    ).first()
    if central is None:
        raise NotFound(name)
    return {
        "kind": "central",
        "title": central.title,
        "status": str(central.status),
        "state_text": CENTRAL_WORDS.get(central.status, str(central.status)),
        "tag": CENTRAL_TAGS.get(central.status, ""),
        "revision": None,
        "last_reviewed": None,
        "sections": [
            {"key": central.key, "title": "", "html": Markup(markdown_to_html(central.body_md)), "change": None}
        ],
        "figures": [],
        "coverage": [],
        "earlier": _earlier_comments(session, central_section_id=central.id),
        "signed_off": None,
        "to_decide": central.status == CentralState.draft and bool(central.body_md.strip()),
        "brief_sections": [],
    }


def _item_page(
    request: Request,
    session: Session,
    cycle: Cycle,
    name: str,
    csrf: str,
    errors: list[dict[str, str]] | None = None,
    sent: dict[str, str] | None = None,
) -> Response:
    """One part for the Chair to read, with the decision form; the form as sent when it was refused."""
    try:
        item = _item(session, cycle, name)
    except NotFound:
        return page(request, "message.html", {"title": "Not found", "message": "There is no such part."}, 404)
    partnership = partnership_of(session, cycle)
    context = {
        "title": item["title"],
        "caption": f"Review: {cycle.title}",
        "partnership": partnership.name,
        "zone": partnership.timezone,
        "cycle": cycle,
        "item": item,
        "name": name,
        "csrf": csrf,
    }
    by_field = {e["href"].removeprefix("#"): e["text"] for e in errors or [] if e.get("href")}
    return page(
        request,
        "review_item.html",
        {**context, "errors": errors or [], "field_errors": by_field, "sent": sent or {}},
        status_code=422 if errors else 200,
    )


@router.get("/review/{cycle_id}/{name}", response_class=HTMLResponse)
def item_page(request: Request, cycle_id: RowId, name: Name, session: DB) -> Response:
    found = staff(request, session, cycle_id, "chair")
    if found is None:
        return refused(request, "the Chair's review")
    cycle = session.get(Cycle, cycle_id)
    assert cycle is not None
    return _item_page(request, session, cycle, name, found.csrf_token)


@router.post("/review/{cycle_id}/{name}", response_class=HTMLResponse)
async def decide(request: Request, cycle_id: RowId, name: Name) -> Response:
    form = await request.form()
    return await in_thread(request, _decide, cycle_id, name, form)


def _decide(request: Request, session: Session, cycle_id: int, name: str, form: Any) -> Response:
    found = staff(request, session, cycle_id, "chair")
    if found is None:
        return refused(request, "the Chair's review")
    if not csrf_ok(found, str(form.get("csrf", ""))):
        return expired_form(request, ", so your decision was not recorded")
    cycle = session.get(Cycle, cycle_id)
    assert cycle is not None
    decision = str(form.get("decision", ""))
    comments = str(form.get("comments", ""))
    pointed = str(form.get("brief_section", "")) or None
    sent = {"decision": decision, "comments": comments, "brief_section": pointed or ""}
    # What the Chair can put right on the form is said on the field; the rest (nothing to decide) above it.
    if decision not in ("approve", "return"):
        errors = [{"text": "Choose approve or return.", "href": "#decision"}]
        return _item_page(request, session, cycle, name, found.csrf_token, errors, sent)
    if decision == "return" and not comments.strip():
        errors = [{"text": "A returned contribution needs comments: say what to change.", "href": "#comments"}]
        return _item_page(request, session, cycle, name, found.csrf_token, errors, sent)
    at = now(request)
    s = state(request).settings
    try:
        row = record_decision(
            session,
            cycle,
            name,
            decision,
            comments=comments,
            brief_section=pointed,
            at=at,
            actor=found.email or "chair",
        )
    except (ReviewError, NotFound) as exc:
        session.rollback()
        message = str(exc)
        errors = [
            {"text": message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."), "href": "#decision"}
        ]
        return _item_page(request, session, cycle, name, found.csrf_token, errors, sent)
    report = apply_decisions(
        session, cycle, at=at, actor=found.email or "chair", base_url=s.public_base_url, templates_dir=s.templates_dir
    )
    session.commit()
    session.refresh(row)
    done = decision if row.outcome == "applied" or not report.stale else "stale"
    return RedirectResponse(f"/review/{cycle_id}?done={done}", status_code=303)
