"""What every flow needs: settings, the clock, a session that a dry run rolls back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlmodel import Session

from models.db import engine_for
from reportcycle.clock import resolve
from reportcycle.settings import Settings, get_settings

T = TypeVar("T")


def in_session(settings: Settings, work: Callable[[Session], T], *, dry_run: bool) -> T:
    """Run `work` in one transaction; commit it, or roll it all back for a dry run.

    A dry run goes through exactly the code a real run does, so what it
    reports is what a real run would do, and nothing of it is kept.
    """
    with Session(engine_for(settings.database_url), expire_on_commit=False) as session:
        try:
            result = work(session)
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
        return result


def now(at: dt.datetime | None) -> dt.datetime:
    return resolve(at)


def run_name(verb: str) -> Callable[[], str]:
    """A flow-run name that says what the run is for: "chase 2019-05-13 09:30 UTC"."""

    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters
        at = params.get("at")
        # A scheduled run has no `at`: it acts at the system time, which the name then says.
        when = f"{resolve(at if isinstance(at, dt.datetime) else None):%Y-%m-%d %H:%M} UTC"
        who = " ".join(str(params[k]) for k in ("partnership", "cycle") if params.get(k))
        dry = " (dry run)" if params.get("dry_run") else ""
        return " ".join(x for x in (verb, who, when) if x) + dry

    return name


def rename_run(name: str) -> None:
    """Rename the current flow run once its result is known ("collate draft 3").

    Only a name: a failure here is logged and the run's work stands.
    """
    from uuid import UUID

    from prefect import get_run_logger
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(str(flow_run.id)), name=name)
    except Exception as exc:  # the name is cosmetic; never fail a run that did its work
        get_run_logger().warning("could not rename the run to %r: %s", name, exc)


@contextmanager
def short_runs() -> Iterator[None]:
    """Flow runs started in-process (CLI, demo, tests) skip the heartbeat thread.

    Heartbeats let a Prefect server mark a dead worker's run as crashed; an
    in-process run dies with its caller, and joining the thread costs ~1 s a run.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


__all__ = ["Settings", "get_settings", "in_session", "now", "rename_run", "run_name", "short_runs"]
