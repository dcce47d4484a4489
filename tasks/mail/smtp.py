"""The one module that talks SMTP (aiosmtplib is imported nowhere else).

`SmtpSender` keeps one connection open across a batch of messages, checks it
with NOOP before reuse, and classifies every outcome as sent, temporary
(retry later from the outbox row) or permanent (mark the row failed).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.message import Message
from types import TracebackType

import aiosmtplib

# A connection used this recently is trusted without a NOOP round trip first.
IDLE_CHECK_AFTER = 5.0


@dataclass(frozen=True)
class SendResult:
    """What the relay said about one message, recipient by recipient.

    `accepted` took the message; `refused` maps each address the relay turned away at RCPT to its reply
    ("550 5.1.1 ..." is for good, "451 ..." for now). `failure` is a reply that refused the whole message
    (at MAIL FROM or DATA); `unreachable` says the relay could not be talked to at all (refused
    connection, timeout, dropped line), so the rest of a run should wait rather than try each row.
    """

    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)
    reply: str = ""
    failure: str | None = None
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.accepted) and not self.refused and self.failure is None and not self.unreachable


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    timeout: float = 10.0
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # implicit TLS (port 465)
    start_tls: bool | None = None  # None: upgrade when the server offers it
    envelope_from: str | None = None  # the bounce address; default: the From header
    # The monitored mailbox (REPORTCYCLE_INBOUND_ADDRESS): a tagged email's Reply-To and envelope sender.
    reply_mailbox: str | None = None


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._runner = asyncio.Runner()
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0  # time.perf_counter() of the last reply on this connection

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def send(self, message: Message, recipients: list[str], sender: str | None = None) -> SendResult:
        """Send `message` to `recipients` only (a retry goes to those still waiting, not to everyone again);
        `sender` is the envelope sender when this message has its own (a tagged bounce address)."""
        return self._runner.run(self._send(message, recipients, sender or self.config.envelope_from))

    def close(self) -> None:
        if self._client is not None:
            self._runner.run(self._quit())
        self._runner.close()

    async def _quit(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            if time.perf_counter() - self._last_used < IDLE_CHECK_AFTER:
                return self._client
            try:
                await self._client.noop()  # an idle connection the server dropped is found here, before any send
                return self._client
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self._client.close()
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            timeout=c.timeout,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            username=c.username,
            password=c.password,
        )
        await client.connect()
        self._client = client
        return client

    async def _send(self, message: Message, recipients: list[str], sender: str | None) -> SendResult:
        try:
            client = await self._connection()
            errors, reply = await client.send_message(message, sender=sender, recipients=recipients)
            self._last_used = time.perf_counter()
        except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient refused: the message was not sent
            self._last_used = time.perf_counter()
            refused = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
            return SendResult(refused=refused, reply="recipients refused")
        except aiosmtplib.SMTPResponseException as exc:
            # A reply that refuses the message (MAIL FROM, DATA), or a 421 closing the line: the
            # connection is dropped either way, and a 421 means the relay is not taking mail now.
            await self._quit()
            reply = f"{exc.code} {exc.message}"
            return SendResult(failure=reply, reply=reply, unreachable=exc.code == 421)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # refused connection, timeout, dropped line: the relay is not answering; retried later from the row
            await self._quit()
            reply = f"{type(exc).__name__}: {exc}"
            return SendResult(failure=reply, reply=reply, unreachable=True)
        refused = {addr: f"{resp.code} {resp.message}" for addr, resp in errors.items()}
        accepted = tuple(a for a in recipients if a not in refused)
        return SendResult(accepted=accepted, refused=refused, reply=reply)


def probe(config: SmtpConfig, timeout: float = 3.0) -> str:
    """Connect, EHLO (STARTTLS and login as configured), NOOP, QUIT: what a send would do, minus the message.

    Returns the NOOP reply; raises OSError (or its subclasses) with the reason when the relay
    cannot be reached or refuses us. For the health check: short timeout, nothing sent.
    """

    async def run() -> str:
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=timeout,
            use_tls=config.use_tls,
            start_tls=config.start_tls,
            username=config.username,
            password=config.password,
        )
        try:
            await client.connect()
            reply = await client.noop()
            await client.quit()
        except (aiosmtplib.SMTPException, TimeoutError) as exc:
            client.close()
            raise OSError(f"{type(exc).__name__}: {exc}") from None
        return f"{reply.code} {reply.message}"

    return asyncio.run(run())
