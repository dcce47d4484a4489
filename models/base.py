"""SQLModel's metadata with named constraints: every table module takes SQLModel from here, so the names are
set before its first table is declared."""

from sqlmodel import SQLModel

# Named constraints, so that later migrations can alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__all__ = ["SQLModel"]
