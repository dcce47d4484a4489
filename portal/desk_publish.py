"""Publishing from the desk: the board's sign-off, and now or on a chosen working day.

"Ready to publish" shows once everything is approved or excused. The form asks who agreed the report and when
(a GOV.UK date input), and whether to publish now (through a confirmation page: it cannot be undone) or on a
day; a day is left to the annual-cycle deployment's morning run. Each refusal is put on its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from models.cycle import Cycle
from models.report import Publication
from models.store import calendar_of, partnership_of
from portal.desk_actions import Act
from portal.desk_confirm import DATE_PARTS, typed_date
from tasks.desk.manager_desk import DeskError
from tasks.desk.sign_off import SignOffRefused, ready_to_publish, record_sign_off
from tasks.mail.context import day_text
from tasks.report.collate import latest_draft
from tasks.report.content_gate import overridden
from tasks.report.publish import NotReadyToPublish, let_through, publish, unsettled

# The field each refusal of tasks.desk.sign_off belongs to, by the id the error summary links to.
HREF = {"who": "#signed-off-by", "agreed": "#agreed-day", "publish-on": "#publish-on-day", "when": "#when"}
FIELDS = ["signed-off-by", "when", *(f"{d}-{p}" for d in ("agreed", "publish-on") for p in DATE_PARTS)]


def publication_context(session: Session, cycle: Cycle) -> dict[str, Any]:
    """What the desk's publication section shows: published, ready (and perhaps scheduled), or what is open."""
    published = session.exec(select(Publication).where(Publication.cycle_id == cycle.id)).first()
    ready = ready_to_publish(session, cycle)
    still: list[str] = []
    if not ready and not published:
        open_items = unsettled(session, cycle)
        central = sum(item.startswith("central section ") for item in open_items)
        agencies = len(open_items) - central
        if agencies:
            still.append(f"{agencies} contribution{'' if agencies == 1 else 's'} not yet approved or excused")
        if central:
            still.append(f"{central} central section{'' if central == 1 else 's'} not yet approved")
    holdbacks: list[dict[str, str]] = []
    if not published:  # from the latest draft's collation report: what publishing would refuse, not let through
        draft = latest_draft(session, cycle)
        let = overridden(session, cycle)
        holdbacks = [h for h in (draft.summary.get("holdbacks", []) if draft else []) if h["key"] not in let]
    return {"published": published, "ready": ready, "still_open": still, "holdbacks": holdbacks}


def let_one_through(a: Act) -> object:
    """The business manager lets one holdback be published as it is, with the reason (audited)."""
    s = a.settings
    try:
        return let_through(
            a.session,
            a.cycle,
            a.field("key"),
            reason=a.field("reason"),
            at=a.at,
            actor=a.actor,
            templates_dir=s.templates_dir,
        )
    except NotReadyToPublish as refusal:
        raise DeskError(str(refusal)[:1].upper() + str(refusal)[1:] + ".") from None


def _marked(errors: list[dict[str, str]]) -> dict[str, list[str]]:
    """The date parts to show in error, by date input: every part of a date that was refused."""
    return {name: list(DATE_PARTS) for name in ("agreed", "publish-on") if any(name in e["href"] for e in errors)}


def check(a: Act) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The sign-off as typed, recorded in the session (the caller commits or rolls back); the errors by field."""
    if not ready_to_publish(a.session, a.cycle):  # the form is not on the desk then: say so, not on a field
        raise DeskError(
            "The report is not ready to publish: every contribution must be approved or excused and every central "
            "section approved first. The desk says what is still open."
        )
    errors: list[dict[str, str]] = []
    who = a.field("signed-off-by")
    if not who:
        errors.append(
            {
                "text": "Enter who signed the report off, like the Board at its meeting on 12 June",
                "href": "#signed-off-by",
            }
        )
    agreed, problem, parts = typed_date(a.form, "agreed", "the date the board agreed the report")
    if problem:
        errors.append({"text": problem, "href": f"#agreed-{parts[0]}"})
    when = a.field("when")
    today = calendar_of(partnership_of(a.session, a.cycle)).local(a.at).date()
    publish_on: dt.date | None = today
    if when == "later":
        publish_on, problem, parts = typed_date(a.form, "publish-on", "the day to publish")
        if problem:
            errors.append({"text": problem, "href": f"#publish-on-{parts[0]}"})
        elif publish_on == today:  # the morning run has been; today is what "Publish now" is for
            errors.append({"text": "To publish today, choose Publish now", "href": "#publish-on-day"})
    elif when != "now":
        errors.append({"text": "Choose whether to publish now or on a date", "href": "#when"})
    values = {"who": who, "agreed": agreed, "when": when, "publish_on": publish_on}
    if errors or agreed is None or publish_on is None:
        return values, errors
    try:
        record_sign_off(
            a.session, a.cycle, signed_off_by=who, signed_off_on=agreed, publish_on=publish_on, at=a.at, actor=a.actor
        )
    except SignOffRefused as refusal:
        errors.append({"text": str(refusal), "href": HREF[refusal.field]})
    return values, errors


def error_context(a: Act, errors: list[dict[str, str]]) -> dict[str, Any]:
    """The desk's publication form as it was sent, each error on its field."""
    return {
        "errors": errors,
        "field_errors": {e["href"].removeprefix("#"): e["text"] for e in errors},
        "sent": {name: a.field(name) for name in FIELDS},
        "marked": _marked(errors),
    }


def ask_publish(values: dict[str, Any]) -> dict[str, Any]:
    """The confirmation page for publishing now."""
    return {
        "title": "Publish the report now?",
        "what": [
            f"Signed off by {values['who']}, agreed on {day_text(values['agreed'])}.",
            "The report is published as a web page and a PDF, and frozen with SHA-256: it cannot be changed "
            "afterwards.",
            "Its recipients and every partner agency's contacts are emailed a link to it.",
        ],
        "button": "Publish the report",
        "warning": True,
    }


def publish_now(a: Act) -> None:
    """Publish at once, in this request: the sign-off recorded today, for today."""
    s = a.settings
    try:
        publish(
            a.session,
            a.cycle,
            at=a.at,
            actor=a.actor,
            output_dir=s.output_dir,
            templates_dir=s.templates_dir,
            site_url=s.public_site_url,
        )
    except NotReadyToPublish as refusal:
        raise DeskError(str(refusal)[:1].upper() + str(refusal)[1:] + ".") from None
