"""Commands that answer at once: with no Prefect server the CLI runs the same stage code without one (and says
its runs are not recorded); with one, its runs are recorded there; a `reportcycle serve` on this machine is
found with nothing to set; expected failures are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun
from sqlmodel import Session, select
from typer.testing import CliRunner

from models.outbox import OutboundEmail, OutboxStatus
from reportcycle.cli import app
from reportcycle.mailsink import MailSink
from reportcycle.prefect_env import SERVED, forget_served, record_served, served_api_url
from tests.conftest import EXAMPLE
from tests.helpers import local

ROOT = Path(__file__).resolve().parents[1]
STEPS = [
    ["--at", "2019-04-15T09:00+01:00", "cycle", "open"],
    ["--at", "2019-05-13T09:30+01:00", "chase"],
    ["--at", "2019-05-13T09:40+01:00", "dispatch"],
    ["--at", "2019-05-14T10:00+01:00", "collate"],
]


def _env(tmp_path: Path, database_url: str, sink: MailSink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "REPORTCYCLE_DATABASE_URL": database_url,
        "REPORTCYCLE_SMTP_HOST": sink.host,
        "REPORTCYCLE_SMTP_PORT": str(sink.port),
        "REPORTCYCLE_OUTPUT_DIR": str(tmp_path / "out"),
        "COLUMNS": "200",
    }
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from reportcycle.cli import app; app()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """Both cores kept busy by other processes, as on a shared machine: nothing may wait on a start-up deadline."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_with_no_prefect_server_the_example_runs_and_says_it_is_not_recorded(
    tmp_path: Path, database_url: str, session: Session, busy_cores: None
) -> None:
    with MailSink() as sink:
        env = _env(tmp_path, database_url, sink)
        loaded = _cli(env, "partnership", "load", str(EXAMPLE))
        assert loaded.returncode == 0, loaded.stderr
        for args in STEPS:
            done = _cli(env, *args)
            said = done.stdout + done.stderr
            assert done.returncode == 0, said
            assert "Traceback" not in said
            assert "this run is not recorded in Prefect" in " ".join(done.stderr.split()), args
        received = len(sink.received)
    assert "collated draft 1" in done.stdout
    # nothing started a Prefect server: no server database in PREFECT_HOME, and no API touched
    assert not (tmp_path / "prefect-home" / "prefect.db").exists()
    sent = session.exec(select(OutboundEmail).where(OutboundEmail.status == "sent")).all()
    kinds = sorted({r.kind for r in sent})
    assert kinds == ["digest", "reminder", "request"] and received == len(sent)


def test_with_a_server_the_same_commands_are_recorded_on_it(
    prefect: None, database_url: str, session: Session, tmp_path: Path
) -> None:
    """Each command in a process of its own, as typed: its run is on the server with its name, tags, outcome,
    INFO lines and artifact, with no Prefect engine in the command's process."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_API_URL

    names = [
        "chase every running cycle 2019-05-13 08:30 UTC",
        "collate draft 1",  # renamed once its result was known
        "dispatch 2019-05-13 08:40 UTC",
        "open 2019-04-15 08:00 UTC",
    ]

    def runs() -> dict[object, FlowRun]:
        # Asked for by name: the session's server holds hundreds of runs by now, in no useful order by id.
        with get_client(sync_client=True) as client:
            found = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)), limit=200)
        return {r.id: r for r in found}

    before = runs()
    with MailSink() as sink:
        env = _env(tmp_path, database_url, sink) | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
        assert _cli(env, "partnership", "load", str(EXAMPLE)).returncode == 0
        for args in STEPS:
            done = _cli(env, *args)
            said = done.stdout + done.stderr
            assert done.returncode == 0, said
            assert "not recorded in Prefect" not in said and "Traceback" not in said
    new = {r.name: r for run_id, r in runs().items() if run_id not in before}
    assert sorted(new) == names
    assert {r.state_name for r in new.values()} == {"Completed"}
    assert all("reportcycle-cli" in r.tags for r in new.values())
    chase = new["chase every running cycle 2019-05-13 08:30 UTC"]
    assert chase.parameters["at"] == "2019-05-13T08:30:00+00:00" and chase.parameters["dry_run"] is False
    reminders = session.exec(
        select(OutboundEmail).where(OutboundEmail.kind == "reminder", OutboundEmail.status == OutboxStatus.sent)
    ).all()
    with get_client(sync_client=True) as client:
        lines = [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[chase.id])))]
        (table,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[chase.id]))
        )
    # the twelve agencies' reminder, each superseding the one a fortnight before it that never went; the chase
    # then sends them (its dispatch's line is in the same run)
    assert lines == ["bscb 2018/19 on 2019-05-13: 12 to send, 12 superseded", "sent 13, retrying later 0, failed 0"]
    assert len(reminders) == 12
    rows = json.loads(str(table.data))
    assert table.key == "chase" and table.type == "table"
    assert sorted(r["to"] for r in rows if r["what"] == "queued") == sorted(", ".join(r.to_addrs) for r in reminders)


def test_a_running_serve_is_found_with_nothing_to_set(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    assert served_api_url(home) is None
    record_served(home, "http://127.0.0.1:19042/api")  # this process plays the serve that started it
    assert served_api_url(home) == "http://127.0.0.1:19042/api"
    probe = "from reportcycle.prefect_env import configured_api_url; print(configured_api_url())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PREFECT_HOME": str(home)}
    found = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert found.stdout.strip() == "http://127.0.0.1:19042/api", found.stderr
    # a note left by a serve that died is not believed
    (home / SERVED).write_text(json.dumps({"api_url": "http://127.0.0.1:1/api", "pid": 2**22 + 12345}))
    assert served_api_url(home) is None
    record_served(home, "http://127.0.0.1:19042/api")
    forget_served(home)
    assert not (home / SERVED).exists()


def test_the_active_prefect_profile_counts_as_configured(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "work"\n\n[profiles.work]\nPREFECT_API_URL = "http://prefect.internal:4200/api"\n')
    probe = "from reportcycle.prefect_env import configured_api_url; print(configured_api_url())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path), "PREFECT_PROFILES_PATH": str(profiles)}
    found = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert found.stdout.strip() == "http://prefect.internal:4200/api", found.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
            "check REPORTCYCLE_DATABASE_URL, and that the database server is running and lets you in",
        ),
        ("postgresql+psycopg://postgres@127.0.0.1:54x32/test", "is not a database URL: write postgresql+psycopg://"),
    ],
)
def test_a_database_that_cannot_be_reached_is_one_line_and_exit_1(tmp_path: Path, url: str, says: str) -> None:
    with MailSink() as sink:
        env = _env(tmp_path, url, sink)
        done = _cli(env, "status")
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, said
    assert "Traceback" not in said and said.count("error:") == 1
    assert says in said


def _dispatch_killed_mid_run(session: Session, database_url: str, day: str, how: signal.Signals) -> str:
    """A recorded `reportcycle dispatch` in a process of its own, sending 12 emails to a slow relay, sent `how`
    once two have arrived; returns what it printed."""
    from prefect.settings import PREFECT_API_URL

    from tasks.mail.outbox import Envelope, enqueue
    from tasks.mail.render import RenderedEmail
    from tests.test_relay_misbehaving import Relay

    at = local(day)
    for i in range(12):
        envelope = Envelope(key=f"{day}:{i}", kind="reminder", from_addr="r@p.example.org", to=[f"l{i}@a.example.org"])
        enqueue(session, envelope, RenderedEmail(subject="R", text="Please.\n", html="<p>Please.</p>"), at=at)
    session.commit()
    with Relay() as relay:
        relay.delay = 0.4
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env |= {
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "REPORTCYCLE_DATABASE_URL": database_url,
            "REPORTCYCLE_SMTP_HOST": "127.0.0.1",
            "REPORTCYCLE_SMTP_PORT": str(relay.port),
        }
        proc = subprocess.Popen(
            [sys.executable, "-c", "from reportcycle.cli import app; app()", "--at", at.isoformat(), "dispatch"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(relay.received) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(how)
        out, _ = proc.communicate(timeout=120)
    return out


def _day(database_url: str, day: str) -> str:
    """A killed-run test's day, a year on for PostgreSQL: both databases' runs of a test go to the one Prefect
    server of its test process, and each test finds its run by the day in the run's name."""
    return day if database_url.startswith("sqlite") else f"{int(day[:4]) + 1}{day[4:]}"


def _runs(prefix: str) -> list[FlowRun]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # by name on the server: it holds hundreds of runs by now
        found = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=prefix)), limit=200)
    return [r for r in found if r.name.startswith(prefix)]


def test_a_dispatch_stopped_from_the_terminal_is_not_left_running(
    prefect: None, database_url: str, session: Session
) -> None:
    day = _day(database_url, "2031-05-16")
    out = _dispatch_killed_mid_run(session, database_url, day, signal.SIGTERM)
    assert "Traceback" not in out
    assert "stopped early (signal)" in " ".join(out.split()), out
    (run,) = _runs(f"dispatch {day}")
    assert run.state_type is not None and run.state_type.value == "COMPLETED"
    session.expire_all()
    statuses = {r.status for r in session.exec(select(OutboundEmail))}
    assert OutboxStatus.sending not in statuses and statuses <= {OutboxStatus.sent, OutboxStatus.queued}


def test_a_run_whose_command_was_killed_is_marked_crashed_by_the_next_command(
    prefect: None, database_url: str, session: Session, mail: MailSink
) -> None:
    from prefect.client.orchestration import get_client

    day = _day(database_url, "2031-05-14")
    _dispatch_killed_mid_run(session, database_url, day, signal.SIGKILL)  # nothing in it can react
    (killed,) = _runs(f"dispatch {day}")

    def state() -> str:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(killed.id)
        return str(run.state_type.value if run.state_type else None)

    assert state() == "RUNNING"  # what the operator saw before: "Running" forever
    # the next command that records runs (or `status`, when a cycle runs) finds it and says so
    result = CliRunner().invoke(app, ["--at", f"{day}T10:00+01:00", "dispatch"])
    assert "marked Crashed: its command had died" in " ".join(result.output.split()), result.output
    assert state() == "CRASHED"


def test_status_exits_non_zero_when_the_relay_does_not_answer(
    database_url: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.partnership_file import parse
    from models.store import load_partnership
    from reportcycle.mailsink import free_port
    from reportcycle.settings import get_settings
    from tests.helpers import local

    load_partnership(session, parse(EXAMPLE), at=local("2019-04-01"), actor="t")
    session.commit()
    monkeypatch.setenv("REPORTCYCLE_SMTP_PORT", str(free_port()))  # nothing listens there
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["--at", "2019-04-02T10:00+01:00", "status"])
    get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "smtp: failing: 127.0.0.1:" in " ".join(result.output.split())
    assert "Traceback" not in result.output


class _RefusingPrefect(BaseHTTPRequestHandler):
    """A Prefect API that says it is healthy, then answers every other call 503 (a server mid-restart)."""

    def do_GET(self) -> None:
        body = b"true" if self.path == "/api/health" else b"{}"
        self.send_response(200 if self.path == "/api/health" else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_a_server_that_refuses_the_recording_leaves_the_work_done_and_says_so(
    tmp_path: Path, database_url: str, session: Session
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingPrefect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with MailSink() as sink:
            env = _env(tmp_path, database_url, sink)
            assert _cli(env, "partnership", "load", str(EXAMPLE)).returncode == 0
            env["PREFECT_API_URL"] = f"http://127.0.0.1:{server.server_address[1]}/api"
            done = _cli(env, *STEPS[0])
    finally:
        server.shutdown()
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, said
    assert "Traceback" not in said
    assert "could not look for crashed runs" in said
    assert "this run could not be recorded in Prefect: POST /flows/: the Prefect server answered 503" in said
    requests = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    assert len({r.contribution_id for r in requests}) == 12  # the cycle opened all the same: every agency asked
