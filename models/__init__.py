"""The domain: tables, lifecycle rules, calendar and chase ladder. No Prefect, no network."""

from models.audit import AuditEvent
from models.cycle import Contribution, Cycle, PersonalLink, ReviewDecision, Revision
from models.outbox import OutboundEmail, OutboxStatus
from models.partnership import Agency, Contact, ContactRole, Partnership

__all__ = [
    "Agency",
    "AuditEvent",
    "Contact",
    "ContactRole",
    "Contribution",
    "Cycle",
    "OutboundEmail",
    "OutboxStatus",
    "Partnership",
    "PersonalLink",
    "ReviewDecision",
    "Revision",
]
