"""The domain: tables, lifecycle rules, calendar and chase ladder. No Prefect, no network."""

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
from models.inbound import EmailedDocument, InboundMessage  # noqa: E402
from models.outbox import OutboundEmail, OutboxStatus  # noqa: E402
from models.partnership import Agency, Contact, ContactRole, Partnership  # noqa: E402
from models.portal import ExtensionRequest, Image, KeptPost, PortalSession, WorkingCopy  # noqa: E402
from models.report import CentralSection, Draft, Publication  # noqa: E402
from models.reviews import CaseReview, ReviewFinding  # noqa: E402

__all__ = [
    "Agency",
    "AuditEvent",
    "CaseReview",
    "CentralSection",
    "Contact",
    "ContactRole",
    "Contribution",
    "Cycle",
    "Draft",
    "EmailedDocument",
    "ExtensionRequest",
    "Image",
    "InboundMessage",
    "KeptPost",
    "OutboundEmail",
    "OutboxStatus",
    "Partnership",
    "PersonalLink",
    "PortalSession",
    "Publication",
    "ReviewDecision",
    "ReviewFinding",
    "Revision",
    "WorkingCopy",
]
