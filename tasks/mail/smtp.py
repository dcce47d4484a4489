"""The one module that talks SMTP (aiosmtplib is imported nowhere else).

`SmtpSender` keeps one connection open across a batch of messages, checks it
with NOOP before reuse, and classifies every outcome as sent, temporary
(retry later from the outbox row) or permanent (mark the row failed).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

import aiosmtplib

# A connection used this recently is trusted without a NOOP round trip first.
IDLE_CHECK_AFTER = 5.0


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool  # a failure that retrying will not fix (5xx, refused recipient)
    reply: str


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

    def send(self, message: EmailMessage) -> SendResult:
        return self._runner.run(self._send(message))

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

    async def _send(self, message: EmailMessage) -> SendResult:
        try:
            client = await self._connection()
            errors, reply = await client.send_message(message, sender=self.config.envelope_from)
            self._last_used = time.perf_counter()
        except aiosmtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            permanent = all(r.code >= 500 for r in exc.recipients)
            return SendResult(False, permanent, f"recipients refused: {detail}")
        except aiosmtplib.SMTPResponseException as exc:
            await self._quit()
            return SendResult(False, exc.code >= 500, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # refused connection, timeout, dropped line: retried later from the row
            await self._quit()
            return SendResult(False, False, f"{type(exc).__name__}: {exc}")
        if errors:
            detail = "; ".join(f"{addr}: {resp.code} {resp.message}" for addr, resp in errors.items())
            return SendResult(True, False, f"{reply} (some recipients refused: {detail})")
        return SendResult(True, False, reply)


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
