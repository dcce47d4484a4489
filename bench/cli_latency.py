"""Benchmark: how long a business manager waits for a command, beside `reportcycle --help` in the same run.

Each command is a fresh process, as typed at a terminal, on the worked example (SQLite, a local SMTP sink):
first with no Prefect server configured (the stage code runs without one), then with a Prefect server
running (started once, not timed) and PREFECT_API_URL set, when the runs are recorded there.
Targets: `status` <= 1 s, `chase --dry-run` and `cycle open --dry-run` <= 2 s without a server, <= 3 s with one.
Each cell is the wall time, then in brackets the CPU time the command's process used (user + system): on a
machine busy with other work the wall time grows, the CPU time much less, so it is the figure to compare then.
`--against DIR` measures another checkout (e.g. `git worktree add /tmp/before main`) in turns with this one,
each on a database of its own, so that both see the same load: the before and after of a change side by side.
Measured 2026-12-01 with `--against` main's checkout, in turns on a machine at load average 13-17 (CPU seconds
only, before -> after, no server): `status` 2.81 -> 1.51, `cycle open --dry-run` 2.95 -> 2.74, `chase
--dry-run` 3.09 -> 2.67, with `--help` at 0.53 (0.34 s on a quiet machine). More in the README ("cli_latency").

    python bench/cli_latency.py [--repeat 3] [--against DIR]
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


def run(env: dict[str, str], *args: str, tree: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU seconds of one command in a fresh process, with the code of `tree` (its folder comes first
    on the path: `-c` puts the working directory there)."""
    started, cpu = time.perf_counter(), _cpu()
    done = subprocess.run([*CLI, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
    return seconds, _cpu() - cpu


def timed(envs: dict[Path, dict[str, str]], repeat: int, *args: str) -> dict[Path, tuple[float, float]]:
    """Median wall and CPU of each tree's code, the trees taking turns so that both see the same load."""
    runs: dict[Path, list[tuple[float, float]]] = {tree: [] for tree in envs}
    for _ in range(repeat):
        for tree, env in envs.items():
            runs[tree].append(run(env, *args, tree=tree))
    return {
        tree: (statistics.median(w for w, _ in found), statistics.median(c for _, c in found))
        for tree, found in runs.items()
    }


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


def measure(envs: dict[Path, dict[str, str]], repeat: int) -> dict[Path, dict[str, tuple[float, float]]]:
    found: dict[Path, dict[str, tuple[float, float]]] = {tree: {} for tree in envs}

    def keep(command: str, *args: str) -> None:
        for tree, figures in timed(envs, repeat, *args).items():
            found[tree][command] = figures

    keep("reportcycle --help", "--help")
    for tree, env in envs.items():
        found[tree]["status"] = (0.0, 0.0)  # in the table's order; measured last, once there is a cycle to show
        run(env, "init", tree=tree)
        run(env, "partnership", "load", str(ROOT / "examples" / "bscb-2018-19.toml"), tree=tree)
    keep("cycle open --dry-run", "--at", OPEN_DAY, "cycle", "open", "--dry-run")
    for tree, env in envs.items():
        run(env, "--at", OPEN_DAY, "cycle", "open", tree=tree)
    keep("chase --dry-run", "--at", CHASE_DAY, "chase", "--dry-run")
    # `status` exits 1 when a check fails; Prefect "not configured" is not a failure, and the sink answers SMTP.
    keep("status", "--at", CHASE_DAY, "status")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--against", type=Path, help="another checkout of the project (e.g. main's), measured in turns beside this one"
    )
    args = parser.parse_args()
    console = Console()
    trees = {ROOT: "this code"} | ({args.against.resolve(): f"{args.against}"} if args.against else {})
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "REPORTCYCLE_"))}
    results: dict[str, dict[Path, dict[str, tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp, MailSink() as sink:
        common = {"REPORTCYCLE_SMTP_HOST": sink.host, "REPORTCYCLE_SMTP_PORT": str(sink.port)}

        def envs(mode: str, extra: dict[str, str]) -> dict[Path, dict[str, str]]:
            return {
                tree: base
                | common
                | extra
                | {
                    "PREFECT_HOME": f"{tmp}/home-{mode}",
                    "REPORTCYCLE_DATABASE_URL": f"sqlite:///{tmp}/{mode}-{n}.db",
                    "REPORTCYCLE_OUTPUT_DIR": f"{tmp}/out-{mode}-{n}",
                }
                for n, tree in enumerate(trees)
            }

        with console.status("without a Prefect server"):
            results["no server"] = measure(envs("plain", {}), args.repeat)
        server, url = prefect_server(Path(tmp) / "home-server")
        try:
            with console.status("with a Prefect server"):
                results["with a server"] = measure(envs("server", {"PREFECT_API_URL": url}), args.repeat)
        finally:
            server.kill()
    table = Table(title=f"CLI latency, median of {args.repeat} fresh processes: wall (CPU) seconds; ratio to --help")
    table.add_column("command")
    for mode in results:
        for label in trees.values():
            table.add_column(f"{mode}: {label}" if args.against else mode)
            table.add_column("ratio")
    table.add_column("target")
    targets = {"status": "<= 1 s", "cycle open --dry-run": "<= 2 s / 3 s", "chase --dry-run": "<= 2 s / 3 s"}
    for command in results["no server"][ROOT]:
        cells = [command]
        for found in results.values():
            for tree in trees:
                wall, cpu = found[tree][command]
                cells += [f"{wall:.2f} ({cpu:.2f})", f"{wall / found[tree]['reportcycle --help'][0]:.1f}x"]
        table.add_row(*cells, targets.get(command, ""))
    console.print(table)


if __name__ == "__main__":
    main()
