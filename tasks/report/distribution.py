"""Who the published report went to, and when: read from the publication notices in the outbox.

The notices are keyed outbox rows (tasks.report.publish), so "sent" means the SMTP server accepted that
row. Recipients marked `national` must have it within `report.send_to_national_within_days` of
publication (left out, the framework's: 7 days for a children's partnership, no such rule for the other
kinds); until they all do, the business manager's digest says so every working day.

Before that, `roles_missing` checks the recipients against the roles the partnership's framework says must
receive the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from models.cycle import Cycle
from models.ladder import Kind
from models.outbox import OutboundEmail, OutboxStatus
from models.report import Publication
from models.store import calendar_of, cycle_values, partnership_of
from models.values import Recipient
from tasks.asking.digest import enqueue_digest
from tasks.mail.context import day_text

if TYPE_CHECKING:  # the frameworks are read once a report is published: the daily chase of an open cycle skips them
    from models.framework import StatutoryRole


@dataclass(frozen=True)
class Delivery:
    name: str
    role: str
    email: str
    national: bool
    status: str  # sent | queued | failed | ... | "not queued"
    sent_at: dt.datetime | None
    error: str | None


@dataclass
class Distribution:
    published_on: dt.date | None = None
    national_due: dt.date | None = None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def national_waiting(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.national and d.status != OutboxStatus.sent]

    @property
    def national_met(self) -> bool:
        return self.published_on is not None and not self.national_waiting


def role_holders(recipients: Sequence[Recipient], kind: str | None) -> list[tuple[StatutoryRole, list[Recipient]]]:
    """Each statutory role of the kind's framework with the recipients who hold it. A recipient holds a role
    when its role or name contains one of the role's words, ignoring case."""
    from models.framework import framework_for

    return [
        (
            role,
            [r for r in recipients if any(w.casefold() in f"{r.role} {r.name}".casefold() for w in role.matches)],
        )
        for role in framework_for(kind).roles
    ]


def roles_missing(recipients: Sequence[Recipient], kind: str | None) -> list[str]:
    """Each statutory role of the kind's framework that no recipient holds, as a sentence: "no recipient is
    the Local Healthwatch"."""
    return [f"no recipient is {role.title}" for role, held in role_holders(recipients, kind) if not held]


def distribution(session: Session, cycle: Cycle) -> Distribution:
    """Every statutory recipient and partner with their notice's state; empty before publication."""
    publication = session.exec(select(Publication).where(Publication.cycle_id == cycle.id)).first()
    if publication is None:
        return Distribution()
    from models.framework import national_within_days
    from models.partnership_file import ReportSpec

    calendar = calendar_of(partnership_of(session, cycle))
    spec = ReportSpec.model_validate(cycle.report or {})
    published_on = calendar.local(publication.frozen_at).date()
    days = national_within_days(spec)
    rows = session.exec(
        select(OutboundEmail).where(OutboundEmail.cycle_id == cycle.id, OutboundEmail.kind == Kind.published)
    ).all()
    by_address = {r.to_addrs[0].lower(): r for r in rows if r.to_addrs}
    recipients = cycle_values(cycle)[3]
    deliveries = []
    seen: set[str] = set()
    for r in recipients:
        address = str(r.email).lower()
        seen.add(address)
        row = by_address.get(address)
        deliveries.append(
            Delivery(
                r.name,
                r.role,
                str(r.email),
                r.national,
                row.status if row else "not queued",
                row.sent_at if row else None,
                row.last_error if row else None,
            )
        )
    for address, row in sorted(by_address.items()):
        if address not in seen:  # partners' contacts, who get the notice too
            deliveries.append(Delivery(address, "partner", address, False, row.status, row.sent_at, row.last_error))
    return Distribution(
        published_on=published_on,
        national_due=None if days is None else published_on + dt.timedelta(days=days),
        deliveries=deliveries,
    )


def distribution_lines(found: Distribution) -> list[str]:
    """The digest's lines while national bodies still wait for the report; none once they all have it."""
    if found.published_on is None or found.national_met or found.national_due is None:
        return []
    waiting = ", ".join(f"{d.name} ({d.status}{': ' + d.error if d.error else ''})" for d in found.national_waiting)
    sent = ", ".join(f"{d.name} ({d.sent_at:%-d %b})" for d in found.deliveries if d.national and d.sent_at)
    return [
        f"The report must reach the national bodies by {day_text(found.national_due)}; "
        f"still waiting: {waiting}." + (f" Sent: {sent}." if sent else "")
    ]


def track_distribution(session: Session, cycle: Cycle, *, at: dt.datetime, templates_dir: Path) -> list[str]:
    """For a published cycle: a digest to the business manager, once a working day, until every national body
    has the report. Returns what it said (nothing when all is done or today is not a working day)."""
    found = distribution(session, cycle)
    lines = distribution_lines(found)
    calendar = calendar_of(partnership_of(session, cycle))
    local = calendar.local(at)
    if not lines or not calendar.is_working_day(local.date()):
        return []
    # keyed by the day, so the daily run and any re-run send one digest a day
    day = dt.datetime.combine(local.date(), dt.time(0), local.tzinfo).astimezone(dt.UTC)
    enqueue_digest(session, cycle, did=lines, at=day, templates_dir=templates_dir)
    return lines


def track_all(
    session: Session, *, at: dt.datetime, templates_dir: Path, partnership_slug: str | None = None
) -> dict[str, list[str]]:
    """track_distribution for every published cycle (of one partnership, or all): the daily chase runs it."""
    from models.lifecycle import CycleState
    from models.partnership import Partnership

    query = select(Cycle, Partnership).join(Partnership).where(Cycle.status == CycleState.published)
    if partnership_slug:
        query = query.where(Partnership.slug == partnership_slug)
    said: dict[str, list[str]] = {}
    for cycle, partnership in session.exec(query).all():
        lines = track_distribution(session, cycle, at=at, templates_dir=templates_dir)
        if lines:
            said[f"{partnership.slug} {cycle.label}"] = lines
    return said
