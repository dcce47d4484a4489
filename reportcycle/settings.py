"""One Settings object, read from the environment (prefix REPORTCYCLE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from tasks.smtp import SmtpConfig

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTCYCLE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///reportcycle.db",
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
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
    max_send_attempts: int = Field(default=5, ge=1)
    templates_dir: Path = PROJECT_ROOT / "templates"
    output_dir: Path = Field(default=Path("out"), description="drafts/ and site/ are written here")
    public_site_url: str = Field(default="http://127.0.0.1:8000/site", description="where out/site is served")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql")):
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql+psycopg://...")
        if url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @field_validator("public_base_url", "public_site_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} must start with http:// or https://")
        return url.rstrip("/")

    def smtp_config(self) -> SmtpConfig:
        from tasks.smtp import SmtpConfig

        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            timeout=self.smtp_timeout_seconds,
            username=self.smtp_username,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            use_tls=self.smtp_security == "tls",
            start_tls=self.smtp_security == "starttls",
            envelope_from=self.bounce_address,
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
