"""Export one partnership, with everything that hangs off it, to a JSON file; import it elsewhere.

Which rows belong to a partnership is found by walking foreign keys down from the
`partnership` table over the whole of SQLModel.metadata, so a table added later is
carried along as soon as it points at something that is. A table that points at
nothing reachable must be listed in EXCLUDED with a reason: `plan()` refuses
otherwise, so a new table cannot be left out silently.

Rows are kept with their ids: audit subjects ("contribution:12") and outbox keys
embed them, so renumbering would break the record.

Row-level gaps, by design: audit events and outbox rows whose `cycle_id` is NULL
belong to no partnership (e.g. a fresh-link request rate-limited for an unknown
address) and are not exported.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from models.types import UTCDateTime

FORMAT = "reportcycle-export"
VERSION = 1
ROOT = "partnership"

# Tables deliberately not exported, with the reason.
EXCLUDED: dict[str, str] = {
    "portal_session": (
        "browser sessions last hours and are live logins; a restore should not revive them "
        "(people open their personal link again, and personal links are exported)"
    ),
}

_CHUNK = 500  # rows per INSERT batch and ids per IN (...) check: under every driver's parameter limit


class BackupError(Exception):
    """An export or import refused, with what is wrong and how to fix it. Nothing was written."""


@dataclass(frozen=True)
class Plan:
    """The exported tables in foreign-key order (parents first), each with how its rows are found."""

    tables: list[Table]


def plan(metadata: MetaData | None = None, excluded: dict[str, str] | None = None) -> Plan:
    """Every table is either reachable from the partnership by foreign keys or explicitly excluded."""
    metadata = metadata if metadata is not None else SQLModel.metadata
    excluded = EXCLUDED if excluded is None else excluded
    reachable: list[Table] = []
    names: set[str] = set()
    stray: list[str] = []
    for table in metadata.sorted_tables:
        if table.name in excluded:
            continue
        parents = {fk.column.table.name for fk in table.foreign_keys} - {table.name}
        if table.name == ROOT or parents & names:
            reachable.append(table)
            names.add(table.name)
        else:
            stray.append(table.name)
    if ROOT not in names:
        raise BackupError(f"the schema has no '{ROOT}' table to export from")
    if stray:
        raise BackupError(
            f"table(s) {', '.join(sorted(stray))} are neither reachable from '{ROOT}' by foreign keys nor listed "
            "in EXCLUDED in tasks/ops/backup.py: give them a foreign key to a partnership's row, or exclude them "
            "with a reason"
        )
    for table in reachable:
        for fk in table.foreign_keys:
            if fk.column.table.name not in names:
                raise BackupError(
                    f"{table.name}.{fk.parent.name} points at {fk.column.table.name}, which is excluded from "
                    "exports: its rows could not be imported; export that table too or drop the foreign key"
                )
        if len(table.primary_key.columns) != 1:
            raise BackupError(f"table {table.name} has no single-column primary key; exports need one")
    return Plan(reachable)


# --- encoding each column type --------------------------------------------------------------------

Codec = tuple[str, Callable[[Any], Any], Callable[[Any], Any]]


def _expect(kind: type | tuple[type, ...], what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise ValueError(f"expected {what}, found {json.dumps(value)[:60]}")
        return value

    return check


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _aware(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(_expect(str, "an ISO date-time")(text))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return value.astimezone(dt.UTC)


def _iso(parse: Callable[[str], Any], what: str) -> Callable[[Any], Any]:
    return lambda text: parse(_expect(str, what)(text))


def codec_for(column: sa.Column[Any]) -> Codec:
    """(name, to JSON, from JSON) for a column's type; unknown types are refused rather than guessed."""
    t = column.type
    if isinstance(t, UTCDateTime):
        # Always written with "+00:00": the instant, not the wall clock of whoever exported it.
        return ("datetime-utc", lambda v: v.astimezone(dt.UTC).isoformat(), _aware)
    if isinstance(t, sa.DateTime):
        return ("datetime", lambda v: v.isoformat(), _iso(dt.datetime.fromisoformat, "an ISO date-time"))
    if isinstance(t, sa.Date):
        return ("date", lambda v: v.isoformat(), _iso(dt.date.fromisoformat, "an ISO date"))
    if isinstance(t, sa.Time):
        return ("time", lambda v: v.isoformat(), _iso(dt.time.fromisoformat, "an ISO time"))
    if isinstance(t, sa.JSON):
        # JSON null and SQL NULL both read as None; every JSON column here is NOT NULL, so none is lost.
        return ("json", lambda v: v, lambda v: v)
    if isinstance(t, sa.LargeBinary):
        return (
            "base64",
            lambda v: base64.b64encode(bytes(v)).decode("ascii"),
            lambda v: base64.b64decode(_expect(str, "base64 text")(v), validate=True),
        )
    if isinstance(t, sa.Boolean):
        return ("boolean", lambda v: bool(v), _expect(bool, "true or false"))
    if isinstance(t, sa.Integer):
        return ("integer", lambda v: int(v), _expect(int, "an integer"))
    if isinstance(t, sa.Float):
        return ("float", lambda v: float(v), lambda v: float(_expect((int, float), "a number")(v)))
    if isinstance(t, AutoString) or (isinstance(t, sa.String) and not isinstance(t, sa.Enum)):
        return ("text", lambda v: str(v), _expect(str, "text"))
    raise BackupError(
        f"{column.table.name}.{column.name} has type {t!r}, which exports do not know how to encode: "
        "add it to codec_for in tasks/ops/backup.py"
    )


def _codecs(table: Table) -> dict[str, Codec]:
    return {c.name: codec_for(c) for c in table.columns}


# --- export ---------------------------------------------------------------------------------------


def schema_revision(conn: Connection) -> str:
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        raise BackupError(
            "this database has no Alembic revision (no alembic_version row): run `reportcycle init` on it first"
        )
    return revision


def _selection(p: Plan, slug: str) -> dict[str, sa.ColumnElement[bool]]:
    """For each table, a WHERE clause picking the partnership's rows (subqueries down the foreign keys)."""
    where: dict[str, sa.ColumnElement[bool]] = {}
    for table in p.tables:
        if table.name == ROOT:
            where[ROOT] = table.c.slug == slug
            continue
        links = [
            fk.parent.in_(sa.select(fk.column).where(where[fk.column.table.name]))
            for fk in table.foreign_keys
            if fk.column.table.name in where and fk.column.table is not table
        ]
        where[table.name] = sa.or_(*links)
    return where


def export_partnership(
    conn: Connection, slug: str, *, at: dt.datetime, metadata: MetaData | None = None
) -> dict[str, Any]:
    """The whole partnership as a JSON-ready document. Reads only."""
    p = plan(metadata)
    root = next(t for t in p.tables if t.name == ROOT)
    if conn.execute(sa.select(root.c.id).where(root.c.slug == slug)).first() is None:
        known = ", ".join(conn.execute(sa.select(root.c.slug).order_by(root.c.slug)).scalars()) or "none"
        raise BackupError(f"there is no partnership '{slug}' in this database (partnerships: {known})")
    where = _selection(p, slug)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": schema_revision(conn),
        "exported_at": at.astimezone(dt.UTC).isoformat(),
        "partnership": slug,
        "tables": {},
    }
    fetched: dict[str, list[dict[str, Any]]] = {}
    for table in p.tables:
        (pk,) = table.primary_key.columns
        fetched[table.name] = [
            dict(r) for r in conn.execute(sa.select(table).where(where[table.name]).order_by(pk)).mappings()
        ]
    _check_closed(p, fetched)
    for table in p.tables:
        codecs = _codecs(table)
        document["tables"][table.name] = {
            "columns": {name: codec[0] for name, codec in codecs.items()},
            "rows": [
                {name: None if row[name] is None else codecs[name][1](row[name]) for name in codecs}
                for row in fetched[table.name]
            ],
        }
    return document


def export_snapshot(engine: Engine, slug: str, *, at: dt.datetime) -> dict[str, Any]:
    """Export from one consistent snapshot, so rows written meanwhile (a dispatch, the portal) never
    leave the file with a child whose parent was read before it existed."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            return export_partnership(conn, slug, at=at)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite opens no transaction for SELECTs, so each would read its own moment: open one.
            conn.exec_driver_sql("BEGIN")
        try:
            return export_partnership(conn, slug, at=at)
        finally:
            conn.rollback()


def _check_closed(p: Plan, fetched: dict[str, list[dict[str, Any]]]) -> None:
    """Every foreign key of an exported row points at an exported row, or the file would not import."""
    for table in p.tables:
        for fk in table.foreign_keys:
            have = {row[fk.column.name] for row in fetched[fk.column.table.name]}
            for row in fetched[table.name]:
                value = row[fk.parent.name]
                if value is not None and value not in have:
                    (pk,) = table.primary_key.columns
                    raise BackupError(
                        f"{table.name} {row[pk.name]} points at {fk.column.table.name} {value}, which belongs to "
                        "another partnership: the database is inconsistent; fix that row before exporting"
                    )


def write_export(document: dict[str, Any], path: Path) -> None:
    """Write through a temporary file, so a failed export never leaves half a file under the real name."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise BackupError(f"{path}: cannot write the export there ({exc.strerror}); choose another --out") from None


# --- import ---------------------------------------------------------------------------------------


def read_export(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackupError(
            f"{path}: not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}); the file may be "
            "truncated or edited: use the file `reportcycle export` wrote"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupError(f'{path}: not a reportcycle export (no "format": "{FORMAT}"); nothing was imported')
    return document


@dataclass
class ImportReport:
    partnership: str
    schema_revision: str
    exported_at: str
    rows: dict[str, int]


def import_partnership(conn: Connection, document: dict[str, Any], *, metadata: MetaData | None = None) -> ImportReport:
    """INSERT every row of an export, ids kept. Only inserts: the caller's transaction rolls all of it back
    on any refusal, and append-only tables (the audit log) are never updated."""
    if document.get("format") != FORMAT:
        raise BackupError(f'not a reportcycle export (no "format": "{FORMAT}"); nothing was imported')
    if document.get("version") != VERSION:
        raise BackupError(
            f"export format version {document.get('version')!r} is not one this reportcycle reads ({VERSION}); "
            "import it with the reportcycle version that wrote it"
        )
    p = plan(metadata)
    ours = schema_revision(conn)
    theirs = document.get("schema_revision")
    if theirs != ours:
        raise BackupError(
            f"the file was exported at schema revision {theirs}, this database is at {ours}: import it into a "
            f"database at {theirs} and then run `reportcycle init` to upgrade it; nothing was imported"
        )
    tables = document.get("tables")
    if not isinstance(tables, dict) or set(tables) != {t.name for t in p.tables}:
        found = sorted(tables) if isinstance(tables, dict) else tables
        raise BackupError(
            f"the file's tables ({found}) are not this schema's ({sorted(t.name for t in p.tables)}): "
            "the file is damaged; nothing was imported"
        )
    slug = document.get("partnership")
    root = next(t for t in p.tables if t.name == ROOT)
    if conn.execute(sa.select(root.c.id).where(root.c.slug == slug)).first() is not None:
        raise BackupError(
            f"partnership '{slug}' already exists in this database: import into a database without it; "
            "nothing was imported"
        )
    decoded = {table.name: _decode(table, tables[table.name]) for table in p.tables}
    for table in p.tables:
        _refuse_taken_ids(conn, table, decoded[table.name])
    for table in p.tables:
        for start in range(0, len(decoded[table.name]), _CHUNK):
            try:
                conn.execute(table.insert(), decoded[table.name][start : start + _CHUNK])
            except IntegrityError as exc:
                first = str(exc.orig).splitlines()[0]
                raise BackupError(f"{table.name}: the database refused a row ({first}); nothing was imported") from None
    if conn.dialect.name == "postgresql":
        _move_sequences_past(conn, [t for t in p.tables if decoded[t.name]])
    return ImportReport(
        partnership=str(slug),
        schema_revision=ours,
        exported_at=str(document.get("exported_at")),
        rows={t.name: len(decoded[t.name]) for t in p.tables},
    )


def _decode(table: Table, section: Any) -> list[dict[str, Any]]:
    codecs = _codecs(table)
    expected = {name: codec[0] for name, codec in codecs.items()}
    if not isinstance(section, dict) or section.get("columns") != expected or not isinstance(section.get("rows"), list):
        raise BackupError(f"table {table.name}: its columns in the file are not this schema's; the file is damaged")
    rows = []
    for n, row in enumerate(section["rows"], start=1):
        if not isinstance(row, dict) or set(row) != set(codecs):
            raise BackupError(f"table {table.name}, row {n}: not the table's columns; the file is damaged")
        try:
            rows.append({name: None if row[name] is None else codecs[name][2](row[name]) for name in codecs})
        except (ValueError, TypeError) as exc:
            raise BackupError(f"table {table.name}, row {n}: {exc}; the file is damaged") from None
    return rows


def _refuse_taken_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    (pk,) = table.primary_key.columns
    taken: list[Any] = []
    for chunk in _chunks([row[pk.name] for row in rows]):
        taken += conn.execute(sa.select(pk).where(pk.in_(chunk)).order_by(pk)).scalars().all()
    if taken:
        shown = ", ".join(map(str, taken[:5])) + (" ..." if len(taken) > 5 else "")
        raise BackupError(
            f"{table.name} already has rows with the file's ids ({shown}): ids are kept on import, so import "
            "into a database that does not hold them (a new one, after `reportcycle init`); nothing was imported"
        )


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _move_sequences_past(conn: Connection, tables: list[Table]) -> None:
    """Rows came in with their ids, so each id sequence must move past them or the next insert collides.

    Done last: setval is not undone by a rollback, and by now every insert has succeeded.
    """
    quote = conn.dialect.identifier_preparer
    for table in tables:
        (pk,) = table.primary_key.columns
        sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote.format_table(table), "c": pk.name}
        ).scalar()
        if sequence is None:
            continue
        conn.execute(
            sa.text(
                "SELECT setval(CAST(:s AS regclass), GREATEST("
                f"(SELECT max({quote.quote(pk.name)}) FROM {quote.format_table(table)}), "
                "COALESCE(pg_sequence_last_value(CAST(:s AS regclass)), 1)))"
            ),
            {"s": sequence},
        )
