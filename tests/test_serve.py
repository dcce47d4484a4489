"""`reportcycle serve` for real: a Prefect server of its own, the deployments, the portal; Ctrl-C stops all."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from models.db import engine_for
from models.outbox import OutboundEmail, OutboxStatus
from models.store import contacts_of, contribution_for, find_agency, find_cycle
from reportcycle.clock import SystemClock
from reportcycle.mailsink import MailSink, free_port
from reportcycle.serve import local_api_url
from reportcycle.settings import PROJECT_ROOT
from tasks.links.tokens import issue_link
from tasks.mail.outbox_admin import cancel
from tests.browser import chromium
from tests.helpers import open_example_cycle, own_postgres_database

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


def _an_agency_link(session: Session) -> str:
    """The example cycle opened, with nothing waiting to be sent, and a link valid now for one agency's lead.
    One commit: a dispatch running meanwhile never sees the request emails, which are cancelled before it."""
    open_example_cycle(session, commit=False)
    now = SystemClock().now()
    cycle = find_cycle(session)
    for row in session.exec(select(OutboundEmail).where(OutboundEmail.status == OutboxStatus.queued)).all():
        cancel(session, row.id or 0, at=now, actor="test")  # the requests: only the receipt may go out
    agency = find_agency(session, cycle, "nps")
    token = issue_link(
        session,
        contribution_id=contribution_for(session, cycle, agency).id or 0,
        contact_id=contacts_of(session, agency)["lead"].id or 0,
        at=now,
        valid_days=1,
    )
    session.commit()
    return token


def _submit(portal: str, token: str) -> dt.datetime:
    """The agency's journey over real HTTP to the running portal; returns when the submission was answered."""
    with httpx.Client(base_url=portal, timeout=30) as client:
        entered = client.post(f"/c/{token}")
        assert entered.status_code == 303, entered.text
        path = entered.headers["location"]
        section = client.get(f"{path}/section/statutory-role").text
        fields = dict(re.findall(r'name="(csrf|version)" value="([^"]*)"', section))
        for key, text in (
            ("statutory-role", "We supervise people on probation."),
            ("priority-activity", "- Joint audits with children's social care"),
            ("looking-ahead", "More joint work."),
        ):
            saved = client.post(f"{path}/section/{key}", data={**fields, f"section-{key}": text})
            assert saved.status_code == 303, saved.text
            fields["version"] = str(int(fields["version"]) + 1)
        submitted = client.post(f"{path}/submit", data={"csrf": fields["csrf"]})
        assert submitted.status_code == 303 and submitted.headers["location"].endswith("?revision=1"), submitted.text
    return SystemClock().now()


def _flow_runs(api: str, deployment: str) -> list[dict[str, Any]]:
    found = httpx.post(f"{api}/deployments/filter", json={"deployments": {"name": {"any_": [deployment]}}}, timeout=10)
    (only,) = found.json()
    body = {"deployments": {"id": {"any_": [only["id"]]}}, "limit": 50}
    return list(httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json())


def _when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _serve(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`reportcycle serve` as an operator starts it, its output (both streams) kept for the checks on exit."""
    return subprocess.Popen(
        [*CLI, "serve", *args], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _refused(env: dict[str, str], *args: str) -> str:
    """Run `serve`, which must refuse: exit 1; what it said on stderr, on one line."""
    command = [*CLI, "serve", *args]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    return " ".join(result.stderr.split())


def _all_healthy(port: int, process: subprocess.Popen[str]) -> None:
    """Wait for the portal's /health (the Prefect server may be migrating first); everything must be ok."""
    health = None
    deadline = time.perf_counter() + 240  # a loaded machine can take minutes to start a Prefect server
    while time.perf_counter() < deadline and process.poll() is None:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
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


def _ctrl_c(process: subprocess.Popen[str]) -> float:
    """SIGINT, as a terminal's Ctrl-C: serve must stop cleanly within 10 s. Returns how long it took."""
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
    last = out.rstrip().splitlines()[-1]
    # the last line says how long each part took, so a slow stop names the part that was slow
    parts = r"(deployments \d+\.\d s, )?portal \d+\.\d s, Prefect server \d+\.\d s"
    assert re.fullmatch(rf"stopped in \d+\.\d s \({parts}\)", last), out
    assert "Traceback" not in out, out
    # 2-3 s on a quiet machine: a Ctrl-C just after a run no longer waits out Prefect's 3 s kill interval
    assert took < 10, f"stopping took {took:.1f} s: {last}"
    return took


def test_serve_runs_it_all_a_submission_is_receipted_at_once_ctrl_c_stops_it(tmp_path: Path, database_url: str) -> None:
    """And between start and stop, a contribution submitted in the portal emits an event, the dispatch
    deployment's trigger runs it at once, and that run sends the receipt: the whole chain, nothing mocked."""
    portal, api = free_port(), free_port()
    # In the PostgreSQL pass, the production layout: Prefect's own database on PostgreSQL as well.
    prefect_db = ""
    if database_url.startswith("postgresql"):
        prefect_db = own_postgres_database("rc_serve_prefect")
    with MailSink() as sink:
        # the runner looks for due runs every 2 s instead of 10: the test waits less, nothing else changes
        env = _env(tmp_path, database_url, REPORTCYCLE_SMTP_PORT=str(sink.port), PREFECT_RUNNER_POLL_FREQUENCY="2")
        if prefect_db:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db.replace("+psycopg", "+asyncpg", 1)
        process = _serve("--port", str(portal), "--prefect-port", str(api), env=env)
        try:
            _all_healthy(portal, process)
            # the Prefect UI, served on a port of our choosing, calls the API on that port (not 4200)
            ui = httpx.get(f"http://127.0.0.1:{api}/ui-settings", timeout=10).json()
            assert ui["api_url"] == f"http://127.0.0.1:{api}/api"
            found = httpx.post(f"http://127.0.0.1:{api}/api/deployments/filter", json={}, timeout=10).json()
            assert sorted(d["name"] for d in found) == sorted(
                [
                    "daily-chase",
                    "dispatch-outbox",
                    "read-mailbox",
                    "weekly-summary",
                    "open-cycle",
                    "collate-draft",
                    "apply-review",
                    "publish-report",
                    "annual-cycle",
                ]
            )
            assert sink.received == [], "the SMTP check must not send anything"
            # and the UI itself, in a browser, finds the server and lists the deployments
            with chromium() as browser:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{api}/deployments")
                page.get_by_text("dispatch-outbox").first.wait_for(timeout=90_000)
                assert "Can't connect to Server API" not in page.content()

            # Only now a running cycle: before it, no chase alert could make /health answer 503 on a weekday.
            with Session(engine_for(database_url)) as session:
                token = _an_agency_link(session)

            answered = _submit(f"http://127.0.0.1:{portal}", token)
            deadline = time.perf_counter() + 90
            while time.perf_counter() < deadline and not sink.received:
                time.sleep(0.5)
            arrived = time.perf_counter() - deadline + 90
            assert [r.kind for r in sink.received] == ["receipt"], "no receipt within 90 s of the submission"
            # Sent by a run the trigger made (not one of the schedule's), during that run, after the submission.
            # The relay has it; the dispatcher records it a moment later (longer on a loaded machine).
            deadline = time.perf_counter() + 30
            while True:
                with Session(engine_for(database_url)) as session:
                    receipt = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "receipt")).one()
                if receipt.status != OutboxStatus.sending or time.perf_counter() > deadline:
                    break
                time.sleep(0.2)
            assert receipt.status == OutboxStatus.sent and receipt.sent_at is not None
            triggered = [
                r for r in _flow_runs(f"http://127.0.0.1:{api}/api", "dispatch-outbox") if not r["auto_scheduled"]
            ]
            assert len(triggered) == 1, triggered
            (run,) = triggered
            run = httpx.get(f"http://127.0.0.1:{api}/api/flow_runs/{run['id']}", timeout=10).json()
            deadline = time.perf_counter() + 30
            while run["state_type"] != "COMPLETED" and time.perf_counter() < deadline:
                time.sleep(0.5)
                run = httpx.get(f"http://127.0.0.1:{api}/api/flow_runs/{run['id']}", timeout=10).json()
            assert run["state_type"] == "COMPLETED", run["state"]
            assert answered <= _when(run["start_time"]) <= receipt.sent_at <= _when(run["end_time"])
            print(f"receipt at the SMTP server {arrived:.1f} s after the submission")
        finally:
            took = _ctrl_c(process)
    # the Prefect server it started is gone with it
    try:
        httpx.get(f"http://127.0.0.1:{api}/api/health", timeout=2)
        raise AssertionError("the Prefect server outlived serve")
    except httpx.ConnectError:
        pass
    print(f"serve stopped {took:.1f} s after SIGINT")
    if prefect_db:
        # the server really kept its state there: the nine deployments (the mailbox reader the ninth) and the
        # triggered run
        with engine_for(prefect_db).connect() as conn:
            deployments = conn.execute(sa.text("SELECT count(*) FROM deployment")).scalar_one()
            runs = conn.execute(sa.text("SELECT count(*) FROM flow_run WHERE NOT auto_scheduled")).scalar_one()
        assert (deployments, runs) == (9, 1)
        engine_for(prefect_db).dispose()


def test_serve_refuses_a_prefect_api_that_does_not_answer(tmp_path: Path, database_url: str) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/api"
    said = _refused(_env(tmp_path, database_url, PREFECT_API_URL=nobody), "--port", str(free_port()))
    assert said == (
        f"error: PREFECT_API_URL={nobody} does not answer /health: start that server, or unset PREFECT_API_URL "
        "to let `reportcycle serve` start one"
    )


def test_serve_refuses_a_bad_setting_before_starting_anything(tmp_path: Path, database_url: str) -> None:
    said = _refused(_env(tmp_path, database_url, REPORTCYCLE_SMTP_SECURITY="tls", REPORTCYCLE_SMTP_PORT="25"))
    assert said == (
        "error: a setting is wrong; nothing was done: REPORTCYCLE_SMTP_SECURITY=tls with REPORTCYCLE_SMTP_PORT=25: "
        "port 25 is server-to-server relay; use 465 for tls"
    )
    assert not (tmp_path / "prefect").exists(), "no Prefect server was started"


@pytest.mark.once  # the Prefect server's start, before anything reads the database under test
def test_ctrl_c_while_the_prefect_server_starts_leaves_no_server_behind(tmp_path: Path, database_url: str) -> None:
    """The server runs in a session of its own (so the terminal's Ctrl-C reaches serve first); stopped while it
    was still starting, it used to outlive serve."""
    api = free_port()
    process = _serve("--port", str(free_port()), "--prefect-port", str(api), env=_env(tmp_path, database_url))
    log = tmp_path / "out" / "prefect-server.log"  # opened just before the server is started
    deadline = time.perf_counter() + 60
    while not log.exists() and process.poll() is None and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert log.exists(), "serve never started a Prefect server"
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert "Traceback" not in out, out
    started = subprocess.run(["pgrep", "-f", f"prefect server start .*--port {api}$"], capture_output=True, text=True)
    assert started.stdout == "", f"a Prefect server outlived serve: {started.stdout}"


def test_serve_refuses_deployments_that_workers_run_from_a_pool(
    prefect: None, tmp_path: Path, database_url: str
) -> None:
    """Serving them would re-register them to serve's own runner, and the pool's workers would quietly stop
    running them."""
    from prefect.settings import PREFECT_API_URL

    from deployments.pool import register

    api = str(PREFECT_API_URL.value())
    register("serve-clash")
    said = _refused(_env(tmp_path, database_url, PREFECT_API_URL=api), "--port", str(free_port()))
    names = "annual-cycle, apply-review, collate-draft, daily-chase, dispatch-outbox, open-cycle, publish-report, "
    names += "read-mailbox, weekly-summary"
    assert said == (
        f"error: {api} already runs these deployments through work pools: "
        + ", ".join(f"{n} (serve-clash)" for n in names.split(", "))
        + "; serving them here would take them from the pool's workers. With workers, run `reportcycle serve "
        "--no-deployments` (the Prefect server and the portal only)."
    )
    # which is what the message offers: the portal beside that Prefect server, the deployments left to the pool
    with MailSink() as sink:
        portal = free_port()
        env = _env(tmp_path, database_url, PREFECT_API_URL=api, REPORTCYCLE_SMTP_PORT=str(sink.port))
        process = _serve("--no-deployments", "--port", str(portal), env=env)
        try:
            _all_healthy(portal, process)
        finally:
            _ctrl_c(process)
    httpx.get(f"{api}/health", timeout=5).raise_for_status()  # not ours to stop: still there
    # nothing was taken: every deployment still belongs to the pool
    ours = {"deployments": {"name": {"any_": names.split(", ")}}}
    found = httpx.post(f"{api}/deployments/filter", json=ours, timeout=10).json()
    assert {d["name"]: d["work_pool_name"] for d in found} == {n: "serve-clash" for n in names.split(", ")}


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:4200/api"),
        ("0.0.0.0", "http://127.0.0.1:4200/api"),
        ("::", "http://[::1]:4200/api"),
        ("::1", "http://[::1]:4200/api"),
        ("prefect.internal", "http://prefect.internal:4200/api"),
    ],
)
def test_the_api_url_serve_uses_for_a_server_it_starts(host: str, url: str) -> None:
    """`--prefect-host 0.0.0.0` listens everywhere; the portal and flow runs on this machine call the loopback."""
    assert local_api_url(host, 4200) == url
