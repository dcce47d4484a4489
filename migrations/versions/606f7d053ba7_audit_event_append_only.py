"""audit_event refuses updates and deletes at the database level

Revision ID: 606f7d053ba7
Revises: 5c0eec29ddc5
Create Date: 2026-11-28 10:00:00.000000

The same SQL as models/audit.py, copied so that this migration keeps meaning what it
meant when it was written. Autogenerate does not compare triggers: `alembic check`
stays clean with or without them.
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '606f7d053ba7'
down_revision: Union[str, Sequence[str], None] = '5c0eec29ddc5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REFUSAL = "audit_event is append-only: record a new event instead of changing or removing one"

PG_UP = [
    f"""
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = '{REFUSAL} (' || TG_OP || ' refused)';
END
$$
""",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
]
SQLITE_UP = [
    f"CREATE TRIGGER audit_event_no_{op_.lower()} BEFORE {op_} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL} ({op_} refused)'); END"
    for op_ in ("UPDATE", "DELETE")
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"]


def _run(by_dialect: dict[str, list[str]]) -> None:
    # exec_driver_sql: the text goes to the driver as written (no bind parameters, no % formatting).
    bind = op.get_bind()
    for statement in by_dialect.get(bind.dialect.name, []):
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    """Upgrade schema."""
    _run({"postgresql": PG_UP, "sqlite": SQLITE_UP})


def downgrade() -> None:
    """Downgrade schema."""
    _run({"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN})
