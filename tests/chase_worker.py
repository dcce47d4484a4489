"""A worker in its own process running the daily chase flow against a Prefect server (for test_workers.py).

    python tests/chase_worker.py GO_FILE AT [AT ...]

The environment gives the Prefect API (PREFECT_API_URL), the application database and the SMTP
server. It prints "ready", waits until GO_FILE exists (so two workers start together), runs
chase-all (which dispatches) for each instant as a real flow run, and prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportcycle import prefect_env

prefect_env.apply()

from flows._runtime import short_runs  # noqa: E402
from flows.chase import chase_all_flow  # noqa: E402


def main() -> None:
    go, *instants = sys.argv[1:]
    print("ready", flush=True)
    while not Path(go).exists():
        time.sleep(0.01)
    queued: list[str] = []
    with short_runs():
        for at in instants:
            for report in chase_all_flow(at=dt.datetime.fromisoformat(at)):
                queued += [f"{e.agency}:{e.kind}:{e.note}" for e in report.emails]
    print(json.dumps({"queued": queued}), flush=True)


if __name__ == "__main__":
    main()
