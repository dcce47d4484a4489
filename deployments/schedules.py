"""Every deployment a running installation serves, in one place: what runs when, and on what event.

Scheduled, every working-day morning in the partnership's time zone: first the
annual cycle, which runs the year (opens planned cycles on their requests date,
applies the Chair's decisions, chases, collates, and publishes a report the board
signed off on the day chosen for it); then the chase and dispatch (the chase
itself skips bank holidays and reads each partnership's send window, so the
schedule only has to wake it); dispatch also every few minutes, so receipts and
retries do not wait for the morning; the monitored mailbox, every few minutes
(issue 17); the weekly summary. Everything else runs
when someone asks: the portal, the CLI, the Prefect UI, or an automation on an
event the application emits.

No deployment carries a secret: parameters are names and dates only, and the
SMTP and database credentials come from the serving process's environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron, Interval

from flows.annual_cycle import annual_cycle_flow
from flows.chase import chase_all_flow
from flows.collate import collate_flow
from flows.dispatch import dispatch_flow
from flows.inbound import inbound_flow
from flows.open_cycle import open_cycle_flow
from flows.publish import publish_flow
from flows.review import review_flow
from flows.weekly_summary import weekly_summary_flow
from tasks.ops.events import CONTRIBUTION_SUBMITTED, DESK_ACTION

WORKING_MORNINGS = "0 9 * * 1-5"
# Half an hour before the chase and dispatch: requests of a cycle opened this morning are queued in time for the
# 9:00 dispatch, and the daily chase, which follows, finds that morning's work already done (its rows are keyed).
RECONCILE_MORNINGS = "30 8 * * 1-5"
# Receipts, fresh links and retries go within this many seconds even with no event.
DISPATCH_EVERY = 300
# Agencies' replies and bounces are read within this many seconds (the flow does nothing when inbound is not set).
INBOUND_EVERY = 300
TAGS = ["reportcycle"]


def build(timezone: str = "Europe/London") -> list[Any]:
    mornings = Cron(WORKING_MORNINGS, timezone=timezone)
    return [
        chase_all_flow.to_deployment(
            name="daily-chase",
            schedule=mornings,
            tags=[*TAGS, "chase"],
            description="Reminders, overdue notices and escalations due today, for every running cycle "
            "(bank holidays and each partnership's send window are checked by the flow).",
        ),
        dispatch_flow.to_deployment(
            name="dispatch-outbox",
            schedules=[Cron(WORKING_MORNINGS, timezone=timezone), Interval(DISPATCH_EVERY)],
            tags=[*TAGS, "outbox"],
            description="Send queued emails that are due, and retry temporary failures.",
            # Two dispatch runs never work at once: a run the schedule or an event starts meanwhile waits its turn
            # (the outbox's claims and leases are the second line of defence).
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            triggers=[
                DeploymentEventTrigger(
                    name="dispatch on submission",
                    description="A submitted contribution's receipt goes at once, not at the next interval.",
                    expect={CONTRIBUTION_SUBMITTED},
                    match={"prefect.resource.id": "reportcycle.contribution.*"},
                    threshold=1,
                    within=timedelta(0),
                )
            ],
        ),
        inbound_flow.to_deployment(
            name="read-mailbox",
            schedule=Interval(INBOUND_EVERY),
            tags=[*TAGS, "inbound"],
            description="Read agencies' replies, automatic replies and bounces from the monitored mailbox.",
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        ),
        weekly_summary_flow.to_deployment(
            name="weekly-summary",
            # Every working morning; the outbox key (cycle + ISO week) makes it once a week, on the first
            # working day of the week, so a bank-holiday Monday moves it to Tuesday instead of losing it.
            schedule=Cron(WORKING_MORNINGS, timezone=timezone),
            tags=[*TAGS, "summary"],
            description="Where each running cycle stands, to its business manager, once a week.",
        ),
        *(
            f.to_deployment(name=name, tags=[*TAGS, "on-demand"], description=what)
            for f, name, what in (
                (open_cycle_flow, "open-cycle", "Open a cycle: contributions, personal links, request emails."),
                (collate_flow, "collate-draft", "Collate a numbered draft of the report."),
                (review_flow, "apply-review", "Apply the Chair's recorded decisions."),
                (publish_flow, "publish-report", "Publish the approved report and notify the recipients."),
            )
        ),
        annual_cycle_flow.to_deployment(
            name="annual-cycle",
            schedule=Cron(RECONCILE_MORNINGS, timezone=timezone),
            tags=[*TAGS, "year"],
            # One reconcile at a time: a desk action during the morning's run waits for it, then runs.
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            triggers=[
                DeploymentEventTrigger(
                    name="reconcile after a desk action",
                    description="What the business manager did on the desk takes effect now, not next morning.",
                    expect={DESK_ACTION},
                    match={"prefect.resource.id": "reportcycle.cycle.*"},
                    threshold=1,
                    within=timedelta(0),
                )
            ],
            description="Run the year: for every cycle, each stage due now (open on the requests date, apply the "
            "Chair's decisions, chase, collate, publish a signed-off report on its chosen day).",
        ),
    ]


def serve(timezone: str = "Europe/London") -> None:  # pragma: no cover - runs until stopped
    from prefect import serve as prefect_serve

    prefect_serve(*build(timezone))
