"""A dispatcher in its own process, for crash and concurrency tests (no Prefect start-up).

    python tests/dispatch_worker.py URL PORT AT WORKER [--kill-at PHASE:N] [--go FILE]

--kill-at claimed:3 kills the process with SIGKILL at its third claimed row (before the SMTP
call); sent:3 right after the third message was accepted, before the row is marked sent.
--go FILE waits until FILE exists, so two workers start together. --graceful: SIGTERM and SIGINT ask the
run to stop (the message in flight finished and recorded, the rest released), as `reportcycle dispatch` does.

`forked` is the same run as the target of a process forked from a forkserver that has imported this module
already: a crash test starts forty of them, and a fresh interpreter spends over a second on its imports each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.mail.dispatch import dispatch_due, stop_on_signals
from tasks.mail.smtp import SmtpConfig


def run(argv: list[str]) -> dict[str, object]:
    """Dispatch what is due as the arguments say; what it did, as the JSON line the script prints."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("port", type=int)
    parser.add_argument("at")
    parser.add_argument("worker")
    parser.add_argument("--kill-at")
    parser.add_argument("--go")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--graceful", action="store_true")
    args = parser.parse_args(argv)
    seen: Counter[str] = Counter()
    phase, _, nth = (args.kill_at or "::").partition(":")

    def observe(event: str, row_id: int) -> None:
        seen[event] += 1
        if event == phase and seen[event] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

    if args.go:
        print("ready", flush=True)
        while not Path(args.go).exists():
            time.sleep(0.01)
    with stop_on_signals() if args.graceful else nullcontext(None) as stop:
        report = dispatch_due(
            args.url,
            at=dt.datetime.fromisoformat(args.at),
            worker=args.worker,
            smtp=SmtpConfig("127.0.0.1", args.port, timeout=10),
            batch=args.batch,
            observe=observe,
            stop=stop,
        )
    found = {"sent": report.sent, "reclaimed": report.reclaimed, "failed": report.failed}
    return found | {"released": report.released, "stopped": report.stopped}


def forked(argv: list[str], result: str) -> None:
    """A forked process's run: its result written to the file `result` (absent if the process was killed)."""
    Path(result).write_text(json.dumps(run(argv)), encoding="utf-8")


def main() -> None:
    print(json.dumps(run(sys.argv[1:])), flush=True)


if __name__ == "__main__":
    main()
