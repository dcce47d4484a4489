"""The FastAPI application: security headers, error pages, the routes of the agencies, the Chair and the desk."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.db import PORTAL_THREADS
from portal import (
    around,
    assets,
    contribution,
    desk_brief,
    desk_framework,
    desk_partnership,
    drafts,
    kept,
    manager,
    review,
    reviews_register,
    sections,
    signin,
    uploads,
)
from portal.desk_mail import router as desk_mail_router
from portal.desk_next import router as desk_next_router
from portal.desk_plan import router as desk_plan_router
from portal.web import PortalState, default_state, page
from reportcycle.clock import Clock
from reportcycle.settings import Settings

# One line a request (method, path, status, time): what an operator greps when someone says "the link failed".
ACCESS = logging.getLogger("reportcycle.portal.access")
LOG_FORMAT = "%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"
LOG_DATES = "%Y-%m-%d %H:%M:%S%z"  # date, time and zone on every line
_TOKEN = re.compile(r"^/c/[^/]+")


def without_tokens(path: str) -> str:
    """A personal link's token never reaches a log: /c/<token> is logged as /c/[token]."""
    return _TOKEN.sub("/c/[token]", path)


def log_requests() -> None:
    """Access lines to standard error, for a process that serves the portal and has no logging set up."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, datefmt=LOG_DATES)
    logging.getLogger("reportcycle.portal").setLevel(logging.INFO)


SECURITY_HEADERS = {
    # Personal links must never leak to another site through the Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages set their own, with a nonce for GOV.UK Frontend's one inline line (portal.web.CSP); this covers the rest.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}


class Headers:
    """The security headers on every response, and the access line once it is sent. A plain ASGI middleware:
    Starlette's `@app.middleware("http")` runs each response through a stream of its own, a millisecond a
    request on the 2-core machine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, sending)
        ACCESS.info(
            "%s %s %d %.1f ms",
            scope["method"],
            without_tokens(scope["path"]),
            status,
            (time.perf_counter() - started) * 1000,
        )


@asynccontextmanager
async def _threads(_app: FastAPI) -> AsyncIterator[None]:
    """As many worker threads as the database pool keeps connections (models.db.PORTAL_THREADS)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = PORTAL_THREADS
    yield


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    app = FastAPI(title="reportcycle portal", docs_url=None, redoc_url=None, lifespan=_threads)
    base = default_state()
    app.state.portal = PortalState(settings or base.settings, clock or base.clock)
    app.add_middleware(Headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Not allowed", 403: "Not allowed"}
        return page(
            request,
            "message.html",
            {"title": titles.get(exc.status_code, "Something went wrong"), "message": str(exc.detail)},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return page(
            request,
            "message.html",
            {"title": "That request was not complete", "message": "Go back to the page and try again."},
            status_code=400,
        )

    served = assets.assets()
    if "govuk/portal.css" not in served.files:
        ACCESS.warning("GOV.UK Frontend's styles are not built, so pages will look plain: run `make assets`")
    app.mount("/static", served, name="static")
    app.include_router(signin.router)
    app.include_router(contribution.router)
    app.include_router(kept.router)
    app.include_router(around.router)
    app.include_router(sections.router)
    app.include_router(drafts.router)
    app.include_router(uploads.router)
    app.include_router(review.router)
    app.include_router(manager.router)
    app.include_router(reviews_register.router)
    app.include_router(desk_plan_router)
    app.include_router(desk_next_router)
    # The agencies' routes before the lists': /partnership/agencies/... is not a list of the brief.
    app.include_router(desk_partnership.router)
    app.include_router(desk_brief.router)
    app.include_router(desk_framework.router)
    app.include_router(desk_mail_router)
    return app
