"""A command's flow run recorded on a Prefect server without Prefect's engine in the process.

A command typed at a terminal runs the stage code as plain functions (see `_runtime`). When a Prefect server
is configured, the outermost flow it calls is recorded there as a flow run: started Running with its name,
parameters and tags, its INFO log lines, the artifact it leaves, and its outcome (Completed, Failed, or the
state the flow asked for, such as "Undelivered"). That is what an operator reads in the Prefect UI, at the
cost of a few HTTP calls rather than a 1.5 s import of Prefect and its engine. A recording that fails never
fails the command: the work is done, and the command says the run could not be recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tasks.ops.prefect_api import PrefectApi, PrefectApiError

LOGGER = "reportcycle.flows"  # what `run_logger()` gives back in a process without Prefect


@dataclass
class Outcome:
    kind: str = "COMPLETED"
    name: str | None = None
    message: str | None = None


class _Lines(logging.Handler):
    """Keeps the run's log lines, sent to the server in one call when the run ends."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, int, str, dt.datetime]] = []

    def emit(self, record: logging.LogRecord) -> None:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        self.records.append((record.name, record.levelno, record.getMessage(), at))


@dataclass
class Recorder:
    api: PrefectApi
    tags: list[str]
    warn: Callable[[str], None]
    run_id: str | None = None
    run_name: str | None = None
    outcome: Outcome = field(default_factory=Outcome)
    failed: bool = False  # the server refused a call: stop trying, say so once

    def _try(self, call: Callable[[], Any]) -> Any:
        if self.failed:
            return None
        try:
            return call()
        except PrefectApiError as exc:
            self.failed = True
            self.warn(f"this run could not be recorded in Prefect: {exc}")
            return None

    @contextmanager
    def run(self, flow: str, name: str, parameters: dict[str, Any]) -> Iterator[None]:
        """Record one flow run around the work inside."""
        self.run_id = self._try(lambda: self.api.start_flow_run(flow, name, parameters, self.tags))
        self.run_name, self.outcome = name, Outcome()
        lines = _Lines()
        logger = logging.getLogger(LOGGER)
        level = logger.level
        handlers: list[logging.Handler] = [lines]
        if not logger.handlers and not logging.getLogger().handlers:
            # Python prints warnings to the terminal only while a logger has no handler: keep doing so.
            terminal = logging.StreamHandler(sys.stderr)
            terminal.setLevel(logging.WARNING)
            handlers.append(terminal)
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)  # INFO reaches the run; the terminal still shows warnings only
        try:
            yield
        except BaseException as exc:
            crashed = not isinstance(exc, Exception)  # Ctrl-C, SystemExit: the command stopped, not the stage
            self.outcome = Outcome("CRASHED" if crashed else "FAILED", message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            for handler in handlers:
                logger.removeHandler(handler)
            logger.setLevel(level)
            self._finish(lines.records)

    def _finish(self, records: list[tuple[str, int, str, dt.datetime]]) -> None:
        run_id = self.run_id
        if run_id is None:
            return
        outcome = self.outcome
        self._try(lambda: self.api.logs(run_id, records))
        self._try(lambda: self.api.set_state(run_id, outcome.kind, name=outcome.name, message=outcome.message))
        self.run_id = None

    def artifact(self, key: str, kind: str, data: Any, description: str | None) -> None:
        run_id = self.run_id
        if run_id is not None:
            self._try(lambda: self.api.artifact(run_id, key, kind, data, description))

    def rename(self, name: str) -> None:
        run_id = self.run_id
        if run_id is not None:
            self._try(lambda: self.api.rename(run_id, name))
