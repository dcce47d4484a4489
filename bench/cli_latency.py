"""Benchmark: how long a business manager waits for a command, beside `reportcycle --help` in the same run.

Each command is a fresh process, as typed at a terminal, on the worked example (SQLite, a local SMTP sink):
first with no Prefect server configured (the stage code runs without one), then with a Prefect server
running (started once, not timed) and PREFECT_API_URL set, when the runs are recorded there.
Targets: `status` <= 1 s, `chase --dry-run` and `cycle open --dry-run` <= 2 s without a server, <= 3 s with one.
Each cell is the wall time, then in brackets the CPU time the command's process used (user + system): on a
machine busy with other work the wall time grows, the CPU time much less, so it is the figure to compare then.

    python bench/cli_latency.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from reportcycle.mailsink import MailSink, free_port  # noqa: E402

CLI = [sys.executable, "-c", "from reportcycle.cli import app; app()"]
OPEN_DAY = "2019-04-15T09:00+01:00"
CHASE_DAY = "2019-05-13T09:30+01:00"


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # every child this process has waited for, so far
    return used.ru_utime + used.ru_stime


def run(env: dict[str, str], *args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one command in a fresh process."""
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run([*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
    return seconds, _cpu() - cpu


def timed(env: dict[str, str], repeat: int, *args: str) -> tuple[float, float]:
    runs = [run(env, *args) for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def prefect_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.perf_counter() + 180
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the Prefect server did not start")


def measure(env: dict[str, str], repeat: int) -> dict[str, tuple[float, float]]:
    found = {"reportcycle --help": timed(env, repeat, "--help")}
    found["status"] = (0.0, 0.0)
    run(env, "init")
    run(env, "partnership", "load", str(ROOT / "examples" / "bscb-2018-19.toml"))
    found["cycle open --dry-run"] = timed(env, repeat, "--at", OPEN_DAY, "cycle", "open", "--dry-run")
    run(env, "--at", OPEN_DAY, "cycle", "open")
    found["chase --dry-run"] = timed(env, repeat, "--at", CHASE_DAY, "chase", "--dry-run")
    # `status` exits 1 when a check fails; Prefect "not configured" is not a failure, and the sink answers SMTP.
    found["status"] = timed(env, repeat, "--at", CHASE_DAY, "status")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "REPORTCYCLE_"))}
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, MailSink() as sink:
        common = {"REPORTCYCLE_SMTP_HOST": sink.host, "REPORTCYCLE_SMTP_PORT": str(sink.port)}
        plain = (
            base
            | common
            | {
                "PREFECT_HOME": f"{tmp}/home-plain",
                "REPORTCYCLE_DATABASE_URL": f"sqlite:///{tmp}/plain.db",
                "REPORTCYCLE_OUTPUT_DIR": f"{tmp}/out-plain",
            }
        )
        with console.status("without a Prefect server"):
            results["no server"] = measure(plain, args.repeat)
        server, url = prefect_server(Path(tmp) / "home-server")
        try:
            served = (
                base
                | common
                | {
                    "PREFECT_HOME": f"{tmp}/home-server",
                    "PREFECT_API_URL": url,
                    "REPORTCYCLE_DATABASE_URL": f"sqlite:///{tmp}/served.db",
                    "REPORTCYCLE_OUTPUT_DIR": f"{tmp}/out-served",
                }
            )
            with console.status("with a Prefect server"):
                results["server"] = measure(served, args.repeat)
        finally:
            server.kill()
    table = Table(title=f"CLI latency, median of {args.repeat} fresh processes: wall (CPU) seconds; ratio to --help")
    for column in ("command", "no server", "ratio", "with a server", "ratio", "target"):
        table.add_column(column)
    targets = {"status": "<= 1 s", "cycle open --dry-run": "<= 2 s / 3 s", "chase --dry-run": "<= 2 s / 3 s"}
    plain_help, server_help = results["no server"]["reportcycle --help"], results["server"]["reportcycle --help"]
    for command in results["no server"]:
        (a, a_cpu), (b, b_cpu) = results["no server"][command], results["server"][command]
        table.add_row(
            command,
            f"{a:.2f} ({a_cpu:.2f})",
            f"{a / plain_help[0]:.1f}x",
            f"{b:.2f} ({b_cpu:.2f})",
            f"{b / server_help[0]:.1f}x",
            targets.get(command, ""),
        )
    console.print(table)


if __name__ == "__main__":
    main()
