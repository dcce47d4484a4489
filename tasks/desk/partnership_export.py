"""The partnership as it stands in the database, as a partnership file: for the export, the desk's edits and
the differences `partnership load` shows.

`file_data` gives what `models.partnership_file.parse` would read from a file (a plain dict, validated by
`PartnershipFile`), so the export, the desk and the loader share one shape and one set of rules.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import Session, col, select

from models.cycle import Cycle
from models.partnership import Agency, Contact, Partnership
from models.partnership_file import DEFAULT_KIND, PartnershipFile
from models.store import NotFound, central_sections
from models.toml_out import dumps

# Roles a partnership file names; a "writer" (a colleague handed the link) belongs to one cycle only.
FILE_ROLES = ("lead", "deputy", "senior")


def _contacts(session: Session, agency: Agency) -> list[dict[str, Any]]:
    rows = session.exec(select(Contact).where(Contact.agency_id == agency.id)).all()
    by_role = {c.role: c for c in rows}
    return [{"name": by_role[r].name, "email": by_role[r].email, "role": r} for r in FILE_ROLES if r in by_role]


def file_data(session: Session, partnership: Partnership, cycle: Cycle) -> dict[str, Any]:
    """The partnership, its active agencies, and `cycle` (its dates, brief, priorities, recipients, report
    settings) as a partnership file's data."""
    # Copies: a caller edits this dict, and an edit made in place to a JSON column's own list is one the
    # database session never sees (the value it then writes back compares equal, so nothing is saved).
    report = copy.deepcopy(cycle.report or {})
    kind = report.pop("kind", None) or DEFAULT_KIND
    # The cycle keeps the look it was given; the file writes it in [partnership], the logo's bytes included.
    look = {k: v for k, v in (report.pop("look", None) or {}).items() if v is not None}
    agencies = session.exec(
        select(Agency).where(Agency.partnership_id == partnership.id, col(Agency.active)).order_by(col(Agency.id))
    ).all()
    return {
        "partnership": {
            "slug": partnership.slug,
            "name": partnership.name,
            "kind": kind,
            "from_address": partnership.from_address,
            "business_manager": {
                "name": partnership.business_manager_name,
                "email": partnership.business_manager_email,
            },
            **look,
        },
        "calendar": {
            "timezone": partnership.timezone,
            "holidays": partnership.holidays,
            "send_window_start": partnership.send_window_start + ":00",
            "send_window_end": partnership.send_window_end + ":00",
        },
        "statutory": {"publish_within_months": partnership.publish_within_months},
        "reminders": copy.deepcopy(cycle.reminder_policy),
        "priorities": copy.deepcopy(cycle.priorities),
        "brief": copy.deepcopy(cycle.brief),
        "central_sections": [{"key": c.key, "title": c.title} for c in central_sections(session, cycle)],
        "report": report,
        "agencies": [
            {"slug": a.slug, "name": a.name, "aliases": list(a.aliases or []), "contacts": _contacts(session, a)}
            for a in agencies
        ],
        "recipients": copy.deepcopy(cycle.recipients),
        "cycle": {
            "label": cycle.label,
            "title": cycle.title,
            "period_start": cycle.period_start,
            "period_end": cycle.period_end,
            "requests_on": cycle.requests_on,
            "contributions_due": cycle.contributions_due,
            "cut_off": cycle.cut_off,
            "review_due": cycle.review_due,
            "publish_by": cycle.publish_by,
            "chair": copy.deepcopy(cycle.chair),
        },
    }


def current_spec(session: Session, partnership: Partnership, cycle: Cycle) -> PartnershipFile:
    return PartnershipFile.model_validate(file_data(session, partnership, cycle))


def export_toml(spec: PartnershipFile, *, exported_at: str) -> str:
    """The file a person can keep, edit and load again (`reportcycle partnership load`)."""
    data = spec.model_dump(mode="python", exclude_none=True)
    data["report"].pop("kind", None)  # written once, in [partnership]
    for agency in data["agencies"]:
        if not agency["aliases"]:
            del agency["aliases"]
    preamble = (
        f"The partnership {spec.partnership.name}, with its cycle {spec.cycle.label}, exported {exported_at}.\n"
        "Load it again with: reportcycle partnership load FILE (it shows what changed before applying it)."
    )
    return dumps(data, preamble=preamble)


def cycle_to_export(session: Session, partnership_slug: str | None, label: str | None) -> tuple[Partnership, Cycle]:
    """The cycle named, else the partnership's latest (the one being planned, or the one running)."""
    query = select(Partnership)
    if partnership_slug:
        query = query.where(Partnership.slug == partnership_slug)
    partnerships = session.exec(query).all()
    if not partnerships:
        raise NotFound(f"no partnership {partnership_slug!r}" if partnership_slug else "no partnership is loaded")
    if len(partnerships) > 1:
        slugs = ", ".join(p.slug for p in partnerships)
        raise NotFound(f"more than one partnership ({slugs}); name one with --partnership")
    partnership = partnerships[0]
    cycles = select(Cycle).where(Cycle.partnership_id == partnership.id)
    if label:
        cycles = cycles.where(Cycle.label == label)
    cycle = session.exec(cycles.order_by(col(Cycle.period_start).desc(), col(Cycle.id).desc())).first()
    if cycle is None:
        raise NotFound(f"{partnership.slug} has no cycle {label!r}" if label else f"{partnership.slug} has no cycle")
    return partnership, cycle
