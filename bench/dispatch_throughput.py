"""Benchmark: outbox dispatch throughput to an SMTP server in another process.

Side by side in one run, to the same server:
  - raw aiosmtplib: the same messages over one connection, nothing recorded (the floor);
  - reportcycle's dispatcher: claims in batches, one SMTP connection for the run, each recipient's outcome
    recorded on its row;
  - the pattern a Prefect user would otherwise pick: a flow with one Prefect task
    per message, each opening a new SMTP connection.
Prints emails per second for each and the outbox's ratio to the other two (targets: >= 0.5x raw SMTP,
>= 3x the task-per-message pattern).

    python bench/dispatch_throughput.py [--messages 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportcycle import prefect_env

prefect_env.apply()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import models.tables  # noqa: E402, F401
from models.db import engine_for  # noqa: E402
from reportcycle.mailsink import free_port  # noqa: E402
from tasks.mail.dispatch import dispatch_due  # noqa: E402
from tasks.mail.outbox import Envelope, enqueue  # noqa: E402
from tasks.mail.render import RenderedEmail  # noqa: E402
from tasks.mail.smtp import SmtpConfig, SmtpSender  # noqa: E402

AT = dt.datetime(2019, 5, 13, 8, 30, tzinfo=dt.UTC)
TEXT = RenderedEmail(subject="Reminder", text="Please write your contribution.\n" * 20, html="<p>Please.</p>" * 20)


def smtp_server(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd in its own process, discarding what it receives."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        with SmtpSender(SmtpConfig("127.0.0.1", port, timeout=1)) as s:
            probe = EmailMessage()
            probe["From"], probe["To"], probe["Subject"] = "a@b.example", "c@d.example", "probe"
            probe.set_content("x")
            if s.send(probe, ["c@d.example"]).ok:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the SMTP server did not start")


def outbox_run(port: int, n: int) -> float:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        for i in range(n):
            enqueue(
                session,
                Envelope(
                    key=f"bench:{i}", kind="reminder", from_addr="r@p.example.org", to=[f"lead{i}@agency.example.org"]
                ),
                TEXT,
                at=AT,
            )
        session.commit()
    started = time.perf_counter()
    report = dispatch_due(url, at=AT, worker="bench", smtp=SmtpConfig("127.0.0.1", port))
    seconds = time.perf_counter() - started
    assert report.sent == n, report
    return seconds


def _message(i: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "r@p.example.org", f"lead{i}@agency.example.org", "R"
    message.set_content(TEXT.text)
    message.add_alternative(TEXT.html, subtype="html")
    return message


def raw_smtp_run(port: int, n: int) -> float:
    """aiosmtplib itself, one connection, each message built and sent: what any dispatcher costs at least."""
    import asyncio

    import aiosmtplib

    async def run() -> int:
        sent = 0
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            for i in range(n):
                errors, _ = await client.send_message(_message(i))
                sent += not errors
        return sent

    started = time.perf_counter()
    sent = asyncio.run(run())
    seconds = time.perf_counter() - started
    assert sent == n
    return seconds


def task_per_message_run(port: int, n: int) -> float:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(cache_policy=NO_CACHE)
    def send_one(i: int) -> bool:
        message = _message(i)
        with SmtpSender(SmtpConfig("127.0.0.1", port)) as sender:  # a new connection per message
            return sender.send(message, [f"lead{i}@agency.example.org"]).ok

    @flow
    def send_all(count: int) -> int:
        return sum(send_one(i) for i in range(count))

    from flows._runtime import short_runs

    with short_runs():
        send_all(1)  # start Prefect's server before the clock starts
        started = time.perf_counter()
        sent = send_all(n)
        seconds = time.perf_counter() - started
    assert sent == n
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    console = Console()
    port = free_port()
    server = smtp_server(port)
    try:
        with console.status(f"raw aiosmtplib, one connection: {args.messages} messages"):
            raw = raw_smtp_run(port, args.messages)
        with console.status(f"reportcycle outbox: {args.messages} messages"):
            ours = outbox_run(port, args.messages)
        with console.status(f"one Prefect task + one connection per message: {args.messages} messages"):
            theirs = task_per_message_run(port, args.messages)
    finally:
        server.kill()
    table = Table(title=f"Dispatch of {args.messages} emails to aiosmtpd in another process")
    for column in ("pattern", "seconds", "emails/s"):
        table.add_column(column)
    table.add_row("raw aiosmtplib, one connection, nothing recorded", f"{raw:.2f}", f"{args.messages / raw:.0f}")
    table.add_row("reportcycle outbox (batched claims, one connection)", f"{ours:.2f}", f"{args.messages / ours:.0f}")
    table.add_row(
        "one Prefect task and one SMTP connection per message", f"{theirs:.2f}", f"{args.messages / theirs:.0f}"
    )
    console.print(table)
    console.print(
        f"ratios: the outbox sends {raw / ours:.2f}x as many emails per second as raw SMTP (target >= 0.5), "
        f"{theirs / ours:.1f}x as many as one task per message (target >= 3)"
    )


if __name__ == "__main__":
    main()
