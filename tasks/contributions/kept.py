"""Text that arrived after its session ended is kept, and put back when the same person signs in again.

A tab left open overnight outlives its 12-hour session. Its form still carries the session's CSRF token, a secret
only that page was given, so the post proves whose it is without the cookie (which the browser has dropped).
Nothing is written to the contribution then; the text waits in `kept_post` until its contact opens any fresh link
for the same contribution, and is restored once, audited, unless someone has saved the contribution since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution, Cycle, PersonalLink
from models.portal import KeptPost, PortalSession, WorkingCopy
from models.store import cycle_values
from tasks.contributions.working_copy import working_copy

CLOSED = ("approved", "excused")
MAX_CHARS = 400_000  # all the kept text together: far above any brief's word limits, far below abuse
KEEP_DAYS = 30  # a kept post older than this is not put back (the person will have moved on)


@dataclass(frozen=True)
class Restored:
    """What signing in did with a kept post: put it back, or left it to show because the text changed since."""

    post: KeptPost
    applied: bool


def expired_owner(session: Session, contribution_id: int, csrf: str) -> PortalSession | None:
    """The agency session this form was served in, found by its CSRF token, whether or not it is still live.

    A withdrawn link keeps nothing: a contact who lost access must not write in by the back door.
    """
    if not csrf or len(csrf) > 64:
        return None
    found = session.exec(
        select(PortalSession).where(
            PortalSession.csrf_token == csrf,
            PortalSession.contribution_id == contribution_id,
            PortalSession.role == "agency",
        )
    ).first()
    if found is None or not secrets.compare_digest(found.csrf_token, csrf):
        return None
    link = session.get(PersonalLink, found.link_id)
    return None if link is None or link.revoked_at is not None else found


def _typed(form: Any, prefix: str, known: set[str]) -> dict[str, str]:
    return {
        k.removeprefix(prefix): str(v)
        for k, v in form.items()
        if k.startswith(prefix) and k.removeprefix(prefix) in known and isinstance(v, str)
    }


def keep(
    session: Session, owner: PortalSession, contribution: Contribution, form: Any, *, at: dt.datetime
) -> KeptPost | None:
    """Keep the sections and key figures a late post carries; None when it carries no text or is closed.

    Autosaves from the same page arrive one after another: they update one row, the latest text winning.
    """
    cycle = session.get(Cycle, contribution.cycle_id)
    if cycle is None or contribution.status in CLOSED:
        return None
    brief = cycle_values(cycle)[0]
    sections = _typed(form, "section-", {s.key for s in brief.sections})
    figures = _typed(form, "figure-", {f.key for f in brief.key_figures})
    if not any(v.strip() for v in (*sections.values(), *figures.values())):
        return None
    if sum(len(v) for v in (*sections.values(), *figures.values())) > MAX_CHARS:
        return None
    page_key = hashlib.sha256(owner.csrf_token.encode()).hexdigest()
    post = session.exec(
        select(KeptPost).where(KeptPost.page_key == page_key, col(KeptPost.restored_at).is_(None))
    ).first()
    version_field = str(form.get("version", ""))
    shown = int(version_field) if version_field.isdigit() else -1
    if post is None:
        post = KeptPost(
            contribution_id=contribution.id or 0,
            page_key=page_key,
            contact_id=owner.contact_id,
            sections={},
            based_on_version=shown,
            kept_at=at,
        )
    post.sections = {**post.sections, **sections}
    post.figures = {**post.figures, **figures}
    post.kept_at = at
    session.add(post)
    record(
        session,
        at=at,
        actor=owner.email or "agency",
        action="working_copy.kept_after_session",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        sections=sorted(sections),
        figures=sorted(figures),
    )
    return post


def restore(
    session: Session, contribution: Contribution, contact_id: int | None, *, at: dt.datetime, actor: str
) -> Restored | None:
    """Put back the newest kept post of this contact for this contribution, once.

    Applied to the working copy when nobody has saved since the page was shown; otherwise left for the person to
    copy from (returned with applied=False), since writing it would undo someone else's later work.
    """
    waiting = session.exec(
        select(KeptPost)
        .where(
            KeptPost.contribution_id == contribution.id,
            KeptPost.contact_id == contact_id,
            col(KeptPost.restored_at).is_(None),
            col(KeptPost.kept_at) >= at - dt.timedelta(days=KEEP_DAYS),
        )
        .order_by(col(KeptPost.kept_at).desc(), col(KeptPost.id).desc())
    ).all()
    if not waiting or contribution.status in CLOSED:
        return None
    post = waiting[0]
    for older in waiting[1:]:  # superseded by the newest: never put back later over it
        older.restored_at = at
        session.add(older)
    current = working_copy(session, contribution)
    applied = (current.version if current else 0) == post.based_on_version
    if applied:
        if current is None:
            current = WorkingCopy(
                contribution_id=contribution.id or 0, sections={}, figures={}, updated_at=at, updated_by=actor
            )
        current.sections = {**current.sections, **post.sections}
        current.figures = {**current.figures, **post.figures}
        current.version += 1
        current.updated_at, current.updated_by = at, actor
        session.add(current)
    post.restored_at = at
    session.add(post)
    record(
        session,
        at=at,
        actor=actor,
        action="working_copy.restored_after_sign_in" if applied else "working_copy.kept_text_shown",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        kept_at=post.kept_at.isoformat(),
        version=current.version if current else 0,
    )
    return Restored(post=post, applied=applied)
