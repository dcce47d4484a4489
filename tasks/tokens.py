"""Personal link tokens: random, shown once in an email, stored only as a hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlmodel import Session

from models.cycle import PersonalLink


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, *, contribution_id: int, contact_id: int, at: dt.datetime, valid_days: int) -> str:
    """Create a link row and return the raw token (the only time it exists in clear)."""
    token = secrets.token_urlsafe(32)
    session.add(
        PersonalLink(
            contribution_id=contribution_id,
            contact_id=contact_id,
            token_hash=hash_token(token),
            created_at=at,
            expires_at=at + dt.timedelta(days=valid_days),
        )
    )
    return token
