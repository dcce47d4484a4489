"""The business manager's own text: the central sections."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlmodel import Session, select

from models.audit import record
from models.cycle import Cycle
from models.lifecycle import CentralState, next_central_state
from models.report import CentralSection
from models.store import NotFound


def set_central_text(
    session: Session, cycle: Cycle, key: str, body_md: str, *, at: dt.datetime, actor: str
) -> CentralSection:
    section = session.exec(
        select(CentralSection).where(CentralSection.cycle_id == cycle.id, CentralSection.key == key)
    ).first()
    if section is None:
        keys = session.exec(select(CentralSection.key).where(CentralSection.cycle_id == cycle.id)).all()
        raise NotFound(f"no central section {key!r} in {cycle.label}; its central sections are {', '.join(keys)}")
    body_hash = hashlib.sha256(body_md.encode()).hexdigest()
    if body_hash == section.body_hash:
        return section  # the same text again changes nothing
    section.status = next_central_state(CentralState(section.status), "edit")
    section.body_md, section.body_hash = body_md, body_hash
    section.updated_at, section.updated_by = at, actor
    session.add(section)
    record(
        session,
        at=at,
        actor=actor,
        action="central.edit",
        subject=f"central:{section.id}",
        cycle_id=cycle.id,
        key=key,
        body_hash=body_hash,
    )
    return section
