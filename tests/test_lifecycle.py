import pytest

from models.lifecycle import (
    ContributionState,
    CycleState,
    IllegalTransition,
    next_contribution_state,
    next_cycle_state,
)

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

CS = ContributionState

LEGAL = [
    (CS.pending, "request", CS.requested),
    (CS.requested, "submit", CS.submitted),
    (CS.submitted, "submit", CS.submitted),
    (CS.submitted, "approve", CS.approved),
    (CS.submitted, "return", CS.returned),
    (CS.returned, "submit", CS.submitted),
    (CS.requested, "excuse", CS.excused),
    (CS.returned, "extend", CS.returned),
]

ILLEGAL = [
    (CS.approved, "submit"),
    (CS.approved, "excuse"),
    (CS.excused, "submit"),
    (CS.requested, "approve"),
    (CS.requested, "return"),
    (CS.submitted, "excuse"),
    (CS.submitted, "extend"),
    (CS.pending, "approve"),
]


@pytest.mark.parametrize(("state", "action", "after"), LEGAL)
def test_legal_contribution_transitions(state: CS, action: str, after: CS) -> None:
    assert next_contribution_state(state, action) == after


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_contribution_transition_names_state_and_action(state: CS, action: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_contribution_state(state, action)
    assert f"cannot {action} a contribution that is {state.value}" in str(caught.value)
    assert caught.value.state == state.value and caught.value.action == action


def test_final_state_says_it_is_final() -> None:
    with pytest.raises(IllegalTransition, match="'approved' is final"):
        next_contribution_state(CS.approved, "return")


def test_cycle_runs_forward_only() -> None:
    assert next_cycle_state(CycleState.planned, "open") == CycleState.open
    assert next_cycle_state(CycleState.open, "start_review") == CycleState.in_review
    assert next_cycle_state(CycleState.in_review, "publish") == CycleState.published
    assert next_cycle_state(CycleState.published, "close") == CycleState.closed
    with pytest.raises(
        IllegalTransition, match="cannot open a cycle that is published; from 'published' it can: close"
    ):
        next_cycle_state(CycleState.published, "open")
    with pytest.raises(IllegalTransition, match="cannot publish a cycle that is open"):
        next_cycle_state(CycleState.open, "publish")
