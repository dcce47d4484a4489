"""A post that arrives without a valid agency session. A stub: the integrator replaces this file with one that
keeps the typed text server-side and restores it after sign-in."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from portal.web import refused


def refused_post(request: Request, session: Session, contribution_id: int, form: Any) -> Response:
    return refused(request)
