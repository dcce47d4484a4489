"""The outbox across processes: SIGKILL at seeded points loses nothing and duplicates at most one
message per crash; two dispatchers at once send nothing twice and share the work."""

from __future__ import annotations

import datetime as dt
import json
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


def _worker(url: str, port: int, at: dt.datetime, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WORKER), url, str(port), at.isoformat(), name, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sigkill_at_seeded_points_loses_nothing(database_url: str, session: Session) -> None:
    rng = random.Random(20190520)
    crashes = duplicates = 0
    with MailSink() as sink:
        for trial in range(20):
            addresses = _queue(session, f"t{trial}", 8)
            phase = rng.choice(["claimed", "sent"])
            nth = rng.randint(1, 8)
            at = AT + dt.timedelta(days=trial)
            killed = _worker(database_url, sink.port, at, f"w{trial}", "--kill-at", f"{phase}:{nth}", "--batch", "3")
            assert killed.returncode == -9, killed.stderr
            crashes += 1
            # the next run, after the lease: the row the dead worker held is reclaimed and sent
            recovered = _worker(database_url, sink.port, at + LEASE + dt.timedelta(minutes=1), f"r{trial}")
            assert recovered.returncode == 0, recovered.stderr
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
