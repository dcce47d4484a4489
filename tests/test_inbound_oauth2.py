"""Issue 17: the monitored mailbox logs in with an OAuth2 access token (XOAUTH2) instead of a password.

A second real dovecot, whose oauth2 passdb asks a token introspection endpoint of this test's own on loopback
whether a token is good (RFC 7662 style: POST `token=...`, answer `{"active": true, "username": ...}`)."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.outbox import OutboundEmail
from reportcycle.settings import get_settings
from tests import inbound_messages as m
from tests.dovecot import Dovecot
from tests.helpers import open_example_cycle

GOOD, REVOKED = "ya29.loopback-good-token", "ya29.loopback-revoked-token"
LEAD = "gareth.millward@nps.example.org"
MAILBOX = "annual-report@bscb.example.org"


class Introspection(BaseHTTPRequestHandler):
    """Vouches for GOOD as the mailbox's user; every other token is inactive."""

    asked: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        token = parse_qs(body).get("token", [""])[0]
        self.asked.append(token)
        answer = {"active": True, "username": "annual-report"} if token == GOOD else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def oauth_dovecot() -> Iterator[Dovecot]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Introspection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root = Path(tempfile.mkdtemp(prefix="reportcycle-dovecot-oauth2-"))
    try:
        with Dovecot(root, oauth2_url=f"http://127.0.0.1:{server.server_port}/introspect") as imap:
            yield imap
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def token_imap(oauth_dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    oauth_dovecot.empty()
    Introspection.asked.clear()
    for name, value in {
        "ADDRESS": MAILBOX,
        "HOST": oauth_dovecot.host,
        "PORT": str(oauth_dovecot.port),
        "SECURITY": "none",
        "USER": oauth_dovecot.user,
        "OAUTH2_TOKEN": GOOD,
    }.items():
        monkeypatch.setenv(f"REPORTCYCLE_INBOUND_{name}", value)
    monkeypatch.delenv("REPORTCYCLE_INBOUND_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield oauth_dovecot
    get_settings.cache_clear()


def _inbound() -> tuple[int, str]:
    from typer.testing import CliRunner

    from reportcycle.cli import app

    result = CliRunner().invoke(app, ["--at", "2019-05-14T10:30+01:00", "inbound"])
    return result.exit_code, " ".join(result.output.split())


def test_a_good_token_reads_the_mailbox_over_xoauth2(database_url: str, session: Session, token_imap: Dovecot) -> None:
    open_example_cycle(session)
    request = session.exec(select(OutboundEmail).where(OutboundEmail.kind == "request")).all()
    (lead_request,) = [r for r in request if r.to_addrs == [LEAD]]
    token_imap.deliver(m.outlook_plain_reply(MAILBOX, lead_request.message_id, LEAD, "Gareth Millward"))

    code, said = _inbound()

    assert code == 0, said
    assert said.endswith(
        "acted on 1, for a person 0, nothing to do 0 "
        "National Probation Service: reply from gareth.millward@nps.example.org forwarded to the business manager"
    )
    assert Introspection.asked[-1] == GOOD  # dovecot asked our endpoint: the login was the token's
    assert "method=XOAUTH2" in (token_imap.root / "dovecot.log").read_text()
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "inbound.reply")).all()) == 1
    assert token_imap.uids("INBOX") == [] and len(token_imap.uids("Processed")) == 1


def test_a_revoked_token_says_in_one_line_that_the_mailbox_could_not_be_read(
    database_url: str, session: Session, token_imap: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_example_cycle(session)
    token_imap.deliver(m.outlook_plain_reply(MAILBOX, "<nothing@bscb.example.org>", LEAD, "Gareth Millward"))
    monkeypatch.setenv("REPORTCYCLE_INBOUND_OAUTH2_TOKEN", REVOKED)
    get_settings.cache_clear()

    code, said = _inbound()

    assert code == 1 and "Traceback" not in said
    assert Introspection.asked == [REVOKED]
    assert (
        f"the mailbox could not be read (127.0.0.1:{token_imap.port}: LoginError: [AUTHENTICATIONFAILED] "
        "Authentication failed.); nothing is lost" in said
    )
    assert token_imap.uids("INBOX") != []  # the message waits on the server
