"""Every bad setting stops start-up with a message naming the variable and the fix; secrets are never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from reportcycle.cli import app
from reportcycle.settings import Settings, get_settings, problems

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

GOOD_TLS = {"REPORTCYCLE_SMTP_SECURITY": "starttls", "REPORTCYCLE_SMTP_PORT": "587"}


def _problems(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    return problems(caught.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"REPORTCYCLE_DATABASE_URL": "mysql://app:hunter2@db/report"},
            "REPORTCYCLE_DATABASE_URL: unsupported database URL 'mysql://app:***@db/report': "
            "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
        ),
        (
            {"REPORTCYCLE_SMTP_PORT": "70000"},
            "REPORTCYCLE_SMTP_PORT: 70000 is out of range; a port is 1-65535, e.g. 587 (starttls) or 465 (tls)",
        ),
        (
            {"REPORTCYCLE_SMTP_PORT": "smtp"},
            "REPORTCYCLE_SMTP_PORT: 'smtp' is not a port number; use 1-65535, e.g. 587",
        ),
        (
            {"REPORTCYCLE_SMTP_SECURITY": "ssl"},
            "REPORTCYCLE_SMTP_SECURITY: 'ssl' is not one of none, starttls (port 587), tls (implicit, port 465)",
        ),
        (
            {"REPORTCYCLE_SMTP_SECURITY": "tls", "REPORTCYCLE_SMTP_PORT": "25"},
            "REPORTCYCLE_SMTP_SECURITY=tls with REPORTCYCLE_SMTP_PORT=25: port 25 is server-to-server relay; "
            "use 465 for tls",
        ),
        (
            {"REPORTCYCLE_SMTP_SECURITY": "starttls", "REPORTCYCLE_SMTP_PORT": "465"},
            "REPORTCYCLE_SMTP_SECURITY=starttls with REPORTCYCLE_SMTP_PORT=465: port 465 is for tls; use 587, "
            "or set REPORTCYCLE_SMTP_SECURITY=tls",
        ),
        (
            {"REPORTCYCLE_SMTP_USERNAME": "relay", "REPORTCYCLE_SMTP_PASSWORD": "hunter2"},
            "SMTP credentials are set with REPORTCYCLE_SMTP_SECURITY=none: the password would cross the network "
            "in clear; set REPORTCYCLE_SMTP_SECURITY=starttls (port 587) or tls (port 465)",
        ),
        (
            {"REPORTCYCLE_SMTP_USERNAME": "relay", **GOOD_TLS},
            "REPORTCYCLE_SMTP_USERNAME is set but REPORTCYCLE_SMTP_PASSWORD is not; set both or none",
        ),
        (
            {"REPORTCYCLE_PUBLIC_BASE_URL": "portal.example.org"},
            "REPORTCYCLE_PUBLIC_BASE_URL: 'portal.example.org' must be an address starting with http:// or https://",
        ),
        (
            {"REPORTCYCLE_CHASE_EXPECTED_BY": "11am"},
            "REPORTCYCLE_CHASE_EXPECTED_BY: '11am' is not a time of day; write it as HH:MM, e.g. 11:00",
        ),
    ],
    ids=[
        "mysql",
        "port-range",
        "port-word",
        "security",
        "tls-25",
        "starttls-465",
        "clear-password",
        "half-credentials",
        "base-url",
        "chase-time",
    ],
)
def test_a_bad_setting_is_named_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    assert _problems(monkeypatch, env) == [expected]


def test_an_output_dir_that_cannot_be_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    assert _problems(monkeypatch, {"REPORTCYCLE_OUTPUT_DIR": str(a_file / "out")}) == [
        f"REPORTCYCLE_OUTPUT_DIR: {a_file / 'out'}: {a_file} is a file, not a folder; "
        "choose a folder for drafts and the site"
    ]
    # /proc refuses new files even to root (os.access would say yes to root)
    (message,) = _problems(monkeypatch, {"REPORTCYCLE_OUTPUT_DIR": "/proc/reportcycle-out"})
    assert message.startswith("REPORTCYCLE_OUTPUT_DIR: /proc/reportcycle-out: cannot write in /proc (")
    assert message.endswith("); choose a folder this user can write to")


def test_a_good_tls_setup_is_accepted_and_used(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**GOOD_TLS, "REPORTCYCLE_SMTP_USERNAME": "relay", "REPORTCYCLE_SMTP_PASSWORD": "pw"}.items():
        monkeypatch.setenv(name, value)
    smtp = Settings(_env_file=None).smtp_config()  # type: ignore[call-arg]
    assert (smtp.port, smtp.start_tls, smtp.use_tls, smtp.username, smtp.password) == (587, True, False, "relay", "pw")


def _cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["check-settings"])
    get_settings.cache_clear()
    return result.exit_code, " ".join(result.output.split())


def test_check_settings_prints_every_setting_with_secrets_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _cli(
        monkeypatch,
        {
            **GOOD_TLS,
            "REPORTCYCLE_SMTP_USERNAME": "relay",
            "REPORTCYCLE_SMTP_PASSWORD": "s3cret-relay-pw",
            "REPORTCYCLE_DATABASE_URL": "postgresql://app:s3cret-db-pw@db.internal/report",
        },
    )
    assert code == 0, out
    assert "s3cret" not in out
    assert "REPORTCYCLE_DATABASE_URL=postgresql+psycopg://app:***@db.internal/report" in out
    assert "REPORTCYCLE_SMTP_PASSWORD=******** (set)" in out
    assert "REPORTCYCLE_SMTP_USERNAME=relay" in out
    assert out.endswith("all settings are valid (secrets masked)")


def test_check_settings_refuses_with_every_problem_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _cli(monkeypatch, {"REPORTCYCLE_SMTP_PORT": "0", "REPORTCYCLE_SMTP_SECURITY": "ssl"})
    assert code == 1
    assert out == (
        "error: a setting is wrong; nothing was done: "
        "REPORTCYCLE_SMTP_PORT: 0 is out of range; a port is 1-65535, e.g. 587 (starttls) or 465 (tls) "
        "REPORTCYCLE_SMTP_SECURITY: 'ssl' is not one of none, starttls (port 587), tls (implicit, port 465)"
    )
