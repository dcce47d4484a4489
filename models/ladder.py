"""The chase ladder: which message is due to an agency on which local day.

Everything is derived from the contribution's current deadline and the
cycle's reminder policy, so an extension recomputes what is still to come.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from models.calendar import WorkingCalendar
from models.values import ReminderPolicy


class Kind(StrEnum):
    request = "request"
    reminder = "reminder"
    overdue = "overdue"
    final_notice = "final_notice"
    escalation = "escalation"
    receipt = "receipt"
    returned = "returned"
    extension = "extension"
    digest = "digest"
    weekly_summary = "weekly_summary"
    fresh_link = "fresh_link"
    extension_request = "extension_request"
    handover = "handover"
    published = "published"
    staff_link = "staff_link"  # the Chair's review or the business manager's desk
    extension_refused = "extension_refused"
    excused = "excused"  # the business manager released the agency this year, with the reason
    # From the monitored mailbox (tasks/inbound): an agency's answer forwarded to the business manager, and the
    # answer to a file emailed in that the Word import cannot take, saying why.
    agency_reply = "agency_reply"
    reply_file_refused = "reply_file_refused"
    wrong_sender = "wrong_sender"  # a colleague at the agency wrote from an address that is not its contact's
    emailed_proposal = "emailed_proposal"  # a Word file emailed in, read: the link to check and confirm it


@dataclass(frozen=True)
class Step:
    name: str  # stable within a deadline, e.g. "reminder-14d", "overdue-2"
    kind: Kind
    due_on: dt.date
    track: str  # "agency" steps supersede each other; "escalation" runs beside them


def ladder(policy: ReminderPolicy, deadline: dt.date, calendar: WorkingCalendar) -> list[Step]:
    steps = [
        Step(f"reminder-{d}d", Kind.reminder, calendar.on_or_before(deadline - dt.timedelta(days=d)), "agency")
        for d in sorted(policy.before_days, reverse=True)
    ]
    # Overdue notices start the first working day after the deadline and repeat until the final notice.
    offset = 1
    n = 1
    while offset < policy.final_after_working_days:
        steps.append(Step(f"overdue-{n}", Kind.overdue, calendar.add_working_days(deadline, offset), "agency"))
        offset += policy.overdue_every_working_days
        n += 1
    steps.append(
        Step(
            "final",
            Kind.final_notice,
            calendar.add_working_days(deadline, policy.final_after_working_days),
            "agency",
        )
    )
    steps.append(
        Step(
            "escalation",
            Kind.escalation,
            calendar.add_working_days(deadline, policy.escalate_after_working_days),
            "escalation",
        )
    )
    return sorted(steps, key=lambda s: (s.due_on, s.track))


def due_now(steps: list[Step], today: dt.date, since: dt.date, done: set[str]) -> tuple[list[Step], list[Step]]:
    """(to send, superseded) today, given the step names already sent or superseded.

    Steps that fell due on or before `since` (the day the deadline was set: the
    request, or an extension) never applied and are ignored. On each track
    only the latest step that has fallen due is sent; earlier ones nobody sent
    (an outage, a missed run) are superseded, never sent in a burst.
    """
    send: list[Step] = []
    superseded: list[Step] = []
    for track in ("agency", "escalation"):
        pending = [s for s in steps if s.track == track and since < s.due_on <= today and s.name not in done]
        if pending:
            *older, latest = pending
            send.append(latest)
            superseded.extend(older)
    return send, superseded
