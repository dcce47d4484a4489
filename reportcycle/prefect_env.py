"""Prefect defaults for this application, applied before Prefect is imported."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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


# `reportcycle serve` leaves a note in PREFECT_HOME of the server it started, so that commands run beside it
# record their runs there without anyone setting PREFECT_API_URL.
SERVED = "reportcycle-serve.json"


def record_served(home: Path, api_url: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / SERVED).write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}), encoding="utf-8")


def forget_served(home: Path) -> None:
    try:
        found = json.loads((home / SERVED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if found.get("pid") == os.getpid():
        (home / SERVED).unlink(missing_ok=True)


def served_api_url(home: Path) -> str | None:
    """The API URL of the server a live `reportcycle serve` started, or None (no note, or its process is gone)."""
    try:
        found = json.loads((home / SERVED).read_text(encoding="utf-8"))
        os.kill(int(found["pid"]), 0)  # signal 0: is that process still there?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(found["api_url"])


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def _profile_api_url() -> str | None:
    """PREFECT_API_URL from the active Prefect profile (`prefect config set`), read without importing Prefect."""
    import tomllib

    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml")
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    value = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL")
    return str(value) if value else None


def configured_api_url() -> str | None:
    """The Prefect server this command's runs are recorded on: PREFECT_API_URL (the environment, or the active
    profile), else the one a `reportcycle serve` on this machine started; None when there is none."""
    if "prefect" in sys.modules:  # already imported (a test harness, a worker): its settings are the answer
        from prefect.settings import PREFECT_API_URL

        return PREFECT_API_URL.value() or None
    found = os.environ.get("PREFECT_API_URL") or _profile_api_url()
    if found:
        return found
    served = served_api_url(prefect_home())
    if served:
        os.environ["PREFECT_API_URL"] = served  # for Prefect, imported after this
    return served
