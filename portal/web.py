"""What every portal route needs: settings, a database session, the clock, templates, the visitor's session."""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from models.db import engine_for, reading_engine
from models.portal import PortalSession
from portal.assets import static_url
from portal.words import install_filters
from reportcycle.clock import Clock, SystemClock
from reportcycle.settings import Settings, get_settings
from tasks.links.tokens import find_session

COOKIE = "rc_session"

# Path parameters, declared once: a row id fits PostgreSQL's integer, a name is a slug.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class PortalState:
    """Held on the app: the settings and the clock (tests and the demo inject a FixedClock)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock


def state(request: Request) -> PortalState:
    found: PortalState = request.app.state.portal
    return found


def db(request: Request) -> Iterator[Session]:
    with Session(engine_for(state(request).settings.database_url), expire_on_commit=False) as session:
        yield session


async def in_thread(request: Request, work: Callable[..., Response], *args: Any, reading: bool = False) -> Response:
    """Run a handler's database work in a worker thread with its own session, closed when it returns.

    Async routes read the form, then hand over: the event loop never waits on the database,
    and a connection is held only while the work runs. `reading`: work that writes nothing (a page), with
    no transaction around its reads (see `reading_engine`).
    """
    url = state(request).settings.database_url

    def run() -> Response:
        with Session(reading_engine(url) if reading else engine_for(url), expire_on_commit=False) as session:
            return work(request, session, *args)

    return await run_in_threadpool(run)


def now(request: Request) -> dt.datetime:
    return state(request).clock.now()


def visitor(request: Request, session: Session) -> PortalSession | None:
    return find_session(session, request.cookies.get(COOKIE), at=now(request))


# The page's Content-Security-Policy: scripts only from the portal, plus the one inline line GOV.UK Frontend's
# page template runs first (it marks the body as JavaScript-enabled), allowed by a nonce fresh for each page.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@functools.lru_cache(maxsize=4)
def portal_environment(templates_dir: FilePath) -> Environment:
    """The portal's templates and GOV.UK Frontend's macros (under "govuk_frontend_jinja/"), compiled once.

    The macros read optional parameters that are absent (`params.classes`), so a missing value renders
    as nothing here, where the email templates keep StrictUndefined.
    """
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(templates_dir),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        undefined=ChainableUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only with a release, which restarts the portal: no stat of every template and macro
        # file on each render to see whether it changed (thirty a page).
        auto_reload=False,
    )
    install_filters(env)
    env.globals["static_url"] = static_url  # a file's address with its hash, kept by browsers (portal.assets)
    return env


def error_list(errors: Any) -> list[dict[str, str]]:
    """Errors as the error summary takes them: a text, and where the field is when it names one ("#id")."""
    found = []
    for e in errors or []:
        if isinstance(e, dict):
            found.append({"text": str(e["text"]), "href": str(e.get("href", ""))})
        else:
            found.append({"text": str(e)})
    return found


# A field the macros drew in error (its GOV.UK error class) and not yet marked for assistive technology.
_FIELD_IN_ERROR = re.compile(
    r'<(input|textarea|select)\b(?=[^>]*\bclass="[^"]*\bgovuk-(?:input|textarea|select|file-upload)--error\b)'
    r"(?![^>]*\baria-invalid=)"
)


def mark_invalid(html: str) -> str:
    """`aria-invalid="true"` on every field shown in error: the GOV.UK macros give such a field its error message
    and class but not this attribute, which screen readers announce as "invalid entry"."""
    return _FIELD_IN_ERROR.sub(lambda m: f'<{m.group(1)} aria-invalid="true"', html)


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    env = portal_environment(state(request).settings.templates_dir)
    nonce = secrets.token_urlsafe(16)
    html = env.get_template(f"portal/{template}").render(
        request=request, cspNonce=nonce, error_list=error_list(context.get("errors")), **context
    )
    if context.get("errors"):
        html = mark_invalid(html)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
    return response


def csrf_ok(portal_session: PortalSession, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(portal_session.csrf_token, submitted or "")


def default_state() -> PortalState:
    return PortalState(get_settings(), SystemClock())


def staff(request: Request, session: Session, cycle_id: int, role: str) -> PortalSession | None:
    """The visitor's session if it was opened from the Chair's (role "chair") or the business manager's
    (role "manager") link for this cycle; an agency's session never is."""
    found = visitor(request, session)
    return found if found is not None and found.role == role and found.cycle_id == cycle_id else None


def refused(request: Request, what: str = "this contribution") -> HTMLResponse:
    return page(
        request,
        "link_problem.html",
        {
            "title": "Open this page from your email",
            "problem": f"This page needs the personal link from your email, for {what}.",
        },
        status_code=403,
    )


def expired_form(request: Request, lost: str = "") -> HTMLResponse:
    return page(
        request,
        "message.html",
        {"title": "Please try again", "message": f"This form had expired{lost}: reload the page and try again."},
        status_code=403,
    )
