"""Prefect defaults for this application, applied before Prefect is imported."""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # The ephemeral server's shutdown prints harmless tracebacks at lower levels.
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # Flow runs log at INFO, so each run in the Prefect UI says what it did; PREFECT_LOGGING_LEVEL=WARNING
    # quietens them. The terminal shows warnings only: the CLI prints its own results.
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    # Every log line carries its date, time and zone (Prefect's default is the time of day alone).
    "PREFECT_LOGGING_FORMATTERS_STANDARD_DATEFMT": "%Y-%m-%d %H:%M:%S%z",
    "PREFECT_LOGGING_FORMATTERS_STANDARD_FORMAT": "%(asctime)s | %(levelname)-7s | %(name)s - %(message)s",
    "PREFECT_LOGGING_FORMATTERS_STANDARD_FLOW_RUN_FMT": (
        "%(asctime)s | %(levelname)-7s | Flow run %(flow_run_name)r - %(message)s"
    ),
    "PREFECT_LOGGING_FORMATTERS_STANDARD_TASK_RUN_FMT": (
        "%(asctime)s | %(levelname)-7s | Task run %(task_run_name)r - %(message)s"
    ),
}


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
