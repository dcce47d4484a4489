"""What every flow needs: settings, the clock, a session that a dry run rolls back, and Prefect, or not.

`flow` and `task` here wrap Prefect's decorators. A command typed at a terminal imports the flows inside
`without_prefect()`: the decorators then give back the plain functions, so the same stage code runs without
importing Prefect or starting a server (a second or two, not twenty). When a Prefect server is configured,
such a command records its run there through `recording()` (see `_recorder`); the deployments and the tests'
harness run the flows under Prefect's engine.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session

from models.db import engine_for
from reportcycle.clock import resolve
from reportcycle.exiting import leave_quickly
from reportcycle.settings import Settings, get_settings

if TYPE_CHECKING:
    from flows._recorder import Recorder

# A deployment's flow run is a process of its own (`python -m prefect.engine`) that imports this module:
# it exits in 0.04 s instead of 0.6-0.9 s, which frees the runner's slot (and a Ctrl-C of `serve`) sooner.
leave_quickly()

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_PREFECT = True  # False inside without_prefect(), where the flows are imported as plain functions
_RECORDER: Recorder | None = None  # a plain-function run recorded on a Prefect server by a command


@contextmanager
def without_prefect() -> Iterator[bool]:
    """Flows imported inside this are plain functions: nothing is sent to (or starts) a Prefect server. Yields
    whether that holds: flows already imported as Prefect flows (a test process) stay what they are."""
    global _PREFECT
    loaded = [name for name in sys.modules if name.startswith("flows.") and name != "flows._runtime"]
    before = _PREFECT
    _PREFECT = before if loaded else False
    try:
        yield not _PREFECT
    finally:
        _PREFECT = before


def engine() -> bool:
    """Whether flow runs in this process are run by Prefect's engine (a deployment, a test harness)."""
    return _PREFECT


def recorded() -> bool:
    """Whether flow runs in this process are recorded on a Prefect server, by its engine or by a command."""
    return _PREFECT or _RECORDER is not None


def recorder() -> Recorder | None:
    """The recorder of a command's plain-function run, or None."""
    return _RECORDER


@contextmanager
def recording(found: Recorder) -> Iterator[None]:
    """Plain-function flows called inside are recorded by `found` (the outermost call is the flow run)."""
    global _RECORDER
    before, _RECORDER = _RECORDER, found
    try:
        yield
    finally:
        _RECORDER = before


def ends_as(result: Any, kind: str | None, *, name: str | None = None, message: str | None = None) -> Any:
    """End the flow run in state `kind` ("FAILED", "COMPLETED"; None: plain Completed) with `result` as its data:
    a Prefect state under its engine, else what a command's recorder (if any) writes, `result` returned as is."""
    if kind is None:
        return result
    if not _PREFECT:
        from flows._recorder import Outcome

        if _RECORDER is not None and _RECORDER.run_id is not None:
            _RECORDER.outcome = Outcome(kind, name, message)
        return result
    from prefect.states import Completed, Failed

    make = Failed if kind == "FAILED" else Completed
    return make(name=name, message=message, data=result) if name else make(message=message, data=result)


def _plain(fn: F) -> F:
    # What the CLI and the flows call on a task or flow besides calling it, as the plain function needs them.
    fn.fn = fn  # type: ignore[attr-defined]
    fn.with_options = lambda **_: fn  # type: ignore[attr-defined]
    return fn


def _recordable(fn: Callable[..., Any], options: dict[str, Any]) -> Callable[..., Any]:
    """The plain flow, recorded as a flow run when a command records runs and no run is being recorded yet."""
    import inspect

    signature = inspect.signature(fn)
    naming = options.get("flow_run_name")

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        found = _RECORDER
        if found is None or found.run_id is not None:  # not recorded, or a flow inside a recorded one
            return fn(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        name = describe(naming.verb, params) if callable(naming) and hasattr(naming, "verb") else fn.__name__
        with found.run(options.get("name") or fn.__name__, name, params):
            return fn(*args, **kwargs)

    return call


def flow(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Prefect's @flow, or the function itself when this process runs without Prefect."""

    def wrap(fn: Callable[..., Any]) -> Any:
        if not _PREFECT:
            return _plain(_recordable(fn, options))
        from prefect import flow as prefect_flow

        return prefect_flow(**options)(fn)

    return wrap


def task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Prefect's @task, never cached (every task reads the database, which is the truth), or the function."""

    def wrap(fn: Callable[..., Any]) -> Any:
        if not _PREFECT:
            return _plain(fn)
        from prefect.cache_policies import NO_CACHE

        return _untagged_task()(fn=fn, cache_policy=NO_CACHE, **options)

    return wrap


@functools.cache
def _untagged_task() -> type:
    """Prefect's Task, whose runs carry only the task's own tags, not those of the runs around it (`tagged`).

    Prefect asks the server for tag-based concurrency slots for every task run that has a tag: a round trip
    before each task (about 0.1 s under load, 112 of them in the example's year). This project sets no tag
    concurrency limits (a deployment's limit is its own), and the tags say which flow runs a demo or a command
    made, which the flow runs carry."""
    from prefect import Task
    from prefect.context import TagsContext

    class UntaggedTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with TagsContext(current_tags=set()):
                return super().__call__(*args, **kwargs)

        def with_options(self, **options: Any) -> Any:
            found = super().with_options(**options)
            found.__class__ = UntaggedTask
            return found

    return UntaggedTask


def run_logger() -> Any:
    """The flow or task run's logger (its lines reach the Prefect UI), or a plain one without Prefect."""
    if not _PREFECT:
        return logging.getLogger("reportcycle.flows")
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:  # a flow imported plain earlier in this process runs outside any Prefect run
        return logging.getLogger("reportcycle.flows")


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


def tagged(*labels: str) -> Any:
    """Runs started inside carry these tags in Prefect (to find or count them later); nothing without it."""
    if not _PREFECT:
        if _RECORDER is not None:
            _RECORDER.tags = [*_RECORDER.tags, *labels]
        return nullcontext()
    from prefect import tags

    return tags(*labels)


def count_runs(tag: str) -> int:
    """How many flow runs carry `tag` on the Prefect server; 0 when runs are not recorded."""
    if not _PREFECT:
        return _RECORDER.api.count_flow_runs(tag) if _RECORDER is not None else 0
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        return client.count_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])))


def now(at: dt.datetime | None) -> dt.datetime:
    return resolve(at)


def describe(verb: str, params: dict[str, Any]) -> str:
    """A flow-run name that says what the run is for: "chase 2019-05-13 09:30 UTC"."""
    at = params.get("at")
    # A scheduled run has no `at`: it acts at the system time, which the name then says.
    when = f"{resolve(at if isinstance(at, dt.datetime) else None):%Y-%m-%d %H:%M} UTC"
    who = " ".join(str(params[k]) for k in ("partnership", "cycle") if params.get(k))
    dry = " (dry run)" if params.get("dry_run") else ""
    return " ".join(x for x in (verb, who, when) if x) + dry


def run_name(verb: str) -> Callable[[], str]:
    """What Prefect's engine calls to name a run of a flow (`describe` of its parameters)."""

    def name() -> str:
        from prefect.runtime import flow_run

        return describe(verb, flow_run.parameters)

    name.verb = verb  # type: ignore[attr-defined]  # for a command's recorded plain run
    return name


def rename_run(name: str) -> None:
    """Rename the current flow run once its result is known ("collate draft 3").

    Only a name: a failure here is logged and the run's work stands.
    """
    if not _PREFECT:
        if _RECORDER is not None:
            _RECORDER.rename(name)
        return
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
    if not _PREFECT:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


__all__ = [
    "Settings",
    "count_runs",
    "describe",
    "ends_as",
    "engine",
    "flow",
    "get_settings",
    "in_session",
    "now",
    "recorded",
    "recorder",
    "recording",
    "rename_run",
    "run_logger",
    "run_name",
    "short_runs",
    "tagged",
    "task",
    "without_prefect",
]
