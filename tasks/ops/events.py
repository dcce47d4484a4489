"""Prefect events the application emits, for automations to act on (see deployments/schedules.py).

An event is a nudge, never the truth: the row is committed first, and if no
Prefect server is listening the scheduled dispatch still finds the row.
"""

from __future__ import annotations

import datetime as dt

CONTRIBUTION_SUBMITTED = "reportcycle.contribution.submitted"
DESK_ACTION = "reportcycle.desk.action"


def prefect_configured() -> bool:
    """A Prefect API to tell. Without one (a bare `reportcycle portal`), emitting would start a
    temporary server inside the portal, so nothing is emitted."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def contribution_submitted(*, contribution_id: int, cycle_id: int, agency: str, revision: int, at: dt.datetime) -> bool:
    """Say that a revision was submitted (its receipt is queued): the dispatch deployment runs at once."""
    if not prefect_configured():
        return False
    from prefect.events import emit_event

    event = emit_event(
        CONTRIBUTION_SUBMITTED,
        resource={
            "prefect.resource.id": f"reportcycle.contribution.{contribution_id}",
            "prefect.resource.name": agency,
        },
        related=[{"prefect.resource.id": f"reportcycle.cycle.{cycle_id}", "prefect.resource.role": "cycle"}],
        # The application's own clock: Prefect stamps `occurred` with its own.
        payload={"revision": revision, "at": at.isoformat()},
    )
    return event is not None


def desk_action(*, cycle_id: int, action: str, actor: str, at: dt.datetime) -> bool:
    """Say that the business manager did something on the desk (excused an agency, recorded a sign-off, opened a
    cycle...): the annual-cycle deployment reconciles the year at once rather than the next morning."""
    if not prefect_configured():
        return False
    from prefect.events import emit_event

    event = emit_event(
        DESK_ACTION,
        resource={"prefect.resource.id": f"reportcycle.cycle.{cycle_id}", "prefect.resource.name": action},
        payload={"action": action, "actor": actor, "at": at.isoformat()},
    )
    return event is not None
