"""Plain words on every page: states as people say them, times in the partnership's zone, dates written out.

The database keeps short codes ("in_review") and UTC; nobody reading a page should see either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from tasks.mail.context import day_text

# A contribution's state, said to the agency that writes it and to the staff who follow it.
CONTRIBUTION_FOR_AGENCY = {
    "pending": "Not asked for yet",
    "requested": "Waiting for you",
    "submitted": "With the Chair",
    "returned": "Returned to you for changes",
    "approved": "Approved",
    "excused": "Excused this year",
}
CONTRIBUTION_FOR_STAFF = {
    "pending": "Not asked for yet",
    "requested": "Waiting for the agency",
    "submitted": "With the Chair",
    "returned": "Returned to the agency",
    "approved": "Approved",
    "excused": "Excused",
}
CYCLE = {
    "planned": "Planned, not open yet",
    "open": "Open: agencies are writing",
    "in_review": "With the Chair",
    "published": "Published",
    "closed": "Closed",
}
# The Design System's tag colours for a state: what needs someone's action stands out.
TAG_COLOURS = {
    "pending": "govuk-tag--grey",
    "requested": "govuk-tag--blue",
    "submitted": "govuk-tag--purple",
    "returned": "govuk-tag--orange",
    "approved": "govuk-tag--green",
    "excused": "govuk-tag--grey",
    "overdue": "govuk-tag--red",
}


def contribution_state(code: str, *, staff: bool = False, overdue: bool = False) -> str:
    words = (CONTRIBUTION_FOR_STAFF if staff else CONTRIBUTION_FOR_AGENCY).get(code, code.replace("_", " "))
    return f"{words} (overdue)" if overdue and code in ("requested", "returned") else words


def cycle_state(code: str) -> str:
    return CYCLE.get(code, code.replace("_", " "))


def local_time(at: dt.datetime | None, zone: str) -> str:
    """ "14:05 on Wednesday 1 May 2019" in the partnership's zone; a naive time is taken as UTC (as stored)."""
    if at is None:
        return ""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    here = aware.astimezone(ZoneInfo(zone))
    return f"{here:%H:%M} on {day_text(here.date())}"


def install_filters(env: Environment) -> None:
    filters: dict[str, Any] = {
        "agency_state": contribution_state,
        "staff_state": lambda code, overdue=False: contribution_state(code, staff=True, overdue=overdue),
        "cycle_state": cycle_state,
        "tag_colour": lambda code: TAG_COLOURS.get(code, ""),
        "local_time": local_time,
        "day_text": day_text,
    }
    env.filters.update(filters)
