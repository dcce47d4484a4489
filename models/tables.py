"""Every table, registered on SQLModel.metadata: import this where the whole schema matters (Alembic, backups,
`create_all`). The package itself registers only the core tables (see `models/__init__.py`)."""

from models import inbound, portal, reviews

__all__ = ["inbound", "portal", "reviews"]
