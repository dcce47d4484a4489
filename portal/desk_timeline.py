"""What happened to a contribution, in words, from the audit log; and the desk's other plain words.

The audit log keeps short action names ("contribution.extend") and details as stored; the desk says them as
a business manager would, and leaves out what only a developer would read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from models.audit import AuditEvent
from models.cycle import Contribution
from tasks.mail.context import day_text

# A central section's state, said to staff (contributions use the shared `staff_state` words).
CENTRAL_WORDS = {"draft": "Draft", "approved": "Approved", "returned": "Returned to the business manager"}
CENTRAL_TAGS = {"draft": "govuk-tag--purple", "approved": "govuk-tag--green", "returned": "govuk-tag--orange"}

# The kinds of email the desk may show, as people call them.
EMAIL_WORDS = {
    "request": "Request for the contribution",
    "reminder": "Reminder",
    "overdue": "Overdue notice",
    "final_notice": "Final notice",
    "escalation": "Escalation",
    "receipt": "Receipt",
    "returned": "Returned with the Chair's comments",
    "extension": "New deadline",
    "extension_refused": "Extension refused",
    "extension_request": "Extension request",
    "fresh_link": "Fresh link",
    "handover": "Hand-over",
    "staff_link": "Staff link",
    "excused": "Excused this year",
    "digest": "Digest",
    "weekly_summary": "Weekly summary",
    "published": "Report published",
    "agency_reply": "Agency's reply, forwarded",
    "reply_file_refused": "File emailed in refused, with the reason",
    "emailed_proposal": "Emailed document to check and confirm",
}

# The lifecycle's actions on a contribution, as they read in its timeline.
ACTIONS = {
    "create": "Added to the cycle",
    "request": "Asked for the contribution",
    "submit": "Submitted",
    "approve": "Approved by the Chair",
    "return": "Returned by the Chair for changes",
    "excuse": "Excused",
    "unexcuse_to_pending": "Excusal undone",
    "unexcuse_to_requested": "Excusal undone: asked again",
    "unexcuse_to_returned": "Excusal undone: back with the agency for changes",
    "extend": "Deadline moved",
    "sign_off": "Signed off",
}


# Everything else the log records about a contribution, by its full action name.
OTHER_ACTIONS = {
    "link.revoke": "Links withdrawn",
    "link.resend": "New link sent",
    "link.handover": "Handed over to a colleague",
    "link.fresh": "Asked for a fresh link: sent",
    "link.fresh.withdrawn": "Asked for a fresh link: refused, as the links were withdrawn",
    "contact.replace": "Contact replaced",
    "extension.request": "Extension asked for",
    "extension.refuse": "Extension refused",
    "working_copy.save": "Draft saved",
    "image.upload": "Picture added",
    "chase.superseded": "Chaser skipped: a later one went instead",
    "escalation.confirm": "Escalation released",
    "inbound.reply": "Replied by email",
    "inbound.auto_reply": "Automatic reply",
    "inbound.bounce": "Email bounced",
    "inbound.proposal": "Document emailed in: sent back to its sender to check and confirm",
}


def _date_words(value: object) -> str:
    try:
        return day_text(dt.date.fromisoformat(str(value)))
    except ValueError:
        return ""


def _what(event: AuditEvent) -> str:
    """The event in a sentence: the action's words, and the one detail that matters to the reader."""
    name = event.action.removeprefix("contribution.")
    detail = event.detail or {}
    if event.action.startswith("chase."):
        kind = EMAIL_WORDS.get(event.action.removeprefix("chase."), "Chaser")
        return f"{kind} {'held for you to confirm' if detail.get('status') == 'held' else 'queued to send'}"
    words = (
        ACTIONS.get(name) or OTHER_ACTIONS.get(event.action) or name.replace(".", " ").replace("_", " ").capitalize()
    )
    if event.action == "contact.replace" and isinstance(detail.get("after"), list):
        before = detail.get("before")
        was = f"{before[0]}" if isinstance(before, list) and before else "nobody"
        words = f"{words}: {detail.get('role', '')}, {was} by {detail['after'][0]}"
    if event.action == "inbound.auto_reply" and detail.get("until"):
        words = f"{words}: away until {_date_words(detail['until'])}"
    if event.action == "inbound.reply":
        file = f" (with {detail['attachment']})" if detail.get("attachment") else ""
        words = f"{words}{file}: {detail.get('text', '')}"
    if name == "extend":
        old, new = _date_words(detail.get("old_due")), _date_words(detail.get("new_due"))
        if old and new:
            words = f"{words} from {old} to {new}"
    reason = str(detail.get("reason", "")).strip()
    return f"{words}. Reason: {reason}" if reason else words


def timeline(session: Session, contribution: Contribution, limit: int = 50) -> list[dict[str, Any]]:
    """The contribution's audited events, newest first: when (UTC, for the page to put in local time), who, what."""
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.subject == f"contribution:{contribution.id}")
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    ).all()
    return [{"at": e.at, "who": e.actor, "what": _what(e)} for e in events]
