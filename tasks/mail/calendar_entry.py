"""The deadline as a calendar entry (.ics, METHOD:REQUEST) attached to the request and its updates.

One UID per contribution, so an extension or a return updates the same entry:
each change of deadline increments SEQUENCE. Client behaviour (Outlook,
Thunderbird) has not been tested here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar

from models.calendar import WorkingCalendar
from models.cycle import Contribution, Cycle
from models.partnership import Agency, Contact, Partnership


def contribution_uid(contribution: Contribution, partnership: Partnership) -> str:
    domain = partnership.from_address.rpartition("@")[2]
    return f"contribution-{contribution.id}-cycle-{contribution.cycle_id}@{domain}"


def deadline_entry(
    *,
    partnership: Partnership,
    cycle: Cycle,
    agency: Agency,
    contribution: Contribution,
    attendees: list[Contact],
    calendar: WorkingCalendar,
    at: dt.datetime,
    link: str,
) -> dict[str, Any]:
    """An outbox attachment: the .ics for this contribution's current deadline."""
    zone = calendar.zone
    due = dt.datetime.combine(contribution.due_date, contribution.cut_off, tzinfo=zone)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//reportcycle//deadline//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    cal.add_component(
        icalendar.Timezone.from_tzid(
            calendar.spec.timezone,
            first_date=min(cycle.requests_on, contribution.due_date) - dt.timedelta(days=1),
            last_date=contribution.due_date + dt.timedelta(days=366),
        )
    )
    event = icalendar.Event()
    event.add("uid", contribution_uid(contribution, partnership))
    event.add("sequence", contribution.calendar_sequence)
    event.add("dtstamp", at.astimezone(dt.UTC))
    event.add("dtstart", due - dt.timedelta(minutes=30))
    event.add("dtend", due)
    event.add("summary", f"{cycle.title}: {agency.name}'s contribution due")
    event.add("description", f"Submit {agency.name}'s contribution by {due:%H:%M} on {due:%A %-d %B %Y}.\n{link}")
    organizer = icalendar.vCalAddress(f"mailto:{partnership.business_manager_email}")
    organizer.params["cn"] = icalendar.vText(partnership.business_manager_name)
    event["organizer"] = organizer
    for contact in attendees:
        attendee = icalendar.vCalAddress(f"mailto:{contact.email}")
        attendee.params["cn"] = icalendar.vText(contact.name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee, encode=False)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    cal.add_component(event)
    return {
        "filename": "deadline.ics",
        "content_type": "text/calendar",
        "method": "REQUEST",
        "content": cal.to_ical().decode(),
    }
