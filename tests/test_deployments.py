"""A snapshot of the deployments: a schedule that runs daily, or a trigger, must not drift unnoticed."""

from typing import Any

import pytest

from deployments.schedules import build

pytestmark = pytest.mark.once  # independent of TEST_DATABASE_URL: the SQLite pass runs it


def _when(schedule: Any) -> str:
    s = schedule.schedule
    return f"cron {s.cron} {s.timezone}" if hasattr(s, "cron") else f"every {s.interval.total_seconds():.0f}s"


def test_deployment_names_schedules_parameters_and_triggers() -> None:
    snapshot = [
        (
            d.name,
            d.flow_name,
            [_when(s) for s in d.schedules],
            d.parameters,
            sorted(d.tags),
            [(t.name, sorted(t.expect), t.match.root, t.posture.value, t.threshold, t.parameters) for t in d.triggers],
        )
        for d in build()
    ]
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
        ("weekly-summary", "weekly-summary", ["cron 0 9 * * 1-5 Europe/London"], {}, ["reportcycle", "summary"], []),
        ("open-cycle", "open-cycle", [], {}, on_demand, []),
        ("collate-draft", "collate", [], {}, on_demand, []),
        ("apply-review", "review", [], {}, on_demand, []),
        ("publish-report", "publish", [], {}, on_demand, []),
        ("annual-cycle", "annual-cycle", [], {}, on_demand, []),
    ]


def test_no_deployment_parameter_can_carry_a_secret() -> None:
    """Parameters show in the Prefect UI: only names, dates and switches, never a URL or a password."""
    allowed = {"partnership", "cycle", "at", "dry_run", "send", "actor"}
    for d in build():
        properties = set(d._parameter_openapi_schema.properties)
        assert properties <= allowed, (d.name, properties - allowed)
