"""`reportcycle serve` for real: a Prefect server of its own, the deployments, the portal; Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reportcycle.mailsink import MailSink, free_port
from reportcycle.settings import PROJECT_ROOT

CLI = [sys.executable, "-c", "from reportcycle.cli import app; app()"]


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REPORTCYCLE_"))}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),  # the server's own SQLite database goes here
        "REPORTCYCLE_DATABASE_URL": database_url,
        "REPORTCYCLE_OUTPUT_DIR": str(tmp_path / "out"),
        "COLUMNS": "200",
        **extra,
    }
    return env


def test_serve_starts_everything_answers_health_and_stops_on_ctrl_c(tmp_path: Path, database_url: str) -> None:
    portal, api = free_port(), free_port()
    with MailSink() as sink:
        env = _env(tmp_path, database_url, REPORTCYCLE_SMTP_PORT=str(sink.port))
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(portal), "--prefect-port", str(api)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            health = None
            deadline = time.perf_counter() + 90
            while time.perf_counter() < deadline and process.poll() is None:
                try:
                    health = httpx.get(f"http://127.0.0.1:{portal}/health", timeout=5)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            assert health is not None, f"the portal never answered: {process.poll()}"
            assert health.status_code == 200, health.text
            body = health.json()
            assert {k: body[k] for k in ("status", "database", "smtp", "prefect")} == {
                "status": "ok",
                "database": "ok",
                "smtp": "ok",
                "prefect": "ok",
            }
            found = httpx.post(f"http://127.0.0.1:{api}/api/deployments/filter", json={}, timeout=10).json()
            assert sorted(d["name"] for d in found) == sorted(
                [
                    "daily-chase",
                    "dispatch-outbox",
                    "weekly-summary",
                    "open-cycle",
                    "collate-draft",
                    "apply-review",
                    "publish-report",
                    "annual-cycle",
                ]
            )
            assert sink.received == [], "the SMTP check must not send anything"
        finally:
            process.send_signal(signal.SIGINT)
            stopped = time.perf_counter()
            try:
                out, _ = process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
                raise AssertionError(f"serve did not stop within 20 s of SIGINT:\n{out}") from None
    took = time.perf_counter() - stopped
    assert process.returncode == 0, out
    assert out.rstrip().endswith("stopped"), out
    assert "Traceback" not in out, out
    assert took < 10, f"stopping took {took:.1f} s"
    # the Prefect server it started is gone with it
    try:
        httpx.get(f"http://127.0.0.1:{api}/api/health", timeout=2)
        raise AssertionError("the Prefect server outlived serve")
    except httpx.ConnectError:
        pass
    print(f"serve stopped {took:.1f} s after SIGINT")


def test_serve_refuses_a_prefect_api_that_does_not_answer(tmp_path: Path, database_url: str) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/api"
    result = subprocess.run(
        [*CLI, "serve", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, database_url, PREFECT_API_URL=nobody),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == (
        f"error: PREFECT_API_URL={nobody} does not answer /health: start that server, or unset PREFECT_API_URL "
        "to let `reportcycle serve` start one"
    )


def test_serve_refuses_a_bad_setting_before_starting_anything(tmp_path: Path, database_url: str) -> None:
    result = subprocess.run(
        [*CLI, "serve"],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, database_url, REPORTCYCLE_SMTP_SECURITY="tls", REPORTCYCLE_SMTP_PORT="25"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == (
        "error: a setting is wrong; nothing was done: REPORTCYCLE_SMTP_SECURITY=tls with REPORTCYCLE_SMTP_PORT=25: "
        "port 25 is server-to-server relay; use 465 for tls"
    )
    assert not (tmp_path / "prefect").exists(), "no Prefect server was started"
