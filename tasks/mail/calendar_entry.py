"""The deadline as a calendar entry (iTIP: METHOD:REQUEST, then METHOD:CANCEL once it no longer applies).

One UID per contribution, so every message about it updates the same entry: an extension or a return sends a
REQUEST with SEQUENCE + 1, a submission or an excusal a CANCEL with SEQUENCE + 1 (RFC 5546 3.2.5), and a
return after that a new REQUEST, which puts the entry back. The ORGANIZER is the partnership's From address,
as calendar clients match the organizer against the sender before they offer to update an entry.
Client behaviour (Outlook, Gmail) has been checked against their documented expectations, not live clients.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from models.calendar import WorkingCalendar
from models.cycle import Contribution, Cycle
from models.partnership import Agency, Contact, Partnership
from tasks.mail.context import day_text

Transition = tuple[dt.datetime, dt.timedelta, dt.timedelta]  # (instant in UTC, offset before, offset after)


def contribution_uid(contribution: Contribution, partnership: Partnership) -> str:
    domain = partnership.from_address.rpartition("@")[2]
    return f"contribution-{contribution.id}-cycle-{contribution.cycle_id}@{domain}"


def _offset(zone: ZoneInfo, instant: dt.datetime) -> dt.timedelta:
    return instant.astimezone(zone).utcoffset() or dt.timedelta(0)


@lru_cache(maxsize=64)  # a cycle's opening asks for the same zone and years once per agency
def transitions(zone: ZoneInfo, year: int) -> list[Transition]:
    """The zone's changes of UTC offset in a year, to the minute: a daily scan, then halving each day found."""
    found: list[Transition] = []
    day = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    while day.year == year:
        after = day + dt.timedelta(days=1)
        if _offset(zone, day) != _offset(zone, after):
            low, high = day, after
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(zone, middle) == _offset(zone, low) else (low, middle)
            instant = high.replace(second=0, microsecond=0)
            found.append((instant, _offset(zone, low), _offset(zone, high)))
        day = after
    return found


def _nth(day: dt.date) -> int:
    """Which of the month's weekdays this is, as an RRULE says it: 1 to 4, or -1 for the last."""
    return -1 if (day + dt.timedelta(days=7)).month != day.month else (day.day - 1) // 7 + 1


def _rule_date(year: int, month: int, weekday: int, nth: int) -> dt.date:
    if nth == -1:
        last = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def vtimezone(name: str, first: dt.date, last: dt.date) -> icalendar.Timezone:
    """The zone's VTIMEZONE with its yearly rules (STANDARD and DAYLIGHT, each with an RRULE) read from the tz
    database, checked against every transition from `first` to `last`. A zone whose changes no yearly rule
    describes over those years (a law changed them) gets icalendar's own span of dated transitions instead."""
    zone = ZoneInfo(name)
    changes = transitions(zone, first.year)
    tz = icalendar.Timezone()
    tz.add("tzid", name)
    if not changes:  # no daylight saving: one STANDARD observance for ever
        noon = dt.datetime(first.year, 1, 1, 12, tzinfo=dt.UTC)
        offset = _offset(zone, noon)
        epoch = dt.datetime(1970, 1, 1)  # noqa: DTZ001  # an observance starts at a wall-clock time, zone-less
        tz.add_component(_observance("STANDARD", epoch, offset, offset, noon.astimezone(zone).tzname()))
        return tz
    rules = []
    for instant, before, after in changes:
        local = (instant + before).replace(tzinfo=None)  # the wall-clock time the change happens at
        rules.append((instant, local, before, after, _nth(local.date())))
    for year in range(first.year, last.year + 1):
        expected = sorted(
            dt.datetime.combine(_rule_date(year, local.month, local.weekday(), nth), local.time())
            for _, local, _, _, nth in rules
        )
        actual = sorted((i + b).replace(tzinfo=None) for i, b, _ in transitions(zone, year))
        if expected != actual:
            return icalendar.Timezone.from_tzid(name, first_date=first, last_date=last)
    for instant, local, before, after, nth in rules:
        part = _observance(
            "DAYLIGHT" if after > before else "STANDARD",
            # the rule's first occurrence in 1970, as clients expect an observance to start before any date used
            dt.datetime.combine(_rule_date(1970, local.month, local.weekday(), nth), local.time()),
            before,
            after,
            instant.astimezone(zone).tzname(),
        )
        part.add("rrule", {"freq": "yearly", "bymonth": local.month, "byday": f"{nth}{WEEKDAYS[local.weekday()]}"})
        tz.add_component(part)
    return tz


def _observance(
    kind: str, start: dt.datetime, before: dt.timedelta, after: dt.timedelta, name: str | None
) -> icalendar.cal.Component:
    part = icalendar.TimezoneDaylight() if kind == "DAYLIGHT" else icalendar.TimezoneStandard()
    part.add("dtstart", start)
    part.add("tzoffsetfrom", before)
    part.add("tzoffsetto", after)
    if name:
        part.add("tzname", name)
    return part


def _calendar(method: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//reportcycle//deadline//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    return cal


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
    method: str = "REQUEST",
) -> dict[str, Any]:
    """An outbox attachment: the .ics for this contribution's current deadline, as a REQUEST (put it in the
    calendar, or move it there) or a CANCEL (take it out: the contribution is in, or not wanted this year).
    The caller has already raised `contribution.calendar_sequence` for any change after the first REQUEST."""
    zone = calendar.zone
    due = dt.datetime.combine(contribution.due_date, contribution.cut_off, tzinfo=zone)
    cal = _calendar(method)
    cal.add_component(
        vtimezone(
            calendar.spec.timezone,
            min(cycle.requests_on, contribution.due_date) - dt.timedelta(days=1),
            contribution.due_date + dt.timedelta(days=366),
        )
    )
    event = icalendar.Event()
    event.add("uid", contribution_uid(contribution, partnership))
    event.add("sequence", contribution.calendar_sequence)
    event.add("dtstamp", at.astimezone(dt.UTC))
    event.add("dtstart", due - dt.timedelta(minutes=30))
    event.add("dtend", due)
    event.add("summary", f"{cycle.title}: {agency.name}'s contribution due")
    if method == "CANCEL":
        event.add("description", f"No longer needed: {agency.name}'s contribution is in, or not asked for this year.")
        event.add("status", "CANCELLED")
    else:
        when = f"{due:%H:%M} on {day_text(due.date())}"
        event.add("description", f"Submit {agency.name}'s contribution by {when}.\n{link}")
        event.add("status", "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{partnership.from_address}")
    organizer.params["cn"] = icalendar.vText(partnership.name)
    event["organizer"] = organizer
    for contact in attendees:
        attendee = icalendar.vCalAddress(f"mailto:{contact.email}")
        attendee.params["cn"] = icalendar.vText(contact.name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee, encode=False)
    event.add("transp", "TRANSPARENT")
    cal.add_component(event)
    return {
        "filename": "deadline.ics",
        "content_type": "text/calendar",
        "method": method,
        "content": cal.to_ical().decode(),
    }
