"""What the operator needs to know is working: the database, the SMTP relay, the monitored mailbox (when inbound
mail is configured), the Prefect API, the daily chase.

Shared by the portal's /health and `reportcycle status`. Every probe has a short
timeout and never sends or writes anything.

The last successful chase is read from Prefect's flow runs, not the audit log: a
quiet chase (nothing due) writes no audit event, by design, yet it did run. Every
worker reports to the one Prefect server, so its answer covers every machine.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from models.db import engine_for
from models.lifecycle import OutboxStatus
from models.status import outbound_email_t, running_calendars
from reportcycle.settings import Settings
from tasks.mail.smtp import probe

if TYPE_CHECKING:  # imported only where a Prefect server is configured: `status` without one needs no httpx
    from tasks.ops.prefect_api import PrefectApi

TIMEOUT = 3.0
CHASE_FLOWS = ["chase-all", "chase"]


@dataclass
class Health:
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or what is wrong
    last_chase: dt.datetime | None = None
    chase_alert: str | None = None
    outbox: dict[str, Any] = field(default_factory=dict)  # emails waiting for the relay, and failed
    outbox_alert: str | None = None

    @property
    def ok(self) -> bool:
        checks = all(v == "ok" or v.startswith("not configured") for v in self.checks.values())
        return checks and not self.chase_alert and not self.outbox_alert

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "failing",
            **self.checks,
            "last_chase": self.last_chase.isoformat() if self.last_chase else None,
            "chase_alert": self.chase_alert,
            "outbox": self.outbox,
            "outbox_alert": self.outbox_alert,
        }


def check_database(url: str) -> str:
    try:
        with engine_for(url).connect() as connection:
            connection.execute(text("SELECT 1")).one()
    except Exception as exc:  # any failure is the answer, not a crash of the health check
        return f"failing: {str(exc).splitlines()[0]}"
    return "ok"


def check_smtp(settings: Settings) -> str:
    try:
        probe(settings.smtp_config(), timeout=TIMEOUT)
    except OSError as exc:
        return f"failing: {settings.smtp_host}:{settings.smtp_port}: {exc}"
    return "ok"


def check_mailbox(settings: Settings) -> str:
    """Log in to the monitored mailbox and out again; while it fails, replies wait on the server, none is lost."""
    config = settings.inbound_config()
    if config is None:
        return "not configured (REPORTCYCLE_INBOUND_ADDRESS is unset: replies go to the business manager)"
    from tasks.inbound.mailbox import MailboxUnreachable
    from tasks.inbound.mailbox import probe as imap_probe

    try:
        imap_probe(replace(config, timeout=TIMEOUT))
    except MailboxUnreachable as exc:
        return f"failing: {exc}; replies wait there and are read when it answers"
    return "ok"


def prefect_api_url() -> str | None:
    from reportcycle.prefect_env import configured_api_url

    return configured_api_url()


def check_prefect() -> str:
    url = prefect_api_url()
    if url is None:
        return "not configured (PREFECT_API_URL is unset; `reportcycle serve` sets it)"
    import httpx  # only when there is a server to ask: `status` without one stays quick

    try:
        response = httpx.get(f"{url}/health", timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return f"failing: {url}: {type(exc).__name__}: {exc}"
    return "ok" if response.status_code == 200 else f"failing: {url}/health answered {response.status_code}"


def last_chase(before: dt.datetime) -> dt.datetime | None:
    """When the latest completed, real (not dry-run) chase acted: its `at` parameter, else its start.

    Runs that acted for an instant after `before` are not counted: with the system clock there are
    none, and a simulated clock (the demo, the tests) must not see a chase from its future.
    """
    url = prefect_api_url()
    if url is None:
        return None
    from tasks.ops.prefect_api import PrefectApi, when

    with PrefectApi(url) as client:
        runs = client.flow_runs(states=["COMPLETED"], flows=list(CHASE_FLOWS), sort="END_TIME_DESC", limit=50)
    moments = []
    for run in runs:
        params = run.get("parameters") or {}
        if params.get("dry_run"):
            continue
        at = params.get("at")
        moment = dt.datetime.fromisoformat(at) if isinstance(at, str) else when(run.get("start_time"))
        if moment is not None and moment <= before:
            moments.append(moment.astimezone(dt.UTC))
    return max(moments) if moments else None


def chase_alert(settings: Settings, last: dt.datetime | None, at: dt.datetime) -> str | None:
    """A working day, past the expected hour, with a running cycle and no chase yet today (its local day)."""
    from sqlmodel import Session  # asked only when a Prefect server answers

    from models.store import calendar_of, running_cycles

    expected = dt.time.fromisoformat(settings.chase_expected_by)
    with Session(engine_for(settings.database_url)) as session:
        cycles = running_cycles(session)
        for cycle, partnership in cycles:
            calendar = calendar_of(partnership)
            local = calendar.local(at)
            if not calendar.is_working_day(local.date()) or local.time() < expected:
                continue
            if last is None or calendar.local(last).date() < local.date():
                since = f"; the last was {calendar.local(last):%Y-%m-%d %H:%M}" if last else "; none has ever run"
                return (
                    f"no chase has run today ({local:%A %d %B %Y}) by {expected:%H:%M} {partnership.timezone} "
                    f"for {partnership.slug} {cycle.label}{since}: check the daily-chase deployment and its worker"
                )
    return None


# Emails the relay has refused or not answered for this long, on a working day, are an operator's problem.
OUTBOX_ALERT_AFTER = dt.timedelta(hours=1)


def outbox_waiting(settings: Settings, at: dt.datetime) -> tuple[dict[str, Any], str | None]:
    """How many emails wait for the relay (tried, or due while it could not be reached) and since when, how
    many failed, and an alert when the oldest has waited over an hour on a working day (the relay is down)."""
    # /health is polled: aggregates and one reply, never the waiting rows themselves (bodies and all).
    mail = outbound_email_t.c
    queued = (mail.status == OutboxStatus.queued, mail.first_attempt_at.is_not(None))
    with engine_for(settings.database_url).connect() as connection:
        count, since = connection.execute(select(func.count(), func.min(mail.first_attempt_at)).where(*queued)).one()
        why = connection.execute(
            select(mail.last_error)
            .where(*queued, mail.last_error.is_not(None))
            .order_by(mail.next_attempt_at.desc())
            .limit(1)
        ).scalar()
        failed = connection.execute(
            select(func.count()).select_from(outbound_email_t).where(mail.status == OutboxStatus.failed)
        ).scalar_one()
        calendars = running_calendars(connection)
    if since is not None and since.tzinfo is None:  # an aggregate comes back without the column's type
        since = since.replace(tzinfo=dt.UTC)
    found: dict[str, Any] = {
        "waiting": count,
        "waiting_since": since.isoformat() if since else None,
        "why": why,
        "failed": failed,
    }
    if since is None or at - since < OUTBOX_ALERT_AFTER:
        return found, None
    # Asked last: a working-day question loads the bank holidays, which a quiet outbox never needs.
    working = any(c.is_working_day(c.local(at).date()) for c in calendars) if calendars else at.weekday() < 5
    if not working:
        return found, None
    hours = (at - since).total_seconds() / 3600
    return found, (
        f"{count} email{'s' if count != 1 else ''} waiting for the SMTP relay for {hours:.1f} hours "
        f"(since {since:%Y-%m-%d %H:%M} UTC; last reply: {why}): check REPORTCYCLE_SMTP_HOST "
        "and the relay; they go by themselves once it answers"
    )


def health(settings: Settings, at: dt.datetime) -> Health:
    report = Health()
    report.checks["database"] = check_database(settings.database_url)
    report.checks["smtp"] = check_smtp(settings)
    report.checks["mailbox"] = check_mailbox(settings)
    report.checks["prefect"] = check_prefect()
    if report.checks["prefect"] == "ok":
        try:
            report.last_chase = last_chase(at)
        except Exception as exc:  # the API answered /health but not this: say so rather than guess
            report.checks["prefect"] = f"failing: reading flow runs: {exc}"
    if report.checks["database"] == "ok" and report.checks["prefect"] == "ok":
        report.chase_alert = chase_alert(settings, report.last_chase, at)
    if report.checks["database"] == "ok":
        report.outbox, report.outbox_alert = outbox_waiting(settings, at)
    return report


# Flow runs a command starts carry this tag with the machine and the process id, so that a run whose process
# died (killed, the terminal closed) can be told from one still running, and marked Crashed.
CLI_TAG = "reportcycle-cli"


def cli_run_tags() -> tuple[str, str]:
    return CLI_TAG, f"{CLI_TAG}:{socket.gethostname()}:{os.getpid()}"


def crash_orphaned_runs(client: PrefectApi) -> list[str]:
    """Mark Crashed the flow runs still Running (or Pending) whose command, on this machine, has died; returns
    their names. A run killed outright (SIGKILL, a closed terminal) cannot say so itself."""
    prefix = f"{CLI_TAG}:{socket.gethostname()}:"
    crashed = []
    for run in client.flow_runs(states=["RUNNING", "PENDING"], tags=[CLI_TAG], limit=200):
        pids = [t.removeprefix(prefix) for t in run.get("tags", []) if t.startswith(prefix)]
        if not pids or not pids[0].isdigit() or _alive(int(pids[0])):
            continue
        message = f"the reportcycle command that ran it (process {pids[0]}) died before the run ended"
        client.set_state(run["id"], "CRASHED", message=message)
        crashed.append(run["name"])
    return crashed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclass(frozen=True)
class RunLine:
    name: str
    deployment: str
    state: str
    when: dt.datetime | None  # expected start for a scheduled run, else start or end


def prefect_overview(limit: int = 5) -> dict[str, list[RunLine]]:
    """Flow runs running now, due next, and failed lately: what `reportcycle status` shows the operator."""
    url = prefect_api_url()
    if url is None:
        return {"running": [], "due": [], "failed": []}
    from tasks.ops.prefect_api import PrefectApi, when

    with PrefectApi(url) as client:
        names = client.deployment_names()
        found = {
            "running": client.flow_runs(
                states=["RUNNING", "PENDING", "CANCELLING"], sort="START_TIME_DESC", limit=limit
            ),
            "due": client.flow_runs(states=["SCHEDULED"], sort="EXPECTED_START_TIME_ASC", limit=limit),
            "failed": client.flow_runs(states=["FAILED", "CRASHED"], sort="END_TIME_DESC", limit=limit),
        }

    def moment(run: dict[str, Any], what: str) -> dt.datetime | None:
        return when(run.get("expected_start_time") if what == "due" else run.get("end_time") or run.get("start_time"))

    return {
        what: [
            RunLine(
                name=r["name"],
                deployment=names.get(r.get("deployment_id") or "", ""),
                state=r.get("state_name") or "",
                when=moment(r, what),
            )
            for r in runs
        ]
        for what, runs in found.items()
    }
