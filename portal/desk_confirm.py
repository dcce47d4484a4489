"""The desk's second step: what an action will do, said before it is done, and dates typed as day, month, year.

Withdrawing links, replacing a contact, excusing an agency (and undoing it), cancelling an email, and a deadline
that is unusual all come back first as a page saying what will happen; only the post from that page, marked
`confirm=yes`, does it. Nothing is written until then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from email_validator import EmailNotValidError, validate_email

from models.outbox import OutboundEmail
from models.partnership import Agency
from models.status import OWING
from models.store import contacts_of
from portal.desk_actions import Act
from portal.words import contribution_state
from tasks.desk.manager_desk import DeskError
from tasks.mail.context import day_text

# The actions that always ask first; "extend" asks only when the date deserves a second look.
ASK_FIRST = {"revoke", "replace", "excuse", "unexcuse", "cancel-email"}
# Form fields the confirmation page does not carry over: its own, and what it asks for again.
NOT_CARRIED = {"csrf", "confirm", "reason"}
DATE_PARTS = ("day", "month", "year")
ROLE_WORDS = {"lead": "lead contact", "deputy": "deputy", "senior": "senior officer", "writer": "writer"}


def confirmed(form: Any) -> bool:
    return str(form.get("confirm", "")) == "yes"


def typed_date(form: Any, name: str, what: str) -> tuple[dt.date | None, str, list[str]]:
    """The date typed in the GOV.UK date input `name` (fields name-day, name-month, name-year): the date, or the
    one-line error and the parts to mark."""
    parts = {p: str(form.get(f"{name}-{p}", "")).strip() for p in DATE_PARTS}
    missing = [p for p in DATE_PARTS if not parts[p]]
    if len(missing) == len(DATE_PARTS):
        return None, f"Enter {what} as a day, month and year, like 27 3 2026", list(DATE_PARTS)
    if missing:
        return None, f"{what[:1].upper()}{what[1:]} must include a {' and a '.join(missing)}", missing
    wrong = [p for p in DATE_PARTS if not parts[p].isdigit() or len(parts[p]) > 4]
    if not wrong and len(parts["year"]) != 4:
        wrong = ["year"]
    if not wrong:
        try:
            return dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"])), "", []
        except ValueError:
            wrong = list(DATE_PARTS)
    return None, f"{what[:1].upper()}{what[1:]} must be a real date, like 27 3 2026", wrong


def replace_problems(form: Any) -> list[dict[str, str]]:
    """What is wrong with a new contact as typed on the agency's page, each error on its field, before the
    confirmation page: the same rules the replacement itself keeps (tasks.desk.manager_desk.replace_contact)."""
    errors = []
    if str(form.get("role", "")) not in ROLE_WORDS:
        errors.append({"text": "Choose which contact to replace", "href": "#replace-role"})
    if not str(form.get("name", "")).strip():
        errors.append({"text": "Enter the new contact's name", "href": "#replace-name"})
    try:
        validate_email(str(form.get("email", "")).strip(), check_deliverability=False)
    except EmailNotValidError:
        errors.append(
            {"text": "Enter an email address in the correct format, like name@example.org", "href": "#replace-email"}
        )
    return errors


def carried(form: Any) -> list[tuple[str, str]]:
    """The first form's fields, to post again from the confirmation page (a file upload is never carried)."""
    return [(k, str(v)) for k, v in form.multi_items() if k not in NOT_CARRIED and isinstance(v, str)]


def _agency(a: Act) -> Agency:
    contribution = a.contribution()  # refuses a slug that is not one of the partnership's agencies
    agency = a.session.get(Agency, contribution.agency_id)
    assert agency is not None
    return agency


def ask(a: Act, action: str, warnings: list[str] | None = None) -> dict[str, Any]:
    """The confirmation page for `action` on the form `a` carries: its heading, what will happen, the button."""
    if action == "cancel-email":
        row = a.session.get(OutboundEmail, a.row_id("email"))
        if row is None or row.cycle_id != a.cycle.id:
            raise DeskError("There is no such email in this cycle.")
        to = ", ".join(row.to_addrs)
        return {
            "title": f"Cancel the email to {to}?",
            "what": [
                f"“{row.subject}” will not be sent, now or later. It stays in the record as cancelled.",
                "If they still need to hear from you, send it again from the desk or write to them yourself.",
            ],
            "reason": {"label": "Why (kept in the audit log; optional)", "required": False},
            "button": "Cancel the email",
            "warning": True,
            "back": f"/desk/{a.cycle.id}",
        }
    agency = _agency(a)
    back = f"/desk/{a.cycle.id}/agency/{agency.slug}"
    contacts = contacts_of(a.session, agency)
    if action == "revoke":
        return {
            "title": f"Withdraw every link to {agency.name}'s contribution?",
            "what": [
                "Every personal link sent to its contacts stops working now, and anyone signed in from one is "
                "signed out.",
                "They cannot get back in with the fresh-link form: only a new link you send from this desk lets "
                "someone in again.",
            ],
            "button": "Withdraw the links",
            "warning": True,
            "back": back,
        }
    if action == "replace":
        role = a.field("role")
        old = contacts.get(role)
        who = ROLE_WORDS.get(role, role)
        new = f"{a.field('name')} ({a.field('email')})"
        return {
            "title": f"Replace {agency.name}'s {who}?",
            "what": [
                f"{old.name} ({old.email}) will no longer be {agency.name}'s {who}: their links are withdrawn now "
                "and they are signed out."
                if old
                else f"{agency.name} has no {who} yet.",
                f"{new} becomes the {who} and is sent a personal link of their own.",
            ],
            "button": "Replace the contact",
            "warning": True,
            "back": back,
        }
    if action == "excuse":
        status = a.contribution().status
        if status not in OWING:  # asked first, refused first: not after the manager has written a reason
            words = contribution_state(status, staff=True).lower()
            raise DeskError(f"{agency.name} cannot be excused now: its contribution is {words}.")
        told = ", ".join(dict.fromkeys(c.email for c in contacts.values())) or "nobody (it has no contacts)"
        return {
            "title": f"Excuse {agency.name} this year?",
            "what": [
                f"{agency.name} is not asked for anything more: no reminders, no overdue notices.",
                f"The report will name {agency.name} as excused this year.",
                f"Its contacts are told by email, with the reason you give below: {told}.",
                "You can undo this from the agency's page; they would then be asked again.",
            ],
            "reason": {
                "label": "Why is the agency excused?",
                "hint": "The agency is told this, and the audit log keeps it.",
                "required": True,
            },
            "button": "Excuse the agency",
            "warning": True,
            "back": back,
        }
    if action == "unexcuse":
        return {
            "title": f"Ask {agency.name} again?",
            "what": [
                f"{agency.name} is no longer excused: its contribution goes back to the state it was in, and the "
                "reminders pick up from where its deadline stands.",
            ],
            "reason": {"label": "Why (kept in the audit log; optional)", "required": False},
            "button": "Undo the excusal",
            "warning": False,
            "back": back,
        }
    if action == "extend":
        until, _, _ = typed_date(a.form, "until", "the new deadline")
        assert until is not None
        return {
            "title": f"Move {agency.name}'s deadline to {day_text(until)}?",
            "what": [f"{agency.name} is told by email, with a new calendar entry; its reminders follow the new date."],
            "warnings": [w[:1].upper() + w[1:] + "." for w in warnings or []],
            "button": "Move the deadline anyway",
            "warning": False,
            "back": back,
        }
    raise DeskError("There is no such action.")
