"""The one module that talks SMTP (aiosmtplib is imported nowhere else)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool  # a failure that retrying will not fix (5xx, refused recipient)
    reply: str


async def _send(message: EmailMessage, host: str, port: int, timeout: float) -> SendResult:
    try:
        errors, reply = await aiosmtplib.send(message, hostname=host, port=port, timeout=timeout)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return SendResult(False, True, f"recipients refused: {detail}")
    except aiosmtplib.SMTPResponseException as exc:
        return SendResult(False, exc.code >= 500, f"{exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # refused connection, timeout, dropped line: the server never took the message
        return SendResult(False, False, f"{type(exc).__name__}: {exc}")
    if errors:
        detail = "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in errors.items())
        return SendResult(True, False, f"{reply} (some recipients refused: {detail})")
    return SendResult(True, False, reply)


def send(message: EmailMessage, *, host: str, port: int, timeout: float) -> SendResult:
    return asyncio.run(_send(message, host, port, timeout))
