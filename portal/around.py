"""Around the contribution: ask for more time, hand the link to a colleague, record who signed it off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.partnership import Agency, Contact
from models.store import cycle_values
from portal.contribution import agency_session, conflict_page, page_context, typed
from portal.kept import refused_post
from portal.web import RowId, csrf_ok, expired_form, in_thread, now, page, state
from reportcycle.settings import Settings
from tasks.contributions.agency_desk import AgencyRequestError, ask_for_extension, hand_over, sign_off
from tasks.contributions.working_copy import Conflict, save

router = APIRouter()


@dataclass(frozen=True)
class Around:
    """What an action around the contribution works with."""

    session: Session
    cycle: Cycle
    agency: Agency
    contribution: Contribution
    contact: Contact
    form: Any
    at: dt.datetime
    settings: Settings

    def field(self, name: str, *names: str) -> str:
        """The first of these fields the form has: the page's fields carry a prefix (one form holds them all)."""
        for key in (name, *names):
            if self.form.get(key):
                return str(self.form.get(key))
        return ""


def _around(
    request: Request, session: Session, contribution_id: int, form: Any, done: str, work: Callable[[Around], object]
) -> Response:
    """Check the session and the CSRF token, run `work`, then back to the page with a notice or the error."""
    portal_session = agency_session(request, session, contribution_id)
    contribution = session.get(Contribution, contribution_id)
    if portal_session is None or contribution is None:
        return refused_post(request, session, contribution_id, form)
    if not csrf_ok(portal_session, str(form.get("csrf", ""))):
        return expired_form(request)
    cycle = session.get(Cycle, contribution.cycle_id)
    agency = session.get(Agency, contribution.agency_id)
    contact = session.get(Contact, portal_session.contact_id)
    assert cycle is not None and agency is not None and contact is not None
    # The page's buttons for these actions post the whole page: what was typed in the sections is saved first,
    # and stays saved whatever becomes of the request.
    found = typed(form)
    if found is not None:
        texts, figures = found
        brief = cycle_values(cycle)[0]
        version = int(str(form.get("version", "0"))) if str(form.get("version", "0")).isdigit() else -1
        result = save(
            session,
            contribution,
            texts,
            brief=brief,
            expected_version=version,
            at=now(request),
            actor=contact.email,
            figures=figures,
        )
        if isinstance(result, Conflict):
            session.rollback()
            return conflict_page(request, contribution, portal_session, brief, result, texts, figures)
        session.commit()
    try:
        work(Around(session, cycle, agency, contribution, contact, form, now(request), state(request).settings))
    except AgencyRequestError as exc:
        session.rollback()
        notice = "Your text is saved." if found is not None else None
        return page(
            request,
            "contribution.html",
            page_context(session, contribution, portal_session, now(request), errors=[str(exc)], notice=notice),
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"/contribution/{contribution.id}?done={done}", status_code=303)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AgencyRequestError("Give the date you ask for as a date, e.g. 2019-06-03.") from None


@router.post("/contribution/{contribution_id}/extension", response_class=HTMLResponse)
async def ask_extension(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(
        request,
        _around,
        contribution_id,
        form,
        "extension",
        lambda a: ask_for_extension(
            a.session,
            a.cycle,
            a.agency,
            a.contribution,
            a.contact,
            until=_date(a.field("extension-until", "until")),
            reason=a.field("extension-reason", "reason"),
            at=a.at,
            templates_dir=a.settings.templates_dir,
        ),
    )


@router.post("/contribution/{contribution_id}/handover", response_class=HTMLResponse)
async def handover(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(
        request,
        _around,
        contribution_id,
        form,
        "handover",
        lambda a: hand_over(
            a.session,
            a.cycle,
            a.agency,
            a.contribution,
            a.contact,
            name=a.field("handover-name", "name"),
            email=a.field("handover-email", "email"),
            at=a.at,
            base_url=a.settings.public_base_url,
            link_valid_days=a.settings.link_valid_days,
            templates_dir=a.settings.templates_dir,
        ),
    )


@router.post("/contribution/{contribution_id}/signoff", response_class=HTMLResponse)
async def signoff(request: Request, contribution_id: RowId) -> Response:
    form = await request.form()
    return await in_thread(
        request,
        _around,
        contribution_id,
        form,
        "signoff",
        lambda a: sign_off(
            a.session,
            a.contribution,
            a.contact,
            name=a.field("signoff-name", "name"),
            role=a.field("signoff-role", "role"),
            at=a.at,
        ),
    )
