"""Running it: the portal, the deployments on a work pool, serve, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reportcycle.cli import common
from reportcycle.cli.common import CliError, _errors, _settings, _stage_runs


def portal(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes serving requests: one a core keeps a busy deadline day quick.")
    ] = 1,
) -> None:
    """Run the portal where agencies answer from their emailed link (writes rows; dispatch sends)."""
    with _errors():
        import uvicorn

        from portal.app import create_app, log_requests

        settings = _settings()  # checked here, once, before any process starts
        common.console.print(
            f"portal on http://{host}:{port}, {workers} process(es) (links are built from {settings.public_base_url})"
        )
        log_requests()
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        else:
            # Each process builds its own app from the same environment, hence the import string.
            uvicorn.run("portal.asgi:app", host=host, port=port, log_level="warning", workers=workers)


def deploy(
    pool: Annotated[str, typer.Option(help="The process work pool (created when it does not exist).")],
    timezone: Annotated[str, typer.Option(help="Time zone of the schedules.")] = "Europe/London",
) -> None:
    """Register the deployments to a process work pool on PREFECT_API_URL's server, for `prefect worker start`."""
    with _errors():
        import httpx
        from prefect.settings import PREFECT_API_URL

        from deployments.pool import PoolError, register
        from reportcycle.settings import PROJECT_ROOT

        api = PREFECT_API_URL.value()
        if not api:
            raise CliError("set PREFECT_API_URL to the Prefect server the workers use (e.g. http://host:4200/api)")
        try:
            done = register(pool, timezone)
        except PoolError as exc:
            raise CliError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise CliError(f"the Prefect API at {api} did not answer: {exc}") from None
        common.console.print(f"work pool {pool!r} ({'created' if done.pool_created else 'already there'}) on {api}")
        for name, _ in done.deployments:
            common.console.print(f"registered {name}", highlight=False)
        common.console.print(
            f"code: {PROJECT_ROOT} (the same path on every worker); on each machine: "
            f"prefect worker start --pool {pool} --type process",
            highlight=False,
        )


def serve(
    host: Annotated[str, typer.Option(help="The portal's address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The portal's port.")] = 8000,
    prefect_host: Annotated[str, typer.Option(help="Address of the Prefect server started here.")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server started here (UI and API).")] = 4200,
    timezone: Annotated[str, typer.Option(help="Time zone of the schedules.")] = "Europe/London",
    deployments: Annotated[
        bool, typer.Option(help="Serve the deployments here; --no-deployments when workers run them from a pool.")
    ] = True,
) -> None:
    """Run it for real: a Prefect server (or PREFECT_API_URL's), the scheduled deployments, and the portal."""
    with _errors():
        from reportcycle.serve import ServeError
        from reportcycle.serve import serve as run
        from reportcycle.settings import Settings

        settings = Settings()  # checked now, in full: a bad setting stops everything before anything starts
        try:
            run(
                settings,
                host=host,
                port=port,
                prefect_host=prefect_host,
                prefect_port=prefect_port,
                timezone=timezone,
                say=lambda line: common.console.print(line, highlight=False),
                with_deployments=deployments,
            )
        except ServeError as exc:
            raise CliError(str(exc)) from None


def demo(
    out: Annotated[Path, typer.Option(help="Where the demo writes its database and mail.")] = Path("out"),
) -> None:
    """Run the example through a whole year on a simulated clock, ending with the published report."""
    with _errors():
        from reportcycle.demo import run_demo

        with _stage_runs():  # with no Prefect server configured, the year runs without one: nothing to wait for
            run_demo(out, common.console)
