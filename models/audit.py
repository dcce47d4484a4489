"""The append-only audit log: who did what, when."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DDL, Column, Table, event
from sqlmodel import Field, Session, col, select

from models import cycle  # noqa: F401  (the tables our foreign keys name)
from models.base import SQLModel
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


# The ORM listeners in `append_only` stop the application; these triggers stop everyone else
# (psql, a script, a future bug that issues raw SQL). The migration that adds them to existing
# databases copies this SQL (migrations/versions/606f7d053ba7_audit_event_append_only.py); keep the two alike.
# SQLite drops a table's triggers when a batch migration copies the table: a later migration that
# alters audit_event on SQLite must create them again.
REFUSAL = "audit_event is append-only: record a new event instead of changing or removing one"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = '{REFUSAL} (' || TG_OP || ' refused)';
END
$$
"""
PG_ROW_TRIGGER = (
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()"
)
PG_TRUNCATE_TRIGGER = (
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_event_no_{op.lower()} BEFORE {op} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL} ({op} refused)'); END"
    for op in ("UPDATE", "DELETE")
]


def _attach_refusal_triggers(table: Table) -> None:
    """Created with the table by `metadata.create_all` (the tests); Alembic creates them in a migration."""
    # No '%' in this SQL: DDL() and the drivers would read it as a placeholder.
    for statement in (PG_FUNCTION, PG_ROW_TRIGGER, PG_TRUNCATE_TRIGGER):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    # The triggers go with the table; the function would outlive it.
    event.listen(
        table, "after_drop", DDL("DROP FUNCTION IF EXISTS audit_event_refuse_change()").execute_if(dialect="postgresql")
    )
    for statement in SQLITE_TRIGGERS:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))


_attach_refusal_triggers(AuditEvent.__table__)  # type: ignore[attr-defined]


def trail(
    session: Session, cycle_id: int, *, since: dt.datetime | None = None, action_prefix: str | None = None
) -> list[AuditEvent]:
    """One cycle's events, oldest first (ties in recording order)."""
    query = select(AuditEvent).where(AuditEvent.cycle_id == cycle_id)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if action_prefix:
        # autoescape: an underscore in "start_review" is a letter, not a LIKE wildcard
        query = query.where(col(AuditEvent.action).startswith(action_prefix, autoescape=True))
    return list(session.exec(query.order_by(col(AuditEvent.at), col(AuditEvent.id))))
