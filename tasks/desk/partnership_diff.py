"""What a changed partnership file (or a desk edit) would change, in words, and what cannot be changed that way.

`differences` compares two partnership files' values; `plan_load` compares a file with the database and adds
the refusals: a date or a setting of a cycle already open (its agencies were asked against them: the deadline
moves agency by agency with `reportcycle extend`), and a new or moved date that is not a working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.calendar import WorkingCalendar
from models.cycle import Cycle, PersonalLink
from models.lifecycle import CycleState
from models.partnership import Agency, Contact, Partnership
from models.partnership_file import PartnershipFile
from tasks.desk.partnership_export import current_spec
from tasks.mail.context import day_text

# A cycle's dates by their names in the desk's words, in the order of the year.
DATES = {
    "period_start": "period start",
    "period_end": "period end",
    "requests_on": "requests",
    "contributions_due": "deadline",
    "review_due": "review due",
    "publish_by": "publish by",
}
# The dates that are days of work (a request sent, a deadline, a review, a publication): each a working day.
WORKING_DATES = ("requests_on", "contributions_due", "review_due", "publish_by")


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    if isinstance(value, tuple | list):
        return ", ".join(_shown(v) for v in value) or "none"
    return str(value)


def _fields(what: str, before: Any, after: Any, names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        a, b = getattr(before, name), getattr(after, name)
        if a != b:
            label = name.replace("_", " ")
            if name == "guidance":
                out.append(f"{what}: guidance changed")
            else:
                out.append(f"{what}: {label} {_shown(a)} → {_shown(b)}")
    return out


def _keyed(what: str, before: tuple[Any, ...], after: tuple[Any, ...], key: str, names: tuple[str, ...]) -> list[str]:
    """Items matched by `key`: added, removed, and each field changed."""
    old = {getattr(x, key): x for x in before}
    new = {getattr(x, key): x for x in after}
    out = [f"{what} added: {k}" for k in new if k not in old]
    out += [f"{what} removed: {k}" for k in old if k not in new]
    for k, x in new.items():
        if k in old:
            out += _fields(f"{what} {k}", old[k], x, names)
    if not out and list(old) != list(new):
        out.append(f"{what}s in a new order: {', '.join(new)}")
    return out


def _agencies(before: PartnershipFile, after: PartnershipFile) -> list[str]:
    old = {a.slug: a for a in before.agencies}
    new = {a.slug: a for a in after.agencies}
    out = [f"agency added: {k} ({a.name})" for k, a in new.items() if k not in old]
    out += [
        f"agency retired: {k} ({a.name}); kept for past cycles, not asked again" for k, a in old.items() if k not in new
    ]
    for k, a in new.items():
        if k not in old:
            continue
        out += _fields(f"agency {k}", old[k], a, ("name", "aliases"))
        was = {c.role: c for c in old[k].contacts}
        now = {c.role: c for c in a.contacts}
        for role in dict.fromkeys([*was, *now]):
            if was.get(role) != now.get(role):
                then = f"{was[role].name} <{was[role].email}>" if role in was else "none"
                later = f"{now[role].name} <{now[role].email}>" if role in now else "none"
                out.append(f"agency {k}: {role} contact {then} → {later}")
    return out


def differences(before: PartnershipFile, after: PartnershipFile) -> list[str]:
    """Every difference between two partnership files' values, one line each."""
    p0, p1 = before.partnership, after.partnership
    out = _fields("partnership", p0, p1, ("name", "kind", "from_address"))
    if p0.business_manager != p1.business_manager:
        out.append(
            f"business manager {p0.business_manager.name} <{p0.business_manager.email}> → "
            f"{p1.business_manager.name} <{p1.business_manager.email}>"
        )
    out += _fields("calendar", before.calendar, after.calendar, tuple(type(after.calendar).model_fields))
    out += _fields("statutory", before.statutory, after.statutory, ("publish_within_months",))
    out += _agencies(before, after)
    out += _keyed("priority", before.priorities, after.priorities, "key", ("title",))
    names = ("title", "guidance", "word_limit", "required", "per_priority")
    out += _keyed("brief section", before.brief.sections, after.brief.sections, "key", names)
    figures = ("label", "unit", "required")
    out += _keyed("key figure", before.brief.key_figures, after.brief.key_figures, "key", figures)
    out += _keyed("recipient", before.recipients, after.recipients, "email", ("name", "role", "national"))
    out += _keyed("central section", before.central_sections, after.central_sections, "key", ("title",))
    out += _fields("reminders", before.reminders, after.reminders, tuple(type(after.reminders).model_fields))
    if before.report != after.report:
        out.append("report settings changed (contributions' place, figures or collation checks)")
    out += _cycle(before, after)
    return out


def _cycle(before: PartnershipFile, after: PartnershipFile) -> list[str]:
    c0, c1 = before.cycle, after.cycle
    if c0.label != c1.label:
        return []  # another cycle: its dates are new, not moved
    where = f"cycle {c1.label}"
    out = _fields(where, c0, c1, ("title",))
    for name, words in DATES.items():
        a, b = getattr(c0, name), getattr(c1, name)
        if a != b:
            out.append(f"{where}: {words} {_day(a)} → {_day(b)}")
    if c0.cut_off != c1.cut_off:
        out.append(f"{where}: cut-off {c0.cut_off:%H:%M} → {c1.cut_off:%H:%M}")
    if c0.chair != c1.chair:
        out.append(f"{where}: Chair {c0.chair.name} <{c0.chair.email}> → {c1.chair.name} <{c1.chair.email}>")
    return out


def not_working_days(spec: PartnershipFile, names: tuple[str, ...] = WORKING_DATES) -> list[str]:
    """Each of the cycle's dates `names` that falls on a weekend or bank holiday, with the working days either
    side of it."""
    calendar = WorkingCalendar(spec.calendar)
    out = []
    for name in names:
        day: dt.date = getattr(spec.cycle, name)
        if calendar.is_working_day(day):
            continue
        why = calendar.holiday_name(day) or f"a {day:%A}"
        before = calendar.on_or_before(day)
        after = calendar.add_working_days(day, 1)
        out.append(
            f"cycle {spec.cycle.label}: the {DATES[name]} date {day_text(day)} is not a working day ({why}); "
            f"the nearest working days are {day_text(before)} and {day_text(after)}"
        )
    return out


def linked_contacts_removed(
    session: Session, partnership_id: int, before: PartnershipFile, after: PartnershipFile
) -> list[tuple[str, str, str]]:
    """(agency slug, role, name) of each contact a change would remove who has been sent personal links: the
    links, and the records of what was done through them, name the contact, so it stays."""
    gone = {
        (a.slug, c.role)
        for a in before.agencies
        for c in a.contacts
        for b in after.agencies
        if b.slug == a.slug and c.role not in {x.role for x in b.contacts}
    }
    if not gone:
        return []
    rows = session.exec(
        select(Agency.slug, Contact.role, Contact.name)
        .join(Contact, col(Contact.agency_id) == col(Agency.id))
        .join(PersonalLink, col(PersonalLink.contact_id) == col(Contact.id))
        .where(Agency.partnership_id == partnership_id)
        .distinct()
    ).all()
    return sorted((slug, role, name) for slug, role, name in rows if (slug, role) in gone)


@dataclass(frozen=True)
class LoadPlan:
    """What loading a file would do: `changes` to apply, or `refused` (then nothing is applied)."""

    new_partnership: bool
    changes: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def plan_load(session: Session, spec: PartnershipFile) -> LoadPlan:
    partnership = session.exec(select(Partnership).where(Partnership.slug == spec.partnership.slug)).first()
    cycle = None
    if partnership is not None:
        cycle = session.exec(
            select(Cycle).where(Cycle.partnership_id == partnership.id, Cycle.label == spec.cycle.label)
        ).first()
    if cycle is None:
        # A new cycle: every working date is checked; the partnership's own values against its latest cycle.
        refused = not_working_days(spec)
        if partnership is None:
            return LoadPlan(True, [f"partnership added: {spec.partnership.slug}"], refused)
        latest = session.exec(
            select(Cycle).where(Cycle.partnership_id == partnership.id).order_by(Cycle.period_start.desc())  # type: ignore[attr-defined]
        ).first()
        changes = [f"cycle added: {spec.cycle.label} ({spec.cycle.title}), planned"]
        stored = None if latest is None else _stored(session, partnership, latest)
        if stored is not None:
            changes = [*differences(stored, spec), *changes]
            refused += _linked(session, partnership, stored, spec)
        elif latest is not None:
            changes = [UNREADABLE, *changes]
        return LoadPlan(False, changes, refused)
    assert partnership is not None
    stored = _stored(session, partnership, cycle)
    if stored is None:
        return LoadPlan(False, [UNREADABLE], not_working_days(spec) if cycle.status == CycleState.planned else [])
    changes = differences(stored, spec)
    linked = _linked(session, partnership, stored, spec)
    if cycle.status == CycleState.planned:
        moved = tuple(n for n in WORKING_DATES if getattr(stored.cycle, n) != getattr(spec.cycle, n))
        return LoadPlan(False, changes, [*not_working_days(spec, moved), *linked])
    return LoadPlan(False, changes, [*_open_cycle_refusals(stored, spec, cycle), *linked])


UNREADABLE = (
    "the partnership as stored breaks a rule of the partnership file (stored before the rule, or by hand), so "
    "its differences cannot be listed: the file replaces it"
)


def _stored(session: Session, partnership: Partnership, cycle: Cycle) -> PartnershipFile | None:
    try:
        return current_spec(session, partnership, cycle)
    except ValidationError:
        return None


def _linked(session: Session, partnership: Partnership, stored: PartnershipFile, spec: PartnershipFile) -> list[str]:
    return [
        f"agency {slug}: the {role} contact {name} cannot be removed: they have been sent personal links, which "
        "the records keep; to hand the role to someone else, give their name and email in the file instead"
        for slug, role, name in linked_contacts_removed(session, partnership.id or 0, stored, spec)
    ]


def _open_cycle_refusals(stored: PartnershipFile, spec: PartnershipFile, cycle: Cycle) -> list[str]:
    """A cycle past planning keeps what its agencies were asked against: each change to it refused, with the
    command that does the one that can be done."""
    where = f"cycle {cycle.label} is {cycle.status}"
    out = []
    c0, c1 = stored.cycle, spec.cycle
    if c0.contributions_due != c1.contributions_due or c0.cut_off != c1.cut_off:
        out.append(
            f"{where}: its deadline ({_day(c0.contributions_due)} → {_day(c1.contributions_due)}) cannot move by "
            f"loading a file; move each agency's with `reportcycle --cycle {cycle.label} extend AGENCY YYYY-MM-DD`"
        )
    others = [DATES[n] for n in DATES if n != "contributions_due" and getattr(c0, n) != getattr(c1, n)]
    if c0.title != c1.title or c0.chair != c1.chair:
        others.append("title or Chair")
    for what, a, b in (
        ("priorities", stored.priorities, spec.priorities),
        ("brief", stored.brief, spec.brief),
        ("recipients", stored.recipients, spec.recipients),
        ("reminders", stored.reminders, spec.reminders),
        ("central sections", stored.central_sections, spec.central_sections),
        ("report settings", stored.report, spec.report),
    ):
        if a != b:
            others.append(what)
    if others:
        out.append(
            f"{where}: its {', '.join(others)} cannot change by loading a file; change them in the next cycle's "
            "file (a new [cycle] label), or undo them in this file"
        )
    return out
