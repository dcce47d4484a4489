"""A local SMTP server (aiosmtpd) that keeps every message it receives.

The demo and the tests send real SMTP to it on a free loopback port; it
keeps each message in memory and, when given a folder, as an .eml file.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def kind(self) -> str:
        return str(self.message["X-Reportcycle-Kind"])


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.sink._next_failure()
        if reply:
            return reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink._keep(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message), envelope.content)
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailSink:
    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.received: list[Received] = []
        self.refuse: set[str] = set()  # recipients answered 550
        self._failures: list[str] = []  # replies to give the next DATA commands instead of accepting
        self._lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def fail_next(self, n: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        """Answer the next `n` messages with `reply` (a 4xx or 5xx) instead of taking them."""
        with self._lock:
            self._failures.extend([reply] * n)

    def _next_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _keep(self, received: Received, raw: bytes) -> None:
        with self._lock:
            self.received.append(received)
            n = len(self.received)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{n:04d}-{received.kind}-{received.rcpt_tos[0].split('@')[0]}.eml"
            (self.folder / name).write_bytes(raw)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
