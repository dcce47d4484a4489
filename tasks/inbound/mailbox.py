"""The one module that talks IMAP (imapclient is imported nowhere else): read new messages, file read ones."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

# What a dropped or refused IMAP line raises (imapclient's errors are imaplib's).
LOST = (imaplib.IMAP4.error, imaplib.IMAP4.abort, OSError)

# A run fetches this many messages at a time: a mailbox that filled during an outage is not read into memory at once.
BATCH = 20


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str  # "tls" (implicit, 993), "starttls" (143) or "none" (loopback only)
    user: str
    password: str | None
    address: str  # the mailbox's address, which outgoing emails carry plus-addressed with their tag
    folder: str = "INBOX"
    processed: str = "Processed"
    needs_person: str = "Needs a person"
    timeout: float = 10.0
    oauth2_token: str | None = None  # given, the login is XOAUTH2 with it (the settings allow one of the two)


class MailboxUnreachable(Exception):
    """The IMAP server could not be reached or refused us: nothing was read, the messages wait on the server."""


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes


class Mailbox:
    """One IMAP session on the configured folder; `uidvalidity` names this generation of its UIDs."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self._client: Any = None
        self.uidvalidity = 0

    def __enter__(self) -> Mailbox:
        from imapclient import IMAPClient

        c = self.config
        try:
            client = IMAPClient(c.host, port=c.port, ssl=c.security == "tls", timeout=c.timeout)
            if c.security == "starttls":
                client.starttls(ssl.create_default_context())
            if c.oauth2_token is not None:
                client.oauth2_login(c.user, c.oauth2_token)
            else:
                client.login(c.user, c.password)
            for folder in (c.processed, c.needs_person):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
            selected = client.select_folder(c.folder)
        except (TimeoutError, *LOST) as exc:
            raise MailboxUnreachable(f"{c.host}:{c.port}: {type(exc).__name__}: {exc}") from None
        self._client = client
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except Exception:  # the line is already gone: nothing to tidy
                client.shutdown()

    def messages(self) -> Iterator[Fetched]:
        """Every message in the folder, oldest first; read ones are filed away, so what is here is new (or a
        message a crash left behind, which the caller recognises by its record)."""
        uids = sorted(self._client.search(["ALL"]))
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            for uid, data in sorted(self._client.fetch(batch, ["BODY.PEEK[]"]).items()):
                yield Fetched(uid=uid, raw=data[b"BODY[]"])

    def file(self, uid: int, folder: str) -> None:
        """Move a read message to `folder` (MOVE where the server has it; else copy, flag deleted, expunge it)."""
        client = self._client
        if client.has_capability("MOVE"):
            client.move([uid], folder)
            return
        client.copy([uid], folder)
        client.delete_messages([uid])
        client.uid_expunge([uid])


def probe(config: ImapConfig) -> str:
    """Log in and out: for status and /health. Raises MailboxUnreachable with the reason."""
    with Mailbox(config) as box:
        return f"{config.folder} readable (UIDVALIDITY {box.uidvalidity})"
