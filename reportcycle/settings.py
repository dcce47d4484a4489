"""One Settings object, read from the environment (prefix REPORTCYCLE_), checked as a whole at start-up.

Every check says which variable is wrong and how to fix it: a bad setting
stops `reportcycle serve` (and any command) before anything runs.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from tasks.inbound.mailbox import ImapConfig
    from tasks.mail.smtp import SmtpConfig

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "REPORTCYCLE_"
SECURITIES = ("none", "starttls", "tls")
# Which port goes with which kind of TLS: a mismatch hangs or fails at the first send, hours later.
TLS_PORTS = {"starttls": 587, "tls": 465}
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///reportcycle.db",
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="none (local relay), starttls (port 587) or tls (implicit, port 465)"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    bounce_address: str | None = Field(default=None, description="envelope sender for bounces; default: From")
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="Base of personal links")
    link_valid_days: int = Field(default=120, ge=1)
    worker_name: str = "worker"
    # Temporary SMTP failures are retried from the row for this long, then failed (Postfix keeps mail 5 days).
    queue_lifetime_hours: float = Field(default=72, gt=0, description="hours an undelivered email is retried")
    # A dispatch run stops claiming rows after this long, well inside the 5-minute schedule.
    dispatch_deadline_seconds: float = Field(default=240, gt=0, description="seconds a dispatch run may take")
    templates_dir: Path = PROJECT_ROOT / "templates"
    output_dir: Path = Field(default=Path("out"), description="drafts/ and site/ are written here")
    public_site_url: str = Field(default="http://127.0.0.1:8000/site", description="where out/site is served")
    # The health check's alert: a working day with no successful chase by this local time.
    chase_expected_by: str = Field(default="11:00", description="HH:MM, the partnership's local time")

    # The monitored mailbox agencies' replies and bounces reach (issue 17); unset, replies go to the business manager.
    inbound_address: str | None = Field(default=None, description="e.g. annual-report@example.org; tagged per email")
    inbound_host: str | None = Field(default=None, description="IMAP server of the inbound mailbox")
    inbound_port: int = Field(default=993, ge=1, le=65535)
    inbound_security: Literal["none", "starttls", "tls"] = Field(
        default="tls", description="tls (implicit, port 993), starttls (143), none (loopback only)"
    )
    inbound_user: str | None = None
    inbound_password: SecretStr | None = None
    inbound_oauth2_token: SecretStr | None = Field(
        default=None, description="an OAuth2 access token, used with XOAUTH2 instead of the password"
    )
    inbound_folder: str = Field(default="INBOX", description="the folder new messages arrive in")
    inbound_processed_folder: str = Field(default="Processed", description="where read messages are filed")
    inbound_needs_person_folder: str = Field(default="Needs a person", description="unmatched or forged messages")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                f"unsupported database URL {_masked_url(url)!r}: use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
            )
        if url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            port = make_url(url).port  # read here, so a bad one is a setting's error, not a crash at first use
        except (ArgumentError, ValueError):
            raise ValueError(
                f"{_masked_url(url)!r} is not a database URL: write postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB"
            ) from None
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"port {port} in {_masked_url(url)!r} is out of range; a port is 1-65535, e.g. 5432")
        return url

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _port_in_range(cls, value: Any) -> Any:
        try:
            port = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a port number; use 1-65535, e.g. 587") from None
        if not 1 <= port <= 65535:
            raise ValueError(f"{port} is out of range; a port is 1-65535, e.g. 587 (starttls) or 465 (tls)")
        return port

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _known_security(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in SECURITIES:
            return value.lower()
        raise ValueError(f"{value!r} is not one of none, starttls (port 587), tls (implicit, port 465)")

    @field_validator("public_base_url", "public_site_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1].strip("/")) == 0:
            raise ValueError(f"{url!r} must be an address starting with http:// or https://")
        return url.rstrip("/")

    @field_validator("chase_expected_by")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        import datetime as dt

        try:
            dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day; write it as HH:MM, e.g. 11:00") from None
        return value

    @field_validator("templates_dir")
    @classmethod
    def _templates_there(cls, path: Path) -> Path:
        if not (path / "emails").is_dir():
            raise ValueError(f"{path} has no emails/ folder; point it at the project's templates/ folder")
        return path

    @field_validator("output_dir")
    @classmethod
    def _writable(cls, path: Path) -> Path:
        # The folder need not exist yet (it is made on first use): the nearest existing one must let us write.
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"{path}: {existing} is a file, not a folder; choose a folder for drafts and the site")
        # A real probe, not os.access: root passes os.access everywhere, and a read-only mount fails only here.
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise ValueError(
                f"{path}: cannot write in {existing} ({exc.strerror}); choose a folder this user can write to"
            ) from None
        return path

    @model_validator(mode="after")
    def _smtp_consistent(self) -> Settings:
        security, port = self.smtp_security, self.smtp_port
        if security != "none" and port == 25:
            raise ValueError(
                f"REPORTCYCLE_SMTP_SECURITY={security} with REPORTCYCLE_SMTP_PORT=25: port 25 is server-to-server "
                f"relay; use {TLS_PORTS[security]} for {security}"
            )
        other = {"starttls": "tls", "tls": "starttls"}.get(security)
        if other and port == TLS_PORTS[other]:
            raise ValueError(
                f"REPORTCYCLE_SMTP_SECURITY={security} with REPORTCYCLE_SMTP_PORT={port}: port {port} is for {other}; "
                f"use {TLS_PORTS[security]}, or set REPORTCYCLE_SMTP_SECURITY={other}"
            )
        if (self.smtp_username is None) != (self.smtp_password is None):
            given, missing = ("USERNAME", "PASSWORD") if self.smtp_username is not None else ("PASSWORD", "USERNAME")
            raise ValueError(f"REPORTCYCLE_SMTP_{given} is set but REPORTCYCLE_SMTP_{missing} is not; set both or none")
        if self.smtp_username is not None and security == "none":
            raise ValueError(
                "SMTP credentials are set with REPORTCYCLE_SMTP_SECURITY=none: the password would cross the network "
                "in clear; set REPORTCYCLE_SMTP_SECURITY=starttls (port 587) or tls (port 465)"
            )
        return self._inbound_consistent()

    def _inbound_consistent(self) -> Settings:
        if self.inbound_password is not None and self.inbound_oauth2_token is not None:
            raise ValueError(
                "REPORTCYCLE_INBOUND_PASSWORD and REPORTCYCLE_INBOUND_OAUTH2_TOKEN are both set: the mailbox logs in "
                "with one of them; unset the other"
            )
        # The credential is one of two settings: either counts as given.
        secret = "oauth2_token" if self.inbound_oauth2_token is not None else "password"
        needed = ("address", "host", "user", secret)
        given = [n for n in needed if getattr(self, f"inbound_{n}") is not None]
        if given and len(given) < 4:
            missing = [n for n in needed if n not in given]
            names = ", ".join(f"REPORTCYCLE_INBOUND_{n.upper()}" for n in missing)
            names = names.replace("_PASSWORD", "_PASSWORD (or REPORTCYCLE_INBOUND_OAUTH2_TOKEN)")
            raise ValueError(f"inbound mail is half configured: set {names} too, or unset the others")
        address = self.inbound_address
        if address is not None and (address.count("@") != 1 or "+" in address or " " in address):
            raise ValueError(
                f"REPORTCYCLE_INBOUND_ADDRESS={address!r} is not a plain mailbox address; write e.g. "
                "annual-report@example.org (the tag is added after a +)"
            )
        if given and self.inbound_security == "none" and self.inbound_host not in LOOPBACK:
            raise ValueError(
                f"REPORTCYCLE_INBOUND_SECURITY=none with REPORTCYCLE_INBOUND_HOST={self.inbound_host}: the "
                f"{secret.replace('oauth2_', '')} would cross the network in clear; use tls (port 993) or starttls "
                "(143), or a loopback host"
            )
        return self

    @property
    def inbound_enabled(self) -> bool:
        return self.inbound_address is not None

    def inbound_config(self) -> ImapConfig | None:
        """The monitored mailbox, or None when inbound mail is not configured."""
        if not self.inbound_enabled:
            return None
        from tasks.inbound.mailbox import ImapConfig

        assert self.inbound_host and self.inbound_user and self.inbound_address
        password, token = self.inbound_password, self.inbound_oauth2_token
        return ImapConfig(
            host=self.inbound_host,
            port=self.inbound_port,
            security=self.inbound_security,
            user=self.inbound_user,
            password=password.get_secret_value() if password else None,
            oauth2_token=token.get_secret_value() if token else None,
            address=self.inbound_address,
            folder=self.inbound_folder,
            processed=self.inbound_processed_folder,
            needs_person=self.inbound_needs_person_folder,
        )

    def smtp_config(self) -> SmtpConfig:
        from tasks.mail.smtp import SmtpConfig

        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            timeout=self.smtp_timeout_seconds,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            use_tls=self.smtp_security == "tls",
            start_tls=self.smtp_security == "starttls",
            envelope_from=self.bounce_address,
            reply_mailbox=self.inbound_address,
        )

    def shown(self) -> list[tuple[str, str]]:
        """(environment variable, value) for every setting, secrets masked: safe to print or log."""
        rows = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "******** (set)"
            elif value is None:
                text = "(unset)"
            elif name == "database_url":
                text = _masked_url(value)
            else:
                text = str(value)
            rows.append((ENV_PREFIX + name.upper(), text))
        return rows


def _masked_url(url: str) -> str:
    """A database URL with its password replaced, for messages and `check-settings`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@")[-1] if "@" in url else url


def problems(error: ValidationError) -> list[str]:
    """Each problem as one line naming the environment variable: what is wrong and how to fix it."""
    lines = []
    for e in error.errors():
        message = str(e["msg"]).removeprefix("Value error, ")
        loc = ".".join(map(str, e["loc"]))
        lines.append(f"{ENV_PREFIX}{loc.upper()}: {message}" if loc else message)
    return lines


def prefect_shown() -> list[tuple[str, str]]:
    """Prefect's own settings that decide where runs are recorded, masked like ours."""
    from prefect.settings import get_current_settings

    current = get_current_settings()
    api = current.api.url
    database = current.server.database.connection_url
    return [
        ("PREFECT_API_URL", api or "(unset: `reportcycle serve` starts a local Prefect server)"),
        (
            "PREFECT_API_DATABASE_CONNECTION_URL",
            _masked_url(database.get_secret_value()) if database else "(unset: SQLite under PREFECT_HOME)",
        ),
    ]


@lru_cache
def get_settings() -> Settings:
    return Settings()
