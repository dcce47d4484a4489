"""Processes leave without the interpreter's last full collection (reportcycle/exiting.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reportcycle.settings import PROJECT_ROOT


@pytest.mark.parametrize("module", ["reportcycle.cli", "flows._runtime"])
def test_the_heap_is_frozen_at_exit_after_every_exit_handler_registered_later(module: str) -> None:
    """A command (reportcycle.cli) and a deployment's flow-run process (which imports flows._runtime): the
    handler registered here, before the import, runs last, and by then the heap is frozen."""
    program = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        f"import {module}\n"
        "atexit.register(lambda: print('frozen before a later handler:', gc.get_freeze_count() > 0))\n"
        "print('frozen while running:', gc.get_freeze_count() > 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "frozen while running: False",
        "frozen before a later handler: False",
        "frozen at exit: True",
    ]
