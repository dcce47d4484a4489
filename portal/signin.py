"""The way in: the home page, a personal link exchanged for a session, a fresh link asked for, /health."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from models.cycle import Contribution, Cycle
from models.partnership import Agency
from portal.web import COOKIE, db, now, page, state
from tasks.contributions.kept import restore
from tasks.links.fresh_link import request_fresh_link
from tasks.links.tokens import check_link, open_session

router = APIRouter()
DB = Annotated[Session, Depends(db)]
SESSION_HOURS = 12
PROBLEMS = {
    "unknown": "This link is not one we recognise. It may have been copied only in part.",
    "expired": "This link has expired.",
    "revoked": "This link has been withdrawn, perhaps because a new one was sent.",
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return page(request, "home.html", {"title": "Your contribution"})


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """The database, SMTP, the Prefect API and today's chase: 200 when all is well, else 503 saying what."""
    from tasks.ops.health import health as check

    report = check(state(request).settings, at=now(request))
    return JSONResponse(report.as_json(), status_code=200 if report.ok else 503)


@router.get("/c/{token}", response_class=HTMLResponse)
def link_landing(request: Request, token: str, session: DB) -> Response:
    """Opening a link changes nothing: mail scanners open every link they see."""
    check = check_link(session, token, at=now(request))
    if check.problem:
        return page(
            request,
            "link_problem.html",
            {"title": "This link does not work", "problem": PROBLEMS[check.problem]},
            status_code=404 if check.problem == "unknown" else 410,
        )
    assert check.link is not None
    link = check.link
    if link.role == "agency":
        contribution = session.get(Contribution, link.contribution_id) if link.contribution_id else None
        agency = session.get(Agency, contribution.agency_id) if contribution else None
        what, button = f"{agency.name if agency else 'your agency'}'s contribution", "Continue to the contribution"
    else:
        cycle = session.get(Cycle, link.cycle_id) if link.cycle_id else None
        title = cycle.title if cycle else "the report"
        what, button = (
            (f"the Chair's review of the {title}", "Continue to the review")
            if link.role == "chair"
            else (f"the business manager's desk for the {title}", "Continue to the desk")
        )
    return page(
        request, "landing.html", {"title": "Your personal link", "token": token, "what": what, "button": button}
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_our_page(request: Request, public_base_url: str) -> bool:
    """The browser says the form was posted from our own page. Fetch Metadata (Sec-Fetch-Site) decides when the
    browser sends it, as every current one does; else the Origin header. Our pages send no Referer, and a browser
    then sends `Origin: null` even for our own form, so "null" proves nothing either way. A client that sends
    neither (an old browser, a script) is let through."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    ours = {_origin(public_base_url), _origin(str(request.base_url))}
    return origin.lower() in ours


@router.post("/c/{token}")
def link_exchange(request: Request, token: str, session: DB) -> Response:
    """The person pressed Continue: the link becomes a session cookie and a token-free address."""
    if not from_our_page(request, state(request).settings.public_base_url):
        # Login CSRF: a page elsewhere posting a link of its own choosing would sign the visitor into that session.
        return page(
            request,
            "message.html",
            {
                "title": "This sign-in did not come from our page",
                "message": "Open the personal link from your email and press Continue on the page it shows.",
            },
            status_code=403,
        )
    at = now(request)
    check = check_link(session, token, at=at)
    if check.problem or check.link is None:
        return page(
            request,
            "link_problem.html",
            {"title": "This link does not work", "problem": PROBLEMS[check.problem or "unknown"]},
            status_code=410,
        )
    cookie = open_session(session, check.link, at=at, hours=SESSION_HOURS)
    link = check.link
    target = {"chair": f"/review/{link.cycle_id}", "manager": f"/desk/{link.cycle_id}"}.get(
        link.role, f"/contribution/{link.contribution_id}"
    )
    contribution = session.get(Contribution, link.contribution_id) if link.contribution_id else None
    if link.role == "agency" and contribution is not None:
        # Text typed before an earlier session ended comes back now (see tasks/contributions/kept.py).
        restored = restore(session, contribution, link.contact_id, at=at, actor=link.email or "agency")
        if restored is not None:
            target = f"{target}?done=restored" if restored.applied else f"{target}/kept/{restored.post.id}"
    session.commit()
    response = RedirectResponse(target, status_code=303)
    secure = state(request).settings.public_base_url.startswith("https://")
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=secure, max_age=SESSION_HOURS * 3600)
    return response


def email_problem(email: str) -> str:
    """What is wrong with an address typed into the fresh-link form, in the Design System's words; "" if nothing."""
    if not email.strip():
        return "Enter your work email address"
    local, _, domain = email.strip().rpartition("@")
    if not local or "." not in domain or " " in email.strip():
        return "Enter an email address in the correct format, like name@example.org"
    return ""


@router.post("/link/fresh", response_class=HTMLResponse)
def fresh_link(request: Request, session: DB, email: Annotated[str, Form(max_length=320)] = "") -> Response:
    s = state(request).settings
    problem = email_problem(email)
    if problem:
        return page(
            request,
            "home.html",
            {"title": "Your contribution", "errors": [{"text": problem, "href": "#fresh-email"}], "email": email},
            status_code=422,
        )
    request_fresh_link(
        session,
        email,
        at=now(request),
        base_url=s.public_base_url,
        link_valid_days=s.link_valid_days,
        templates_dir=s.templates_dir,
    )
    session.commit()
    return page(
        request,
        "message.html",
        {
            "title": "Check your email",
            "message": "If that address is registered for a contribution, a new link is on its way to it.",
        },
    )
