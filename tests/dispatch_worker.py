"""A dispatcher in its own process, for crash and concurrency tests (no Prefect start-up).

    python tests/dispatch_worker.py URL PORT AT WORKER [--kill-at PHASE:N] [--go FILE]

--kill-at claimed:3 kills the process with SIGKILL at its third claimed row (before the SMTP
call); sent:3 right after the third message was accepted, before the row is marked sent.
--go FILE waits until FILE exists, so two workers start together.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.mail.outbox import dispatch_due
from tasks.mail.smtp import SmtpConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("port", type=int)
    parser.add_argument("at")
    parser.add_argument("worker")
    parser.add_argument("--kill-at")
    parser.add_argument("--go")
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
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
    report = dispatch_due(
        args.url,
        at=dt.datetime.fromisoformat(args.at),
        worker=args.worker,
        smtp=SmtpConfig("127.0.0.1", args.port, timeout=10),
        max_attempts=5,
        batch=args.batch,
        observe=observe,
    )
    print(json.dumps({"sent": report.sent, "reclaimed": report.reclaimed, "failed": report.failed}), flush=True)


if __name__ == "__main__":
    main()
