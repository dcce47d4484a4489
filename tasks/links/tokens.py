"""Personal link tokens: random, shown once in an email, stored only as a hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from models.cycle import PersonalLink

if TYPE_CHECKING:  # the portal's tables, for the portal's sessions: issuing a link (opening a cycle) needs none
    from models.portal import PortalSession


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, *, contribution_id: int, contact_id: int, at: dt.datetime, valid_days: int) -> str:
    """Create a link row and return the raw token (the only time it exists in clear)."""
    token, values = new_link(contribution_id=contribution_id, contact_id=contact_id, at=at, valid_days=valid_days)
    session.add(PersonalLink(**values))
    return token


def new_link(*, contribution_id: int, contact_id: int, at: dt.datetime, valid_days: int) -> tuple[str, dict[str, Any]]:
    """(the raw token, the link row's columns): `issue_link` adds the row; a run that issues many links (the
    chase) inserts their rows together (`models.bulk.RowBatch`)."""
    token = secrets.token_urlsafe(32)
    values = {
        "role": "agency",
        "contribution_id": contribution_id,
        "contact_id": contact_id,
        "token_hash": hash_token(token),
        "created_at": at,
        "expires_at": at + dt.timedelta(days=valid_days),
    }
    return token, values


# How long a personal link works unless the settings say otherwise (REPORTCYCLE_LINK_VALID_DAYS).
LINK_VALID_DAYS = 120


def link_url(base_url: str, token: str) -> str:
    return f"{base_url}/c/{token}"


def personal_link(
    session: Session, base_url: str, *, contribution_id: int, contact_id: int, at: dt.datetime, valid_days: int
) -> str:
    """A link of its own for one email to one contact: every email to an agency signs its reader in, however
    long after it was sent (within the link's lifetime), with no earlier session needed."""
    token = issue_link(session, contribution_id=contribution_id, contact_id=contact_id, at=at, valid_days=valid_days)
    return link_url(base_url, token)


def issue_staff_link(
    session: Session, *, role: str, cycle_id: int, email: str, at: dt.datetime, valid_days: int
) -> str:
    """A link for the Chair (the review) or the business manager (the desk) of one cycle; the raw token."""
    if role not in ("chair", "manager"):
        raise ValueError(f"a staff link is for the chair or the manager, not {role!r}")
    token = secrets.token_urlsafe(32)
    session.add(
        PersonalLink(
            role=role,
            cycle_id=cycle_id,
            email=email,
            token_hash=hash_token(token),
            created_at=at,
            expires_at=at + dt.timedelta(days=valid_days),
        )
    )
    return token


@dataclass(frozen=True)
class LinkCheck:
    link: PersonalLink | None
    problem: str | None  # None when the link is good; else unknown | expired | revoked


def check_link(session: Session, token: str, *, at: dt.datetime) -> LinkCheck:
    """Look a link up by its token's hash. Reads only: opening a link never uses it up."""
    link = session.exec(select(PersonalLink).where(PersonalLink.token_hash == hash_token(token))).first()
    if link is None:
        return LinkCheck(None, "unknown")
    if link.revoked_at is not None and link.revoked_at <= at:
        return LinkCheck(link, "revoked")
    if link.expires_at <= at:
        return LinkCheck(link, "expired")
    return LinkCheck(link, None)


def open_session(session: Session, link: PersonalLink, *, at: dt.datetime, hours: int) -> str:
    """Exchange a good link for a browser session; returns the cookie value (kept only as a hash)."""
    from models.portal import PortalSession

    cookie = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_hash=hash_token(cookie),
            link_id=link.id or 0,
            role=link.role,
            contribution_id=link.contribution_id,
            contact_id=link.contact_id,
            cycle_id=link.cycle_id,
            email=link.email,
            csrf_token=secrets.token_urlsafe(32),
            created_at=at,
            expires_at=min(at + dt.timedelta(hours=hours), link.expires_at),
        )
    )
    return cookie


def find_session(session: Session, cookie: str | None, *, at: dt.datetime) -> PortalSession | None:
    """The live session behind a cookie; a revoked link ends its sessions too."""
    if not cookie:
        return None
    from models.portal import PortalSession

    found = session.exec(select(PortalSession).where(PortalSession.token_hash == hash_token(cookie))).first()
    if found is None:
        return None
    return found if live(found, session.get(PersonalLink, found.link_id), at=at) else None


def live(found: PortalSession, link: PersonalLink | None, *, at: dt.datetime) -> bool:
    """A session counts until it expires or its link is revoked (see `find_session`; the agency's pages
    read the session with everything else they show, in one statement, and ask this)."""
    return found.expires_at > at and link is not None and (link.revoked_at is None or link.revoked_at > at)
