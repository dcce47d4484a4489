"""The next cycle, planned on the desk: created from this year's or with dates typed afresh, its dates checked as
they are entered, and opened now or left to the year's morning run on its requests date.

The checks are the partnership file's (the dates in order) and two more it cannot make at load: a day people act
on (requests, the deadline, the review, publish-by) must be a working day of the partnership's calendar, and
publish-by must keep to the statutory framework's publication timing (a refusal or a warning, as its data says).
"""

from __future__ import annotations

import calendar as months
import datetime as dt
import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from models.audit import record
from models.calendar import WorkingCalendar
from models.cycle import Cycle
from models.framework import framework_for
from models.lifecycle import CycleState
from models.store import calendar_of, partnership_of
from models.year_on import CycleDates
from tasks.asking.cycle_open import OpenReport, open_cycle
from tasks.asking.forecast import OPEN_TIME, opening_day
from tasks.links.staff_link import send_staff_link
from tasks.mail.context import day_text
from tasks.years.roll_forward import roll_forward

# Each date of a cycle in the order the partnership file requires, with the words a message uses for it.
WORDS = {
    "period_start": "the first day of the year reported on",
    "period_end": "the last day of the year reported on",
    "requests_on": "the day requests go out",
    "contributions_due": "the deadline for contributions",
    "review_due": "the day the Chair's review is due",
    "publish_by": "the day the report must be published by",
}
ORDER = list(WORDS)
# Days somebody acts on: each must be a working day. The period is a span of the year, not a day anyone acts on.
ACTED_ON = ("requests_on", "contributions_due", "review_due", "publish_by")


class NextCycleError(ValueError):
    """The next cycle cannot be created, changed or opened as asked; the message says what to do instead."""


@dataclass(frozen=True)
class DateProblem:
    field: str  # a CycleDates field: "contributions_due"
    message: str
    instead: tuple[dt.date, ...] = ()  # the nearest working days, before and after, for a day nobody works


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def day_off_text(day: dt.date, calendar: WorkingCalendar) -> str | None:
    """Why nobody works on `day` ("Friday 25 December 2026 is Christmas Day, a bank holiday"); None on a working
    day."""
    if calendar.is_working_day(day):
        return None
    if day.weekday() >= 5:
        return f"{day_text(day)} is at a weekend"
    return f"{day_text(day)} is {calendar.holiday_name(day)}, a bank holiday"


def nearest_working_days(day: dt.date, calendar: WorkingCalendar) -> tuple[dt.date, dt.date]:
    """The working day before `day` and the one after it."""
    return calendar.on_or_before(day - dt.timedelta(days=1)), calendar.add_working_days(day, 1)


def add_months(day: dt.date, n: int) -> dt.date:
    """The same day `n` months on; the month's last day when it has no such day (31 March + 3 is 30 June)."""
    year, month = divmod(day.month - 1 + n, 12)
    year += day.year
    last = months.monthrange(year, month + 1)[1]
    # A period that ends on a month's last day gives a limit on the last day of the month it lands in.
    if day.day == months.monthrange(day.year, day.month)[1]:
        return dt.date(year, month + 1, last)
    return dt.date(year, month + 1, min(day.day, last))


def publication_rule(kind: str | None) -> str:
    """The framework's publication timing in words, for the publish-by field's hint."""
    framework = framework_for(kind)
    return f"Under {framework.title}: {framework.publication.timing}."


def check_dates(
    dates: CycleDates, calendar: WorkingCalendar, *, kind: str | None, today: dt.date
) -> tuple[list[DateProblem], list[str]]:
    """What refuses these dates (each on its field) and what only deserves a warning."""
    problems: list[DateProblem] = []
    values = asdict(dates)
    for name in ACTED_ON:
        why = day_off_text(values[name], calendar)
        if why:
            before, after = nearest_working_days(values[name], calendar)
            message = f"{why}: choose a working day, like {day_text(before)} or {day_text(after)}"
            problems.append(DateProblem(name, message, (before, after)))
    if dates.requests_on < today:
        when = day_text(dates.requests_on)
        problems.append(DateProblem("requests_on", f"The day requests go out must be today or later, not {when}"))
    for earlier, later in itertools.pairwise(ORDER):
        a, b = values[earlier], values[later]
        if (b < a) if earlier == "period_end" else (b <= a):
            after_words = "on or after" if earlier == "period_end" else "after"
            problems.append(
                DateProblem(later, f"{_cap(WORDS[later])} must be {after_words} {WORDS[earlier]}, {day_text(a)}")
            )
    warnings: list[str] = []
    framework = framework_for(kind)
    within = framework.publication.within_months
    if within is not None and dates.publish_by > (limit := add_months(dates.period_end, within)):
        text = (
            f"{day_text(dates.publish_by)} is more than {within} months after the year's end, the publication "
            f"limit under {framework.title}: publish by {day_text(limit)} to keep to it"
        )
        if framework.publication.beyond_limit == "refusal":
            problems.append(DateProblem("publish_by", text))
        else:
            warnings.append(text)
    first: dict[str, DateProblem] = {}  # one message per field: the first is the one to fix first
    for p in problems:
        first.setdefault(p.field, p)
    return [p for p in problems if first[p.field] is p], warnings


def dates_of(cycle: Cycle) -> CycleDates:
    return CycleDates(
        cycle.period_start,
        cycle.period_end,
        cycle.requests_on,
        cycle.contributions_due,
        cycle.review_due,
        cycle.publish_by,
    )


def partnership_cycles(session: Session, cycle: Cycle) -> list[Cycle]:
    """Every cycle of `cycle`'s partnership, the earliest first."""
    query = select(Cycle).where(Cycle.partnership_id == cycle.partnership_id).order_by(col(Cycle.period_start))
    return list(session.exec(query))


def planned_cycles(session: Session, cycle: Cycle) -> list[Cycle]:
    """The partnership's cycles still planned, the earliest first."""
    return [c for c in partnership_cycles(session, cycle) if c.status == CycleState.planned]


def not_planned(cycle: Cycle) -> str:
    """Why an open (or later) cycle's dates do not change on the planning page, and what does change them."""
    return (
        f"{cycle.title} is {cycle.status.replace('_', ' ')}: only a planned cycle's dates change here; move an "
        "agency's deadline from its page on that cycle's desk"
    )


def set_dates(
    session: Session,
    cycle: Cycle,
    *,
    title: str,
    dates: CycleDates,
    at: dt.datetime,
    actor: str,
    cut_off: dt.time | None = None,
) -> list[str]:
    """Change a planned cycle's title, dates and (given) cut-off time on the deadline day; the warnings that
    remain. Refused once the cycle has opened (its
    agencies' deadlines then move one by one, with the desk's extend) or when the dates fail the checks."""
    if cycle.status != CycleState.planned:
        raise NextCycleError(not_planned(cycle))
    title = " ".join(title.split())
    if not title or len(title) > 300:
        raise NextCycleError("The title must be 1 to 300 characters")
    partnership = partnership_of(session, cycle)
    calendar = calendar_of(partnership)
    kind = cycle.report.get("kind")
    problems, warnings = check_dates(dates, calendar, kind=kind, today=calendar.local(at).date())
    if problems:
        raise NextCycleError(problems[0].message)
    before = {k: v.isoformat() for k, v in asdict(dates_of(cycle)).items()}
    cycle.title = title
    cycle.cut_off = cut_off or cycle.cut_off
    for name, value in asdict(dates).items():
        setattr(cycle, name, value)
    session.add(cycle)
    record(
        session,
        at=at,
        actor=actor,
        action="cycle.plan",
        subject=f"cycle:{cycle.id}",
        cycle_id=cycle.id,
        title=title,
        cut_off=f"{cycle.cut_off:%H:%M}",
        before=before,
        dates={k: v.isoformat() for k, v in asdict(dates).items()},
    )
    return warnings


def create_next(
    session: Session,
    previous: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    label: str | None = None,
    title: str | None = None,
) -> Cycle:
    """Next year's planned cycle from `previous`, as `reportcycle cycle create --from` makes it."""
    partnership = partnership_of(session, previous)
    made = roll_forward(
        session,
        partnership_slug=partnership.slug,
        previous_label=previous.label,
        at=at,
        actor=actor,
        label=label,
        title=title,
    )
    cycle = session.exec(select(Cycle).where(Cycle.partnership_id == partnership.id, Cycle.label == made.label)).one()
    return cycle


@dataclass(frozen=True)
class Opening:
    opens_on: dt.date  # the morning run that opens it, at OPEN_TIME
    requests_at: dt.datetime  # local: when the requests go, in the first send window from then

    @property
    def text(self) -> str:
        return f"Requests will go out at {self.requests_at:%H:%M} on {day_text(self.requests_at.date())}"

    @property
    def detail(self) -> str:
        return (
            f"The year's morning run opens the cycle at {OPEN_TIME:%H:%M} on {day_text(self.opens_on)}; its emails "
            "go in the first send window from then."
        )


def opening(cycle: Cycle, calendar: WorkingCalendar, at: dt.datetime) -> Opening:
    """When a planned cycle opens by itself, as the forecast and the annual-cycle deployment see it."""
    day = opening_day(cycle, calendar, at)
    return Opening(day, calendar.local(calendar.next_send_time(calendar.at_local(day, OPEN_TIME))))


def open_now(
    session: Session,
    cycle: Cycle,
    *,
    at: dt.datetime,
    actor: str,
    base_url: str,
    link_valid_days: int,
    templates_dir: Path,
) -> tuple[OpenReport, str]:
    """Open a planned cycle today, not on its requests date: its requests go in the next send window, and the
    business manager is emailed a link to the new cycle's desk. The report and the address it went to."""
    if cycle.status != CycleState.planned:
        raise NextCycleError(f"{cycle.title} is already {cycle.status.replace('_', ' ')}: it cannot be opened again")
    calendar = calendar_of(partnership_of(session, cycle))
    today = calendar.local(at).date()
    if today < cycle.period_end:
        raise NextCycleError(
            f"{cycle.title} reports on a year that ends on {day_text(cycle.period_end)}: it can open from then, "
            "not before"
        )
    if cycle.requests_on > today:  # the cycle's dates say what happened: the requests went today
        record(
            session,
            at=at,
            actor=actor,
            action="cycle.plan",
            subject=f"cycle:{cycle.id}",
            cycle_id=cycle.id,
            requests_on=today.isoformat(),
            was=cycle.requests_on.isoformat(),
        )
        cycle.requests_on = today
    report = open_cycle(
        session,
        cycle,
        at=at,
        actor=actor,
        base_url=base_url,
        link_valid_days=link_valid_days,
        templates_dir=templates_dir,
    )
    sent_to = send_staff_link(
        session,
        cycle,
        "manager",
        at=at,
        actor=actor,
        base_url=base_url,
        link_valid_days=link_valid_days,
        templates_dir=templates_dir,
    )
    return report, sent_to
