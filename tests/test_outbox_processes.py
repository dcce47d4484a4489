"""The outbox across processes: SIGKILL at seeded points loses nothing and duplicates at most one
message per crash; two dispatchers at once send nothing twice and share the work."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlmodel import Session

from reportcycle.mailsink import MailSink
from tasks.mail.dispatch import LEASE
from tasks.mail.outbox import Envelope, enqueue
from tasks.mail.render import RenderedEmail
from tests import dispatch_worker

WORKER = Path(__file__).parent / "dispatch_worker.py"
AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)
TEXT = RenderedEmail(subject="Reminder", text="Please write.\n", html="<p>Please write.</p>")


def _queue(session: Session, prefix: str, n: int) -> list[str]:
    addresses = []
    for i in range(n):
        address = f"{prefix}-{i}@agency.example.org"
        enqueue(
            session,
            Envelope(key=f"{prefix}:{i}", kind="reminder", from_addr="r@p.example.org", to=[address]),
            TEXT,
            at=AT,
        )
        addresses.append(address)
    session.commit()
    return addresses


# Crash trials fork their dispatchers from one process that has done the imports (a fresh interpreter costs over a
# second each, forty times a database); each is still a process of its own, and SIGKILL kills it as it would any.
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["tests.dispatch_worker"])


def _forked(
    url: str, port: int, at: dt.datetime, name: str, *extra: str, results: Path
) -> tuple[int, dict[str, object]]:
    """A dispatcher forked as `dispatch_worker.py` would run: its exit code, and what it did if it finished."""
    result = results / f"{name}.json"
    argv = [url, str(port), at.isoformat(), name, *extra]
    process = FORKS.Process(target=dispatch_worker.forked, args=(argv, str(result)), name=f"dispatcher {name}")
    process.start()
    process.join(timeout=120)
    if process.exitcode is None:
        process.kill()
        raise AssertionError(f"dispatcher {name} still running after 120 s")
    return process.exitcode, json.loads(result.read_text()) if result.exists() else {}


def test_the_forked_dispatcher_is_a_process_of_its_own(database_url: str, session: Session, tmp_path: Path) -> None:
    """What the crash test relies on: a forked dispatcher sends from another process and dies by SIGKILL."""
    addresses = _queue(session, "own", 3)
    with MailSink() as sink:
        killed, nothing = _forked(database_url, sink.port, AT, "dead", "--kill-at", "claimed:1", results=tmp_path)
        assert (killed, nothing, sink.received) == (-9, {}, [])
        later = AT + LEASE + dt.timedelta(minutes=1)
        code, done = _forked(database_url, sink.port, later, "own", results=tmp_path)
    assert (code, done["sent"], done["reclaimed"]) == (0, 3, 3)  # the dead one had claimed its whole batch
    assert sorted(r.rcpt_tos[0] for r in sink.received) == addresses


def test_sigkill_at_seeded_points_loses_nothing(database_url: str, session: Session, tmp_path: Path) -> None:
    rng = random.Random(20190520)
    crashes = duplicates = 0
    with MailSink() as sink:
        for trial in range(20):
            addresses = _queue(session, f"t{trial}", 8)
            phase = rng.choice(["claimed", "sent"])
            nth = rng.randint(1, 8)
            at = AT + dt.timedelta(days=trial)
            kill = ("--kill-at", f"{phase}:{nth}", "--batch", "3")
            killed, _ = _forked(database_url, sink.port, at, f"w{trial}", *kill, results=tmp_path)
            assert killed == -9, f"trial {trial}: exit code {killed}"
            crashes += 1
            # the next run, after the lease: the row the dead worker held is reclaimed and sent
            later = at + LEASE + dt.timedelta(minutes=1)
            recovered, _ = _forked(database_url, sink.port, later, f"r{trial}", results=tmp_path)
            assert recovered == 0, f"trial {trial}: exit code {recovered}"
            got = Counter(r.rcpt_tos[0] for r in sink.received if r.rcpt_tos[0] in addresses)
            assert set(got) == set(addresses), f"trial {trial}: lost {set(addresses) - set(got)}"
            extra = sum(got.values()) - len(addresses)
            assert extra <= 1, f"trial {trial}: {extra} duplicates from one crash"
            assert extra == (1 if phase == "sent" else 0), f"trial {trial} ({phase}:{nth})"
            duplicates += extra
    assert crashes == 20 and duplicates <= crashes


def test_two_dispatcher_processes_share_1000_messages_and_send_none_twice(
    database_url: str, session: Session, tmp_path: Path
) -> None:
    addresses = _queue(session, "bulk", 1000)
    go = tmp_path / "go"
    with MailSink() as sink:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(WORKER),
                    database_url,
                    str(sink.port),
                    AT.isoformat(),
                    name,
                    "--go",
                    str(go),
                    "--batch",
                    "10",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("w1", "w2")
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    received = Counter(r.rcpt_tos[0] for r in sink.received)
    assert set(received) == set(addresses) and max(received.values()) == 1
    shares = [r["sent"] for r in results]
    assert sum(shares) == 1000
    print(f"dispatcher shares of 1000: {shares}")
    assert min(shares) >= 300, f"one dispatcher sent only {min(shares)} of 1000"
