"""The domain: tables, lifecycle rules, calendar and chase ladder. No Prefect, no network.

Importing any module of the package registers the core tables (partnerships, cycles, the report, the audit
log and the outbox) on SQLModel.metadata: every table's foreign keys name only these, or tables of its own
module, so a flush can always order them. The other tables (inbound mail, the portal's, the reviews
register) are registered by the module that uses them, so a command such as `status` does not build them;
`import models.tables` registers every one (Alembic, backups, `create_all`).
"""

from sqlmodel import SQLModel

# Named constraints, so that later migrations can alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from models.audit import AuditEvent  # noqa: E402
from models.cycle import Contribution, Cycle, PersonalLink, ReviewDecision, Revision  # noqa: E402
from models.outbox import OutboundEmail, OutboxStatus  # noqa: E402
from models.partnership import Agency, Contact, ContactRole, Partnership  # noqa: E402
from models.report import CentralSection, Draft, Publication  # noqa: E402

__all__ = [
    "Agency",
    "AuditEvent",
    "CentralSection",
    "Contact",
    "ContactRole",
    "Contribution",
    "Cycle",
    "Draft",
    "OutboundEmail",
    "OutboxStatus",
    "Partnership",
    "PersonalLink",
    "Publication",
    "ReviewDecision",
    "Revision",
]
