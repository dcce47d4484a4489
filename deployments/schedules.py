"""The deployments a running installation serves, and when they run.

The chase runs every weekday morning in the partnership's time zone; the
flow itself skips bank holidays and reads each partnership's send window,
so the schedule only has to wake it. Dispatch runs often, so transactional
emails and retries go out within minutes.
"""

from __future__ import annotations

from typing import Any

from prefect.schedules import Cron, Interval

from flows.chase import chase_flow
from flows.dispatch import dispatch_flow


def build(timezone: str = "Europe/London") -> list[Any]:
    return [
        chase_flow.to_deployment(
            name="daily-chase",
            schedule=Cron("30 9 * * 1-5", timezone=timezone),
            tags=["reportcycle", "chase"],
            description="Reminders, overdue notices and escalations due today.",
        ),
        dispatch_flow.to_deployment(
            name="dispatch-outbox",
            schedule=Interval(300),
            tags=["reportcycle", "outbox"],
            description="Send queued emails that are due, and retry temporary failures.",
        ),
    ]


def serve(timezone: str = "Europe/London") -> None:  # pragma: no cover - runs until stopped
    from prefect import serve as prefect_serve

    prefect_serve(*build(timezone))
