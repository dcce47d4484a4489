"""Next year's cycle from this year's: the same brief, priorities, policy, recipients and Chair, a year on."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from dataclasses import asdict, dataclass, field

from sqlmodel import Session, col, func, select

from models.audit import record
from models.cycle import Cycle
from models.lifecycle import CycleState
from models.partnership import Agency, Partnership
from models.report import CentralSection
from models.store import NotFound, calendar_of, central_sections
from models.year_on import CycleDates, Moved, move_dates, move_years


class RollForwardError(ValueError):
    """A cycle that cannot be created as asked; the message says what to do instead."""


@dataclass(frozen=True)
class RollForwardReport:
    partnership: str
    previous: str
    label: str
    title: str
    dates: CycleDates
    cut_off: dt.time
    moved: list[Moved]
    agencies: int  # active agencies: the ones the new cycle will ask when it opens
    central_sections: list[str]
    warnings: list[str] = field(default_factory=list)


def _cycles_text(rows: list[tuple[Cycle, Partnership]], with_partnership: bool) -> str:
    if not rows:
        return "there are none yet; load a partnership file first (reportcycle partnership load FILE)"
    names = [f"{p.slug + ' ' if with_partnership else ''}{c.label} ({c.status})" for c, p in rows]
    return "the cycles are: " + ", ".join(names)


def find_previous(session: Session, partnership_slug: str | None, label: str) -> tuple[Cycle, Partnership]:
    """The cycle to copy, or a NotFound that lists the cycles there are."""
    query = select(Cycle, Partnership).join(Partnership)
    if partnership_slug:
        query = query.where(Partnership.slug == partnership_slug)
    rows = [(c, p) for c, p in session.exec(query.order_by(col(Partnership.slug), col(Cycle.period_start)))]
    if partnership_slug and not rows:
        known = ", ".join(session.exec(select(Partnership.slug).order_by(col(Partnership.slug)))) or "none"
        raise NotFound(f"no partnership {partnership_slug!r}; the partnerships are: {known}")
    found = [(c, p) for c, p in rows if c.label == label]
    where = f" in {partnership_slug}" if partnership_slug else ""
    if not found:
        raise NotFound(f"no cycle {label!r}{where}; {_cycles_text(rows, not partnership_slug)}")
    if len(found) > 1:
        names = ", ".join(p.slug for _, p in found)
        raise NotFound(f"more than one partnership has a cycle {label!r} ({names}); name one with --partnership")
    return found[0]


def _next_label(previous: Cycle, label: str | None, years: set[int]) -> str:
    if label is not None:
        return label.strip()
    moved = move_years(previous.label, 1, years)
    if moved is None:
        raise RollForwardError(
            f"cannot tell next year's label from {previous.label!r} (it has no year such as 2018/19 or 2019 in it); "
            "give it with --label"
        )
    return moved


def _next_title(previous: Cycle, title: str | None, years: set[int]) -> str:
    if title is not None:
        return title.strip()
    moved = move_years(previous.title, 1, years)
    if moved is None:
        raise RollForwardError(
            f"cannot move the title {previous.title!r} a year on (it has no year of the period in it); "
            'give it with --title "..."'
        )
    return moved


def _check_order(dates: CycleDates) -> None:
    """The order the partnership file requires; days moved off weekends could, rarely, break it."""
    order = ["period_start", "period_end", "requests_on", "contributions_due", "review_due", "publish_by"]
    for earlier, later in itertools.pairwise(order):
        a, b = getattr(dates, earlier), getattr(dates, later)
        if (b < a) if earlier == "period_end" else (b <= a):
            raise RollForwardError(
                f"a year on, {later} ({b}) would not come after {earlier} ({a}) once moved to working days; "
                "create the cycle from a partnership file with the dates you want (reportcycle partnership load FILE)"
            )


def roll_forward(
    session: Session,
    *,
    partnership_slug: str | None,
    previous_label: str,
    at: dt.datetime,
    actor: str,
    label: str | None = None,
    title: str | None = None,
) -> RollForwardReport:
    """Create next year's planned cycle from `previous_label`; refuse, writing nothing, when it cannot be."""
    previous, partnership = find_previous(session, partnership_slug, previous_label)
    years = {previous.period_start.year, previous.period_end.year}
    new_label = _next_label(previous, label, years)
    new_title = _next_title(previous, title, years)
    if not new_label or len(new_label) > 32:
        raise RollForwardError(f"the label {new_label!r} must be 1 to 32 characters; give another with --label")
    if not new_title or len(new_title) > 300:
        raise RollForwardError("the title must be 1 to 300 characters; give another with --title")
    taken = session.exec(select(Cycle).where(Cycle.partnership_id == partnership.id, Cycle.label == new_label)).first()
    if taken is not None:
        raise RollForwardError(
            f"{partnership.slug} already has a cycle {new_label!r} ({taken.status}); nothing was created. "
            f"Work on it with --cycle {new_label!r}, or give another label with --label"
        )

    dates, moved = move_dates(
        CycleDates(
            previous.period_start,
            previous.period_end,
            previous.requests_on,
            previous.contributions_due,
            previous.review_due,
            previous.publish_by,
        ),
        1,
        calendar_of(partnership),
    )
    _check_order(dates)
    # JSON values are copied, not shared: editing next year's brief must never touch last year's.
    cycle = Cycle(
        partnership_id=partnership.id or 0,
        label=new_label,
        title=new_title,
        status=CycleState.planned,
        period_start=dates.period_start,
        period_end=dates.period_end,
        requests_on=dates.requests_on,
        contributions_due=dates.contributions_due,
        cut_off=previous.cut_off,
        review_due=dates.review_due,
        publish_by=dates.publish_by,
        chair=copy.deepcopy(previous.chair),
        priorities=copy.deepcopy(previous.priorities),
        brief=copy.deepcopy(previous.brief),
        reminder_policy=copy.deepcopy(previous.reminder_policy),
        recipients=copy.deepcopy(previous.recipients),
        report=copy.deepcopy(previous.report),
    )
    session.add(cycle)
    session.flush()
    # The central sections are planned as the partnership file plans them: same keys, titles and order,
    # with no text (each year's foreword and key facts are written afresh).
    sections = central_sections(session, previous)
    for section in sections:
        session.add(
            CentralSection(cycle_id=cycle.id or 0, key=section.key, title=section.title, position=section.position)
        )
    # Agencies and their contacts belong to the partnership, not to a cycle: the new cycle asks every
    # active agency when it opens, with the contacts as they are then.
    agencies = session.exec(
        select(func.count()).select_from(Agency).where(Agency.partnership_id == partnership.id, col(Agency.active))
    ).one()
    warnings = []
    if previous.status != CycleState.closed:
        warnings.append(
            f"{previous.label} is still {previous.status}: commands that act on one cycle now need "
            f"--cycle {previous.label!r} or --cycle {new_label!r}"
        )
    record(
        session,
        at=at,
        actor=actor,
        action="cycle.create",
        subject=f"cycle:{cycle.id}",
        cycle_id=cycle.id,
        source="roll-forward",
        previous=previous.label,
        previous_cycle_id=previous.id,
        label=new_label,
        title=new_title,
        dates={k: v.isoformat() for k, v in asdict(dates).items()},
        moved={m.field: m.why for m in moved},
    )
    session.flush()
    return RollForwardReport(
        partnership=partnership.slug,
        previous=previous.label,
        label=new_label,
        title=new_title,
        dates=dates,
        cut_off=previous.cut_off,
        moved=moved,
        agencies=agencies,
        central_sections=[s.key for s in sections],
        warnings=warnings,
    )
