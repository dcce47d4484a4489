"""The legal transitions of a cycle and of a contribution, declared once.

Every state change in the application goes through `advance`, so a rule
changed here is changed everywhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

S = TypeVar("S", bound=StrEnum)


class CycleState(StrEnum):
    planned = "planned"
    open = "open"
    in_review = "in_review"
    published = "published"
    closed = "closed"


class ContributionState(StrEnum):
    pending = "pending"  # created, request not yet sent
    requested = "requested"  # waiting for the agency (overdue is derived from the clock, not stored)
    submitted = "submitted"
    returned = "returned"  # the Chair sent it back with comments
    approved = "approved"
    excused = "excused"  # the business manager released the agency; the report names it


CYCLE_TRANSITIONS: dict[tuple[CycleState, str], CycleState] = {
    (CycleState.planned, "open"): CycleState.open,
    (CycleState.open, "start_review"): CycleState.in_review,
    (CycleState.in_review, "publish"): CycleState.published,
    (CycleState.published, "close"): CycleState.closed,
}

_CS = ContributionState
CONTRIBUTION_TRANSITIONS: dict[tuple[ContributionState, str], ContributionState] = {
    (_CS.pending, "request"): _CS.requested,
    (_CS.pending, "submit"): _CS.submitted,
    (_CS.requested, "submit"): _CS.submitted,
    (_CS.returned, "submit"): _CS.submitted,
    # a new revision before the Chair has decided
    (_CS.submitted, "submit"): _CS.submitted,
    (_CS.submitted, "approve"): _CS.approved,
    (_CS.submitted, "return"): _CS.returned,
    (_CS.pending, "excuse"): _CS.excused,
    (_CS.requested, "excuse"): _CS.excused,
    (_CS.returned, "excuse"): _CS.excused,
    # an excusal undone: back to the state it was excused from (the audit log says which), chased again
    (_CS.excused, "unexcuse_to_pending"): _CS.pending,
    (_CS.excused, "unexcuse_to_requested"): _CS.requested,
    (_CS.excused, "unexcuse_to_returned"): _CS.returned,
    (_CS.pending, "extend"): _CS.pending,
    (_CS.requested, "extend"): _CS.requested,
    (_CS.returned, "extend"): _CS.returned,
}


class CentralState(StrEnum):
    draft = "draft"
    approved = "approved"
    returned = "returned"


CENTRAL_TRANSITIONS: dict[tuple[CentralState, str], CentralState] = {
    (CentralState.draft, "edit"): CentralState.draft,
    (CentralState.returned, "edit"): CentralState.draft,
    # editing an approved text sends it back for the Chair to see again
    (CentralState.approved, "edit"): CentralState.draft,
    (CentralState.draft, "approve"): CentralState.approved,
    (CentralState.draft, "return"): CentralState.returned,
}

# States in which the chase run writes to the agency.
AWAITING = frozenset({_CS.requested, _CS.returned})
# States that let the report be published.
SETTLED = frozenset({_CS.approved, _CS.excused})


class IllegalTransition(ValueError):
    def __init__(self, thing: str, state: str, action: str, allowed: list[str]) -> None:
        hint = f"; from {state!r} it can: {', '.join(allowed)}" if allowed else f"; {state!r} is final"
        super().__init__(f"cannot {action} a {thing} that is {state}{hint}")
        self.state = state
        self.action = action


def next_cycle_state(state: CycleState, action: str) -> CycleState:
    return _advance("cycle", CYCLE_TRANSITIONS, state, action)


def next_contribution_state(state: ContributionState, action: str) -> ContributionState:
    return _advance("contribution", CONTRIBUTION_TRANSITIONS, state, action)


def next_central_state(state: CentralState, action: str) -> CentralState:
    return _advance("central section", CENTRAL_TRANSITIONS, state, action)


def _advance(thing: str, table: dict[tuple[S, str], S], state: S, action: str) -> S:
    try:
        return table[(state, action)]
    except KeyError:
        allowed = sorted(a for (s, a) in table if s == state)
        raise IllegalTransition(thing, str(state), action, allowed) from None


# An outbox row's states (models/outbox.py); here so that a reader of counts needs no table class.
class OutboxStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # claimed by a worker; committed before the SMTP call
    sent = "sent"
    failed = "failed"  # a recipient refused for good (5xx), or still undelivered when the queue lifetime ran out
    superseded = "superseded"  # a later step of the ladder went instead; never sent
    held = "held"  # an escalation waiting for the business manager's confirmation
    cancelled = "cancelled"  # stopped by a person (reportcycle outbox cancel); never sent
