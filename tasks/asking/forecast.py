"""What will happen: every email the ladder sends from now on if nobody answers, and every stage's date.

The forecast replays the real chase day by day (`models.ladder.due_now` over each working day, the
addressees from `tasks.asking.chase.audience`), so it says what the chase will do, not what a second
reading of the policy thinks it should. For a running cycle the outbox supplies what already went.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from models.calendar import WorkingCalendar
from models.cycle import Contribution, Cycle
from models.ladder import Kind, Step, due_now, ladder
from models.lifecycle import AWAITING, CycleState
from models.outbox import OutboundEmail
from models.partnership import Agency, Contact
from models.store import calendar_of, contributions, cycle_values, partnership_of
from tasks.asking.chase import audience, contacts_by_agency_id, refused_addresses, steps_done
from tasks.asking.cycle_open import ASKED

# The deployments' clocks (deployments/schedules.py, checked by tests/test_forecast.py): the year's run opens a
# cycle at 08:30 on working mornings and the daily chase runs at 09:00, both in the partnership's zone.
OPEN_TIME = dt.time(8, 30)
CHASE_TIME = dt.time(9, 0)
LADDER_KINDS = (Kind.request, Kind.reminder, Kind.overdue, Kind.final_notice, Kind.escalation)
KIND_WORDS: dict[str, str] = {
    Kind.request: "Request",
    Kind.reminder: "Reminder",
    Kind.overdue: "Overdue notice",
    Kind.final_notice: "Final notice",
    Kind.escalation: "Escalation",
}


@dataclass(frozen=True)
class ForecastEmail:
    on: dt.date  # the local day
    at: dt.time  # the local time it goes (or went)
    agency: str
    slug: str
    kind: str
    step: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    state: str  # "sent", "queued", "held", "superseded", ... from the outbox; "to come" for the forecast
    note: str = ""

    @property
    def kind_text(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind.replace("_", " "))


@dataclass(frozen=True)
class Stage:
    name: str
    on: dt.date
    note: str = ""


@dataclass(frozen=True)
class DayOff:
    on: dt.date
    name: str  # the bank holiday's name, or "Saturday" / "Sunday"
    stepped: tuple[str, ...]  # the ladder steps that moved because of it: "reminder-14d", "escalation"


@dataclass
class Forecast:
    cycle: str
    status: str
    timezone: str
    chase_time: dt.time
    emails: list[ForecastEmail] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    days_off: list[DayOff] = field(default_factory=list)


def opening_day(cycle: Cycle, calendar: WorkingCalendar, at: dt.datetime) -> dt.date:
    """The local day the year's run opens a planned cycle: its requests date or, once that has come, the next run
    (today if its time has not passed); never at a weekend (the run's cron is Monday to Friday; it does run on a
    bank holiday, and the requests then wait for the next send window)."""
    return _next_run(max(cycle.requests_on, _first_run_day(calendar, at, OPEN_TIME)))


def _first_run_day(calendar: WorkingCalendar, at: dt.datetime, run_time: dt.time) -> dt.date:
    """Today if a run at `run_time` is still to come today, else tomorrow."""
    local = calendar.local(at)
    return local.date() + dt.timedelta(days=0 if local.time() < run_time else 1)


def _next_run(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _manager(session: Session, cycle: Cycle) -> Contact:
    partnership = partnership_of(session, cycle)
    return Contact(
        agency_id=0, role="manager", name=partnership.business_manager_name, email=partnership.business_manager_email
    )


def _moved(step: Step, deadline: dt.date, days_before: dict[str, int]) -> dt.date | None:
    """The calendar day a reminder would fall on had it been a working day (it moves back to the one before)."""
    if step.name not in days_before:
        return None
    raw = deadline - dt.timedelta(days=days_before[step.name])
    return raw if raw != step.due_on else None


def _replay(
    steps: list[Step], since: dt.date, start: dt.date, done: set[str], calendar: WorkingCalendar
) -> list[tuple[dt.date, Step, bool]]:
    """(day, step, superseded) for each chase run from `start` until the ladder ends, nobody answering."""
    done = set(done)
    out: list[tuple[dt.date, Step, bool]] = []
    last = max((s.due_on for s in steps), default=start)
    day = start
    while day <= last:
        if calendar.is_working_day(day):
            send, superseded = due_now(steps, day, since, done)
            out += [(day, s, True) for s in superseded] + [(day, s, False) for s in send]
            done |= {s.name for s in send + superseded}
        day += dt.timedelta(days=1)
    return out


def _sent(
    session: Session, cycle: Cycle, calendar: WorkingCalendar, agencies: dict[int, Agency]
) -> list[ForecastEmail]:
    """What the outbox already holds for this cycle's ladder: sent, waiting to go, held or superseded."""
    rows = session.exec(
        select(OutboundEmail, Contribution)
        .join(Contribution, col(OutboundEmail.contribution_id) == Contribution.id)
        .where(OutboundEmail.cycle_id == cycle.id, col(OutboundEmail.kind).in_([str(k) for k in LADDER_KINDS]))
    ).all()
    found = []
    for row, contribution in rows:
        when = calendar.local(row.sent_at or row.next_attempt_at)
        agency = agencies[contribution.agency_id]
        step = row.idempotency_key.rsplit(":", 1)[-1] if ":deadline:" in row.idempotency_key else "request"
        found.append(
            ForecastEmail(
                when.date(), when.time().replace(microsecond=0), agency.name, agency.slug, row.kind, step,
                tuple(row.to_addrs), tuple(row.cc_addrs), str(row.status),
            )
        )  # fmt: skip
    return found


def forecast(session: Session, cycle: Cycle, *, at: dt.datetime) -> Forecast:
    """Every ladder email from `at` on if nobody answers, what already went, the stages and the days off."""
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    _, _, policy, _, _ = cycle_values(cycle)
    result = Forecast(f"{partnership.name}: {cycle.title}", cycle.status, calendar.spec.timezone, CHASE_TIME)
    manager = _manager(session, cycle)
    planned = cycle.status == CycleState.planned
    days_before = {f"reminder-{d}d": d for d in policy.before_days}
    moved: dict[dt.date, set[str]] = defaultdict(set)

    # The daily chase is the only run that sends chasers: today's, if its time has not passed.
    first_chase = _first_run_day(calendar, at, CHASE_TIME)
    # What each agency is waiting on: (agency, deadline, the day it was set, steps already done).
    waiting: list[tuple[Agency, dt.date, dt.date, set[str]]] = []
    if planned:
        open_on = opening_day(cycle, calendar, at)
        agencies = session.exec(
            select(Agency).where(Agency.partnership_id == partnership.id, col(Agency.active)).order_by(col(Agency.id))
        ).all()
        contacts = contacts_by_agency_id(session, [a.id or 0 for a in agencies])
        request_at = calendar.local(calendar.next_send_time(calendar.at_local(open_on, OPEN_TIME)))
        for agency in agencies:
            for role in ASKED:
                contact = contacts.get(agency.id or 0, {}).get(role)
                if contact is not None:
                    result.emails.append(
                        ForecastEmail(
                            request_at.date(), request_at.time(), agency.name, agency.slug, Kind.request, "request",
                            (contact.email,), (), "to come",
                        )
                    )  # fmt: skip
            waiting.append((agency, cycle.contributions_due, open_on, set()))
        refused: set[str] = set()
        result.stages.append(Stage("Requests sent", request_at.date(), f"opened on {open_on:%A %-d %B %Y}"))
    else:
        pairs = contributions(session, cycle)
        agencies_by_id = {a.id or 0: a for _, a in pairs}
        contacts = contacts_by_agency_id(session, list(agencies_by_id))
        done = steps_done(session, cycle)
        refused = refused_addresses(session, cycle)
        result.emails += _sent(session, cycle, calendar, agencies_by_id)
        for contribution, agency in pairs:
            if contribution.status in AWAITING:
                key = (contribution.id or 0, contribution.due_date.isoformat())
                waiting.append((agency, contribution.due_date, contribution.deadline_set_on, done.get(key, set())))
        if cycle.opened_at is not None:
            result.stages.append(Stage("Requests sent", calendar.local(cycle.opened_at).date(), "the cycle opened"))

    for agency, deadline, since, already in waiting:
        steps = ladder(policy, deadline, calendar)
        agency_contacts = contacts.get(agency.id or 0, {})
        for day, step, superseded in _replay(steps, since, first_chase, already, calendar):
            addressee, to, cc = audience(step, agency_contacts, manager, refused)
            if addressee is None or not to:
                continue  # the chase skips it too: nobody to write to
            raw = _moved(step, deadline, days_before)
            note = ""
            if raw is not None:
                why = calendar.holiday_name(raw) or f"a {raw:%A}"
                note = f"{raw:%-d %B} is {why}: sent the working day before"
                moved[raw].add(step.name)
            elif step.kind != Kind.reminder:  # counted in working days: a bank holiday on the way pushes it on
                _holidays_between(calendar, deadline, step.due_on, step.name, moved)
            if superseded:
                note = "superseded by a later step the same day: not sent"
            elif step.kind == Kind.escalation and policy.escalation_needs_confirmation:
                note = "held until the business manager confirms it"
            result.emails.append(
                ForecastEmail(
                    day, CHASE_TIME, agency.name, agency.slug, step.kind, step.name, tuple(to), tuple(cc),
                    "superseded" if superseded else "to come", note,
                )
            )  # fmt: skip
    result.emails.sort(key=lambda e: (e.on, e.at, e.agency, e.step, e.to))

    result.stages.append(Stage("Contributions due", cycle.contributions_due, f"by {cycle.cut_off:%H:%M}"))
    result.stages.append(Stage("The Chair's review due", cycle.review_due))
    if cycle.publish_on is not None:
        result.stages.append(Stage("Publish on", cycle.publish_on, "the day the business manager chose"))
    result.stages.append(Stage("Publish by", cycle.publish_by))
    result.days_off = _days_off(calendar, result, moved)
    return result


def _holidays_between(
    calendar: WorkingCalendar, start: dt.date, end: dt.date, what: str, moved: dict[dt.date, set[str]]
) -> None:
    day = start + dt.timedelta(days=1)
    while day < end:
        if day.weekday() < 5 and not calendar.is_working_day(day):
            moved[day].add(what)
        day += dt.timedelta(days=1)


def _days_off(calendar: WorkingCalendar, result: Forecast, moved: dict[dt.date, set[str]]) -> list[DayOff]:
    """Bank holidays from the first email to the publish-by date, and any weekend day a reminder moved off."""
    days = [e.on for e in result.emails] + [s.on for s in result.stages]
    if not days:
        return []
    found: dict[dt.date, DayOff] = {}
    day, end = min(days), max(days)
    while day <= end:
        name = calendar.holiday_name(day)
        if name and day.weekday() < 5:
            found[day] = DayOff(day, name, tuple(sorted(moved.get(day, ()))))
        day += dt.timedelta(days=1)
    for raw, what in moved.items():
        if raw not in found:
            found[raw] = DayOff(raw, calendar.holiday_name(raw) or f"{raw:%A}", tuple(sorted(what)))
    return sorted(found.values(), key=lambda d: d.on)
