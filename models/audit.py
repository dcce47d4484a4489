"""The append-only audit log: who did what, when."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, Session, SQLModel

from models.types import UTCDateTime, append_only, json_column


@append_only
class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=320)  # an email address, "system", or "cli:<user>"
    action: str = Field(max_length=64)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    subject: str = Field(max_length=128)  # e.g. "contribution:12"
    detail: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))


def record(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    cycle_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    audit = AuditEvent(at=at, actor=actor, action=action, subject=subject, cycle_id=cycle_id, detail=detail)
    session.add(audit)
    return audit
