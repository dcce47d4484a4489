"""Slice 1 of issue 17: with inbound mail configured, answers and bounces come back to a tagged mailbox address."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from models.outbox import OutboundEmail
from models.partnership import Partnership
from reportcycle.mailsink import MailSink
from reportcycle.settings import Settings, problems
from tasks.mail.dispatch import dispatch_due
from tasks.mail.messages import tag_of, tagged_address
from tasks.mail.outbox import Envelope, enqueue, partnership_envelope
from tasks.mail.render import RenderedEmail
from tasks.mail.smtp import SmtpConfig

AT = dt.datetime(2026, 6, 8, 9, 0, tzinfo=dt.UTC)
TEXT = RenderedEmail(subject="Reminder", text="Please write.\n", html="<p>Please write.</p>")
INBOUND = {
    "REPORTCYCLE_INBOUND_ADDRESS": "annual-report@p.example.org",
    "REPORTCYCLE_INBOUND_HOST": "127.0.0.1",
    "REPORTCYCLE_INBOUND_USER": "annual-report",
    "REPORTCYCLE_INBOUND_PASSWORD": "pw",
    "REPORTCYCLE_INBOUND_SECURITY": "none",
    "REPORTCYCLE_INBOUND_PORT": "1143",
}


def _settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_tags_are_plus_addresses_of_the_mailbox_and_read_back_whatever_the_case() -> None:
    assert tagged_address("annual-report@p.example.org", "ab12") == "annual-report+ab12@p.example.org"
    assert tag_of("Annual-Report+AB12@P.example.org", "annual-report@p.example.org") == "ab12"
    assert tag_of("annual-report@p.example.org", "annual-report@p.example.org") is None
    assert tag_of("someone+ab12@p.example.org", "annual-report@p.example.org") is None
    assert tag_of("annual-report+ab12@other.example", "annual-report@p.example.org") is None


def test_inbound_settings_are_all_or_nothing_and_plaintext_only_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _settings(monkeypatch, INBOUND)
    config = s.inbound_config()
    assert config is not None
    assert (config.host, config.port, config.security, config.folder) == ("127.0.0.1", 1143, "none", "INBOX")
    assert s.smtp_config().reply_mailbox == "annual-report@p.example.org"
    monkeypatch.delenv("REPORTCYCLE_INBOUND_PASSWORD")
    with pytest.raises(ValidationError) as half:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert problems(half.value) == [
        "inbound mail is half configured: set REPORTCYCLE_INBOUND_PASSWORD (or REPORTCYCLE_INBOUND_OAUTH2_TOKEN) "
        "too, or unset the others"
    ]
    monkeypatch.setenv("REPORTCYCLE_INBOUND_PASSWORD", "pw")
    monkeypatch.setenv("REPORTCYCLE_INBOUND_HOST", "imap.p.example.org")
    with pytest.raises(ValidationError) as clear:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert problems(clear.value) == [
        "REPORTCYCLE_INBOUND_SECURITY=none with REPORTCYCLE_INBOUND_HOST=imap.p.example.org: the password would "
        "cross the network in clear; use tls (port 993) or starttls (143), or a loopback host"
    ]


def test_the_mailbox_logs_in_with_a_password_or_an_oauth2_token_never_both(monkeypatch: pytest.MonkeyPatch) -> None:
    token = {k: v for k, v in INBOUND.items() if k != "REPORTCYCLE_INBOUND_PASSWORD"}
    config = _settings(monkeypatch, token | {"REPORTCYCLE_INBOUND_OAUTH2_TOKEN": "ya29.abc"}).inbound_config()
    assert config is not None and (config.password, config.oauth2_token) == (None, "ya29.abc")
    monkeypatch.setenv("REPORTCYCLE_INBOUND_PASSWORD", "pw")
    with pytest.raises(ValidationError) as both:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert problems(both.value) == [
        "REPORTCYCLE_INBOUND_PASSWORD and REPORTCYCLE_INBOUND_OAUTH2_TOKEN are both set: the mailbox logs in with "
        "one of them; unset the other"
    ]
    monkeypatch.delenv("REPORTCYCLE_INBOUND_PASSWORD")
    monkeypatch.setenv("REPORTCYCLE_INBOUND_HOST", "imap.p.example.org")
    with pytest.raises(ValidationError) as clear:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert problems(clear.value) == [
        "REPORTCYCLE_INBOUND_SECURITY=none with REPORTCYCLE_INBOUND_HOST=imap.p.example.org: the token would "
        "cross the network in clear; use tls (port 993) or starttls (143), or a loopback host"
    ]
    shown = dict(Settings(_env_file=None, inbound_security="tls").shown())  # type: ignore[call-arg]
    assert "ya29.abc" not in str(shown)


def test_unset_inbound_leaves_replies_with_the_business_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _settings(monkeypatch, {})
    assert s.inbound_config() is None and s.smtp_config().reply_mailbox is None


def _row(session: Session, key: str, tag: str | None) -> OutboundEmail:
    envelope = Envelope(
        key=key, kind="reminder", from_addr="report@p.example.org", to=["lead@police.example"], tag=tag,
        reply_to="manager@p.example.org",
    )  # fmt: skip
    row = enqueue(session, envelope, TEXT, at=AT)
    assert row is not None
    session.commit()
    return row


@pytest.mark.parametrize(
    ("mailbox", "reply_to", "mail_from"),
    [
        ("annual-report@p.example.org", "annual-report+0f1e2d3c@p.example.org", "annual-report+0f1e2d3c@p.example.org"),
        (None, "manager@p.example.org", "bounces@p.example.org"),
    ],
)
def test_a_tagged_email_answers_to_the_mailbox_only_when_inbound_is_configured(
    database_url: str, session: Session, mailbox: str | None, reply_to: str, mail_from: str
) -> None:
    _row(session, "contribution:1:reminder", "0f1e2d3c")
    with MailSink() as sink:
        smtp = SmtpConfig("127.0.0.1", sink.port, envelope_from="bounces@p.example.org", reply_mailbox=mailbox)
        assert dispatch_due(database_url, at=AT, worker="w", smtp=smtp, rng=random.Random(1)).sent == 1
    received = sink.received[0]
    assert received.message["Reply-To"] == reply_to
    assert received.mail_from == mail_from
    assert received.message["Auto-Submitted"] == "auto-generated"  # never answered by out-of-office software


def test_an_untagged_email_keeps_its_own_reply_to(database_url: str, session: Session) -> None:
    _row(session, "agency-desk:1", None)
    with MailSink() as sink:
        smtp = SmtpConfig("127.0.0.1", sink.port, reply_mailbox="annual-report@p.example.org")
        dispatch_due(database_url, at=AT, worker="w", smtp=smtp, rng=random.Random(1))
    assert sink.received[0].message["Reply-To"] == "manager@p.example.org"


def test_emails_whose_answers_go_to_the_business_manager_get_a_fresh_random_tag() -> None:
    p = Partnership(
        slug="p", name="P", from_address="report@p.example.org", business_manager_name="M",
        business_manager_email="manager@p.example.org",
    )  # fmt: skip
    first = partnership_envelope(p, key="a", kind="reminder", to=["x@y.example"])
    second = partnership_envelope(p, key="b", kind="reminder", to=["x@y.example"])
    own = partnership_envelope(p, key="c", kind="receipt", to=["x@y.example"], reply_to="lead@police.example")
    digest = partnership_envelope(p, key="d", kind="digest", to=["manager@p.example.org"])
    assert first.tag and second.tag and first.tag != second.tag and len(first.tag) == 16
    assert own.tag is None and digest.tag is None
