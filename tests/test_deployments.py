"""A snapshot of the deployments: a schedule that runs daily, or a trigger, must not drift unnoticed."""

from pathlib import Path
from typing import Any

import pytest

from deployments.pool import PoolError, for_pool
from deployments.schedules import build
from reportcycle.settings import PROJECT_ROOT

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only


def _when(schedule: Any) -> str:
    s = schedule.schedule
    return f"cron {s.cron} {s.timezone}" if hasattr(s, "cron") else f"every {s.interval.total_seconds():.0f}s"


def _snapshot(deployments: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            d.name,
            d.flow_name,
            [_when(s) for s in d.schedules],
            d.parameters,
            sorted(d.tags),
            [(t.name, sorted(t.expect), t.match.root, t.posture.value, t.threshold, t.parameters) for t in d.triggers],
        )
        for d in deployments
    ]


def test_deployment_names_schedules_parameters_and_triggers() -> None:
    snapshot = _snapshot(build())
    on_demand = ["on-demand", "reportcycle"]
    assert snapshot == [
        ("daily-chase", "chase-all", ["cron 0 9 * * 1-5 Europe/London"], {}, ["chase", "reportcycle"], []),
        (
            "dispatch-outbox",
            "dispatch",
            ["cron 0 9 * * 1-5 Europe/London", "every 300s"],
            {},
            ["outbox", "reportcycle"],
            [
                (
                    "dispatch on submission",
                    ["reportcycle.contribution.submitted"],
                    {"prefect.resource.id": "reportcycle.contribution.*"},
                    "Reactive",
                    1,
                    None,
                )
            ],
        ),
        ("read-mailbox", "inbound", ["every 300s"], {}, ["inbound", "reportcycle"], []),
        ("weekly-summary", "weekly-summary", ["cron 0 9 * * 1-5 Europe/London"], {}, ["reportcycle", "summary"], []),
        ("open-cycle", "open-cycle", [], {}, on_demand, []),
        ("collate-draft", "collate", [], {}, on_demand, []),
        ("apply-review", "review", [], {}, on_demand, []),
        ("publish-report", "publish", [], {}, on_demand, []),
        # the year runs itself: every cycle, half an hour before the chase and dispatch
        (
            "annual-cycle",
            "annual-cycle",
            ["cron 30 8 * * 1-5 Europe/London"],
            {},
            ["reportcycle", "year"],
            [
                (
                    "reconcile after a desk action",
                    ["reportcycle.desk.action"],
                    {"prefect.resource.id": "reportcycle.cycle.*"},
                    "Reactive",
                    1,
                    None,
                )
            ],
        ),
    ]


def test_the_year_runs_in_the_partnerships_time_zone() -> None:
    """No cycle named: the scheduled run reconciles every cycle, at 8:30 local time whatever the zone."""
    annual = {d.name: d for d in build("Europe/Dublin")}["annual-cycle"]
    assert [_when(s) for s in annual.schedules] == ["cron 30 8 * * 1-5 Europe/Dublin"]
    assert annual.parameters == {}
    assert "publish a signed-off report on its chosen day" in (annual.description or "")


def test_dispatch_and_the_reconcile_run_one_at_a_time_and_the_others_wait_their_turn() -> None:
    deployments = {d.name: d for d in build()}
    for name in ("dispatch-outbox", "annual-cycle"):
        one = deployments.pop(name)
        assert one.concurrency_limit == 1
        assert one.concurrency_options and one.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert deployments.pop("read-mailbox").concurrency_limit == 1  # two readers would only wait on each other
    assert {d.concurrency_limit for d in deployments.values()} == {None}


def test_no_deployment_parameter_can_carry_a_secret() -> None:
    """Parameters show in the Prefect UI: only names, dates and switches, never a URL or a password."""
    allowed = {"partnership", "cycle", "at", "dry_run", "send", "actor"}
    for d in build():
        properties = set(d._parameter_openapi_schema.properties)
        assert properties <= allowed, (d.name, properties - allowed)


def test_the_work_pool_deployments_are_built_with_the_pool_and_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reportcycle deploy`: the same deployments, the pool, entrypoints in the checkout from any directory."""
    monkeypatch.chdir(tmp_path)  # not the checkout: the entrypoints must not depend on where deploy runs
    pooled = for_pool("reportcycle")
    assert _snapshot(pooled) == _snapshot(build())
    assert [(d.description, d.job_variables) for d in pooled] == [(d.description, {}) for d in build()]
    assert [(d.work_pool_name, d.entrypoint) for d in pooled] == [
        ("reportcycle", "flows/chase.py:chase_all_flow"),
        ("reportcycle", "flows/dispatch.py:dispatch_flow"),
        ("reportcycle", "flows/inbound.py:inbound_flow"),
        ("reportcycle", "flows/weekly_summary.py:weekly_summary_flow"),
        ("reportcycle", "flows/open_cycle.py:open_cycle_flow"),
        ("reportcycle", "flows/collate.py:collate_flow"),
        ("reportcycle", "flows/review.py:review_flow"),
        ("reportcycle", "flows/publish.py:publish_flow"),
        ("reportcycle", "flows/annual_cycle.py:annual_cycle_flow"),
    ]
    pull = {"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_ROOT)}}
    assert all(d.storage.to_pull_step() == pull for d in pooled)
    with pytest.raises(PoolError, match="is not inside"):
        for_pool("reportcycle", source=tmp_path)
