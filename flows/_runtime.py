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
        when = f"{resolve(at):%Y-%m-%d %H:%M} UTC" if isinstance(at, dt.datetime) else "now"
        who = " ".join(str(params[k]) for k in ("partnership", "cycle") if params.get(k))
        dry = " (dry run)" if params.get("dry_run") else ""
        return " ".join(x for x in (verb, who, when) if x) + dry

    return name


@contextmanager
def short_runs() -> Iterator[None]:
    """Flow runs started in-process (CLI, demo, tests) skip the heartbeat thread.

    Heartbeats let a Prefect server mark a dead worker's run as crashed; an
    in-process run dies with its caller, and joining the thread costs ~1 s a run.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


__all__ = ["Settings", "get_settings", "in_session", "now", "run_name", "short_runs"]
