"""`reportcycle serve`: a Prefect server (or the one PREFECT_API_URL names), the deployments, the portal.

One process the operator starts and stops. The Prefect server is a child process
(its own session, so a terminal's Ctrl-C reaches only us and we stop things in
order); the deployments are served by Prefect's Runner in a thread with its own
event loop; the portal is uvicorn on the main loop. SIGINT or SIGTERM: the
portal stops taking requests, the runner stops polling (a flow run in flight is
cancelled by Prefect and, being a reconciler, finishes on its next run), then
the Prefect server we started is terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from reportcycle.prefect_env import forget_served, record_served
from reportcycle.settings import Settings

STARTUP_SECONDS = 90.0  # a cold Prefect server migrates its database first
ENDED_RUN_EXIT_SECONDS = 10.0  # how long Ctrl-C waits for a run that has ended to exit before it is killed


# `python -m prefect server start`, leaving as quickly as our own processes do (reportcycle/exiting.py).
_PREFECT_SERVER = "from reportcycle.exiting import leave_quickly; leave_quickly(); from prefect.cli import app; app()"


class ServeError(Exception):
    pass


@dataclass
class PrefectServer:
    url: str
    process: subprocess.Popen[bytes] | None  # None: someone else's server, left running

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class _Stopping:
    """How long each part took to stop after the signal: the line `serve` ends with, so an operator (or a
    test) that finds a stop slow sees which part was."""

    began: float | None = None
    parts: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.began = time.perf_counter()

    def done(self, part: str, since: float | None = None) -> None:
        if self.began is not None:
            self.parts[part] = time.perf_counter() - (self.began if since is None else since)

    def line(self) -> str:
        if self.began is None:
            return "stopped"
        each = ", ".join(f"{part} {took:.1f} s" for part, took in self.parts.items())
        return f"stopped in {time.perf_counter() - self.began:.1f} s ({each})"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def local_api_url(host: str, port: int) -> str:
    """Where this machine reaches the server it starts. Listening on every interface (0.0.0.0, ::) is not an
    address to call, even though Linux accepts it: the portal and flow runs here call the loopback instead."""
    reachable = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host)
    if reachable is None:
        reachable = f"[{host}]" if ":" in host else host
    return f"http://{reachable}:{port}/api"


def prefect_server(existing: str | None, host: str, port: int, log: Path) -> PrefectServer:
    """The API to use: `existing` (PREFECT_API_URL) when set and answering, else a server started here."""
    if existing:
        if not _healthy(existing):
            raise ServeError(
                f"PREFECT_API_URL={existing} does not answer /health: start that server, or unset PREFECT_API_URL "
                "to let `reportcycle serve` start one"
            )
        return PrefectServer(existing.rstrip("/"), None)
    url = local_api_url(host, port)
    if _healthy(url):
        raise ServeError(
            f"a Prefect server already answers on {host}:{port}: set PREFECT_API_URL={url} to use it, "
            "or choose another --prefect-port"
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _PREFECT_SERVER, "server", "start", "--host", host, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, and we stop it after the runner
            env={
                **os.environ,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                # The UI in a browser calls the API where this server is, not Prefect's default port 4200.
                "PREFECT_SERVER_API_HOST": host,
                "PREFECT_SERVER_API_PORT": str(port),
                "PREFECT_UI_API_URL": url,
                # Its log is the operator's record of the server (requests refused, migrations, errors), not
                # the banner alone; the quiet default is for short-lived servers in tests.
                "PREFECT_SERVER_LOGGING_LEVEL": "INFO",
                # and written: our own console handler's WARNING (prefect_env) would drop every INFO line
                "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO",
            },
        )
    server = PrefectServer(url, process)
    started = time.perf_counter()
    try:
        while not _healthy(url):
            if process.poll() is not None:
                raise ServeError(f"the Prefect server exited with code {process.returncode} while starting; see {log}")
            if time.perf_counter() - started > STARTUP_SECONDS:
                raise ServeError(f"the Prefect server did not answer within {STARTUP_SECONDS:.0f} s; see {log}")
            time.sleep(0.25)
    except BaseException:
        # Ctrl-C while it starts included: it runs in a session of its own, which the terminal's signal does
        # not reach, so it would outlive us.
        server.stop()
        raise
    return server


def pool_deployments(url: str, names: list[str]) -> list[str]:
    """Which of the deployments `names` the server at `url` has bound to a work pool, as "name (pool)"."""
    found = httpx.post(f"{url}/deployments/filter", json={"deployments": {"name": {"any_": names}}}, timeout=10)
    found.raise_for_status()
    return sorted(f"{d['name']} ({d['work_pool_name']})" for d in found.json() if d.get("work_pool_name"))


class _RunnerThread(threading.Thread):
    """Prefect's Runner on its own loop: it serves the deployments until told to stop."""

    def __init__(self, deployments: list[Any]) -> None:
        super().__init__(name="reportcycle-runner", daemon=True)
        self.deployments = deployments
        self.loop = asyncio.new_event_loop()
        self.runner: Any = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._context = contextvars.copy_context()  # the caller's Prefect settings (PREFECT_API_URL)

    def run(self) -> None:
        self._context.run(self._run)

    def _run(self) -> None:
        from prefect.runner import Runner

        async def main() -> None:
            # Not paused on shutdown: another `serve` (or worker) may be serving the same deployments.
            self.runner = Runner(name="reportcycle", pause_on_shutdown=False)
            for d in self.deployments:
                await self.runner.aadd_deployment(d)
            self.ready.set()
            await self.runner.start()

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:  # reported by serve(), which then stops everything else
            self.error = exc
        finally:
            self.ready.set()
            self.loop.close()

    def stop(self, timeout: float = 15) -> None:
        if self.runner is not None and self.is_alive() and self.runner.started:
            ended = asyncio.run_coroutine_threadsafe(self._let_ended_runs_exit(ENDED_RUN_EXIT_SECONDS), self.loop)
            with contextlib.suppress(Exception):
                ended.result(timeout=ENDED_RUN_EXIT_SECONDS + 5)
            future = asyncio.run_coroutine_threadsafe(self.runner.astop(), self.loop)
            with contextlib.suppress(Exception):
                future.result(timeout=timeout)
        self.join(timeout=timeout)

    async def _let_ended_runs_exit(self, within: float) -> None:
        """Wait (briefly) for the processes of flow runs that have already ended to exit on their own.

        Prefect's Runner cancels every run process it still tracks when it stops, and its kill sleeps 3 s
        (a tenth of a 30 s grace) before it first looks whether the process has gone. A run that has just
        ended is still exiting for a second or two (its heartbeat thread joined, its logs flushed), so a
        Ctrl-C a moment after a run cost 3 s, or 6 on a loaded machine, and the run was marked cancelled
        after it had completed. A run still working is left to the Runner, which cancels it.
        """
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        # The Runner's own process list and API client (a new client costs 0.2 s of TLS set-up); another
        # Prefect version without them leaves the runs to the Runner, as before.
        manager = getattr(self.runner, "_process_manager", None)
        client = getattr(self.runner, "_client", None)
        if manager is None or client is None:
            return
        tracked = set(manager.flow_run_ids())
        if not tracked:
            return
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(tracked))))
        ended = {run.id for run in runs if run.state is not None and run.state.is_final()}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            exiting = [manager.get(run_id) for run_id in ended & manager.flow_run_ids()]
            if not any(handle is not None and handle.is_alive() for handle in exiting):
                return
            await asyncio.sleep(0.05)


def _portal(settings: Settings, host: str, port: int) -> Any:
    import uvicorn

    from portal.app import create_app, log_requests

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # serve() owns SIGINT/SIGTERM and stops the portal itself, after the runner.
            yield

    log_requests()
    return Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning"))


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    prefect_host: str,
    prefect_port: int,
    timezone: str,
    say: Callable[[str], None],
    with_deployments: bool = True,
) -> None:
    """`with_deployments=False`: the Prefect server and the portal only, for when workers run the
    deployments from a work pool (`reportcycle deploy`)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    from deployments.schedules import build

    log = settings.output_dir / "prefect-server.log"
    stopping = _Stopping()
    server = prefect_server(PREFECT_API_URL.value(), prefect_host, prefect_port, log)
    os.environ["PREFECT_API_URL"] = server.url  # flow-run subprocesses the runner starts inherit it
    home = Path(PREFECT_HOME.value())
    record_served(home, server.url)  # commands run beside serve record their runs on it, with nothing to set
    try:
        deployments = build(timezone) if with_deployments else []
        # Serving would re-register them to this process and drop the pull step workers need to find the
        # code: the pool's workers would stop running them, quietly. Refuse instead.
        taken = pool_deployments(server.url, [d.name for d in deployments]) if deployments else []
        if taken:
            raise ServeError(
                f"{server.url} already runs these deployments through work pools: {', '.join(taken)}; serving "
                "them here would take them from the pool's workers. With workers, run `reportcycle serve "
                "--no-deployments` (the Prefect server and the portal only)."
            )
        with temporary_settings(updates={PREFECT_API_URL: server.url}):
            started = "started here" if server.process else "already running"
            say(f"Prefect API {server.url} ({started}); UI at {server.url.removesuffix('/api')}")
            asyncio.run(_serve(settings, deployments, host, port, say, stopping))
    finally:
        forget_served(home)
        _send_logs_now()
        began = time.perf_counter()
        server.stop()
        stopping.done("Prefect server", since=began)
    say(stopping.line())


def _send_logs_now() -> None:
    """This process's log lines and events bound for the Prefect API go before the server it started stops,
    not after (when each would print "Error logging to API", or an event would be lost, on the way out)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # a line lost on the way out must not stop the shutdown
            worker.drain_all(timeout=10, at_exit=False)


async def _serve(
    settings: Settings,
    deployments: list[Any],
    host: str,
    port: int,
    say: Callable[[str], None],
    stopping: _Stopping,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = _RunnerThread(deployments) if deployments else None
    if runner is not None:
        runner.start()
        await asyncio.to_thread(runner.ready.wait)
        if runner.error is not None:
            raise ServeError(f"serving the deployments failed: {runner.error}")
    portal = _portal(settings, host, port)
    portal_task = asyncio.create_task(portal.serve())
    what = f"serving {len(deployments)} deployments" if runner else "no deployments here (workers run them)"
    say(f"{what}; portal on http://{host}:{port} (Ctrl-C stops everything)")
    parts = [asyncio.create_task(stop.wait()), portal_task]
    if runner is not None:
        parts.append(asyncio.create_task(asyncio.to_thread(runner.join)))
    done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
    if not stop.is_set():
        say("a part stopped on its own; stopping the rest")
    stopping.start()
    portal.should_exit = True  # the portal and the runner stop side by side
    if runner is not None:
        await asyncio.to_thread(runner.stop)
        stopping.done("deployments")
    await asyncio.wait_for(portal_task, timeout=15)
    stopping.done("portal")
    if runner is not None and runner.error is not None and not isinstance(runner.error, asyncio.CancelledError):
        raise ServeError(f"the deployments' runner failed: {runner.error}")
    if portal_task in done and not stop.is_set():
        raise ServeError(f"the portal could not keep serving on {host}:{port} (is the port taken?)")
