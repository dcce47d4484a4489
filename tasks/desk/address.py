"""An address that bounced, put right on the desk: corrected in place, or said to work again."""

from __future__ import annotations

import datetime as dt

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session

from models.audit import record
from models.cycle import Contribution, Cycle
from models.partnership import Contact
from tasks.desk.manager_desk import DeskError

# The audit action a fix leaves: the chase reads it to send to a refused address again (see refused_addresses).
FIXED = "contact.address_fixed"


def fix_address(
    session: Session, cycle: Cycle, contribution: Contribution, contact_id: int, email: str, at: dt.datetime, actor: str
) -> Contact:
    """The contact's address corrected (`email` differs) or confirmed working (`email` the same, after the agency
    says so): it is no longer undeliverable, so the next chaser goes to it again."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.agency_id != contribution.agency_id:
        raise DeskError("That contact is not one of this agency's: reload the page and try again.")
    if contact.undeliverable is None:
        raise DeskError(f"{contact.email} is not marked as bouncing: there is nothing to put right.")
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DeskError(f"That email address does not look right: {exc}") from None
    before, bounced = contact.email, contact.undeliverable
    contact.email, contact.undeliverable = address, None
    session.add(contact)
    record(
        session,
        at=at,
        actor=actor,
        action=FIXED,
        subject=f"contribution:{contribution.id}",
        cycle_id=cycle.id,
        contact=contact.id,
        before=before,
        email=address,
        how="corrected" if address != before else "works again",
        bounced=bounced,
    )
    return contact
