"""Who can open a contribution: live links per contact, and access the business manager withdrew.

Withdrawing a contact's links on the desk is meant to lock them out, so the public fresh-link form must not
hand access back; a link the business manager sends again (resend, a replaced contact) restores it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from models.cycle import PersonalLink


def withdrawn(session: Session, contribution_id: int, contact_id: int) -> bool:
    """The contact's latest link to the contribution was withdrawn on the desk, and none has been sent since."""
    latest = session.exec(
        select(PersonalLink)
        .where(PersonalLink.contribution_id == contribution_id, PersonalLink.contact_id == contact_id)
        .order_by(col(PersonalLink.created_at).desc(), col(PersonalLink.id).desc())
    ).first()
    return latest is not None and latest.revoked_at is not None


def contact_access(session: Session, contribution_id: int, *, at: dt.datetime) -> tuple[dict[int, str], int]:
    """Contact id -> their access, in words (live links, withdrawn, expired), and the number of live links."""
    links = session.exec(
        select(PersonalLink)
        .where(PersonalLink.contribution_id == contribution_id)
        .order_by(col(PersonalLink.created_at), col(PersonalLink.id))
    ).all()
    latest: dict[int, PersonalLink] = {}
    live: dict[int, int] = {}
    for link in links:
        if link.contact_id is None:
            continue
        latest[link.contact_id] = link
        if link.revoked_at is None and link.expires_at > at:
            live[link.contact_id] = live.get(link.contact_id, 0) + 1
    found = {}
    for contact_id, link in latest.items():
        if link.revoked_at is not None:
            found[contact_id] = "withdrawn: no access, and the fresh-link form will not give it back"
        elif live.get(contact_id):
            n = live[contact_id]
            found[contact_id] = f"has access ({n} live link{'s' if n != 1 else ''})"
        else:
            found[contact_id] = "links expired: can ask for a fresh one"
    return found, sum(live.values())
