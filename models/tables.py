"""Every table, registered on SQLModel.metadata: import this where the whole schema matters (Alembic, backups,
`create_all`). Other modules import only the tables they use (see `models/__init__.py`)."""

from models import audit, cycle, inbound, outbox, partnership, portal, report, reviews

__all__ = ["audit", "cycle", "inbound", "outbox", "partnership", "portal", "report", "reviews"]
