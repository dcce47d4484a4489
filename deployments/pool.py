"""The deployments registered to a process work pool, for `prefect worker start` on one or more machines.

The same deployments as `deployments.schedules.build()` (names, schedules, triggers, tags,
descriptions, parameters), with two differences that a worker needs: each deployment names the work
pool, and its code is this checkout, found by path. Prefect records that as a pull step
(`set_working_directory` to the checkout), so a worker on any machine runs the flow from the same
path there, and imports this project's code from it. No parameter or job variable is added: the
database and SMTP settings come from each worker's environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from deployments.schedules import build
from reportcycle.settings import PROJECT_ROOT

POOL_TYPE = "process"


class PoolError(Exception):
    pass


@dataclass(frozen=True)
class Registered:
    pool: str
    pool_created: bool
    deployments: list[tuple[str, UUID]]  # ("chase-all/daily-chase", its id)


def for_pool(pool: str, timezone: str = "Europe/London", source: Path = PROJECT_ROOT) -> list[Any]:
    """build()'s deployments, each bound to `pool`, with its code at `source` (a checkout of this project)."""
    from prefect.runner.storage import LocalStorage

    source = source.resolve()
    storage = LocalStorage(str(source))
    deployments = build(timezone)
    for d in deployments:
        # to_deployment() writes the flow's file relative to the current directory; a worker needs it
        # relative to the checkout its pull step moves into.
        file, _, function = d.entrypoint.rpartition(":")
        path = (Path.cwd() / file).resolve()
        if not path.is_relative_to(source):
            raise PoolError(f"{path} is not inside {source}: register from the checkout the workers run")
        d.entrypoint = f"{path.relative_to(source).as_posix()}:{function}"
        d.storage = storage
        d.work_pool_name = pool
    return deployments


def ensure_pool(pool: str) -> bool:
    """Create the process work pool `pool` unless it exists; True when it was created here."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_work_pool(pool)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            try:
                client.create_work_pool(WorkPoolCreate(name=pool, type=POOL_TYPE, base_job_template=template))
            except ObjectAlreadyExists:  # created by someone else meanwhile: theirs is as good
                return False
            return True
    if existing.type != POOL_TYPE:
        raise PoolError(f"work pool {pool!r} is of type {existing.type!r}; the deployments need a {POOL_TYPE!r} pool")
    return False


def register(pool: str, timezone: str = "Europe/London", source: Path = PROJECT_ROOT) -> Registered:
    """Create the pool if needed and register (create or update) every deployment to it."""
    deployments = for_pool(pool, timezone, source)
    created = ensure_pool(pool)
    return Registered(pool, created, [(f"{d.flow_name}/{d.name}", d.apply(work_pool_name=pool)) for d in deployments])
