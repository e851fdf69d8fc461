"""Bridge configuration: file, environment overrides, secrets files, and no leaked secrets."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import yaml

from bridge.auth import api_authenticator, webhook_authenticator
from bridge.config_loader import ConfigError, load_config
from bridge.netaddr import redact_url

SECRETS = ("file-webhook-secret", "env-api-secret", "pg-password-secret", "basic-pass-secret")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SECMON_BRIDGE_"):
            monkeypatch.delenv(name)


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "c.yml", {"webhook_token": "w", "api_token": "a"}))
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 9189)
    assert config.database_url.get_secret_value() == "sqlite:///secmon-bridge.db"
    assert config.redis_url is None
    assert config.max_body_bytes == 4 * 1024 * 1024
    assert config.insecure_no_auth is False


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path / "c.yml",
        {
            "listen": "127.0.0.1:1000",
            "database_url": "sqlite:///from-file.db",
            "webhook_token": "file-token",
            "api_token": "file-api",
            "store": {"timeout_seconds": 9, "pool_max_size": 3},
        },
    )
    monkeypatch.setenv("SECMON_BRIDGE_LISTEN", "0.0.0.0:2000")
    monkeypatch.setenv("SECMON_BRIDGE_DATABASE_URL", "postgresql://secmon@db:5432/secmon")
    monkeypatch.setenv("SECMON_BRIDGE_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("SECMON_BRIDGE_WEBHOOK_TOKEN", "env-token")
    monkeypatch.setenv("SECMON_BRIDGE_API_TOKEN", "env-api")
    monkeypatch.setenv("SECMON_BRIDGE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("SECMON_BRIDGE_STORE__TIMEOUT_SECONDS", "1.5")

    config = load_config(path)

    assert config.listen == "0.0.0.0:2000"
    assert config.database_url.get_secret_value() == "postgresql://secmon@db:5432/secmon"
    assert config.redis_url is not None
    assert config.redis_url.get_secret_value() == "redis://cache:6379/2"
    assert webhook_authenticator(config).bearer_token == "env-token"
    assert api_authenticator(config).bearer_token == "env-api"
    assert config.max_body_bytes == 2048
    assert config.store.timeout_seconds == 1.5
    assert config.store.pool_max_size == 3  # nested fields not overridden keep the file's value


def test_listen_flag_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECMON_BRIDGE_LISTEN", "127.0.0.1:2000")
    monkeypatch.setenv("SECMON_BRIDGE_INSECURE_NO_AUTH", "true")
    assert load_config(None, listen="[::1]:3000").listen_port == 3000
    assert load_config(None, listen="[::1]:3000").listen_host == "::1"


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "webhook").write_text("file-webhook-secret\n")
    (tmp_path / "api").write_text("file-api-secret")
    (tmp_path / "basic").write_text("basic-pass-secret\r\n")
    config = load_config(
        write(
            tmp_path / "c.yml",
            {
                "webhook_token_file": str(tmp_path / "webhook"),
                "api_token_file": str(tmp_path / "api"),
                "webhook_basic_auth": {
                    "username": "alertmanager",
                    "password_file": str(tmp_path / "basic"),
                },
            },
        )
    )
    webhook = webhook_authenticator(config)
    assert webhook.bearer_token == "file-webhook-secret"
    assert webhook.basic is not None
    assert webhook.basic.password == "basic-pass-secret"
    assert api_authenticator(config).bearer_token == "file-api-secret"


def test_refuses_to_start_without_auth_unless_explicitly_insecure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path / "c.yml", {}))
    fields = [problem.field for problem in caught.value.problems]
    assert fields == ["webhook_token", "api_token"]
    assert "insecure_no_auth" in caught.value.problems[0].message

    config = load_config(write(tmp_path / "open.yml", {"insecure_no_auth": True}))
    assert webhook_authenticator(config).open
    assert api_authenticator(config).open


def test_every_problem_reported_at_once_with_file_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.yml",
        {
            "listen": "localhost",
            "database_url": "mysql://root:pg-password-secret@db/x",
            "max_body_bytes": 0,
            "webhook_token": "w",
            "webhook_token_file": str(tmp_path / "nope"),
            "api_tokn": "typo",
            "store": {"pool_min_size": 5, "pool_max_size": 2},
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = caught.value.render()
    fields = {problem.field for problem in caught.value.problems}
    assert {"listen", "database_url", "max_body_bytes", "api_tokn", "store"} <= fields
    assert all(line.startswith(f"  {path}: ") for line in text.splitlines()[1:])
    assert "SECMON_BRIDGE_MAX_BODY_BYTES" in text
    assert "pg-password-secret" not in text


def test_token_and_token_file_together_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("x")
    path = write(
        tmp_path / "c.yml",
        {"webhook_token": "w", "webhook_token_file": str(tmp_path / "t"), "api_token": "a"},
    )
    with pytest.raises(ConfigError, match="either webhook_token or webhook_token_file"):
        load_config(path)


def test_missing_secret_file_names_the_field_and_path(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", {"webhook_token": "w", "api_token_file": "/no/such/file"})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.field == "api_token_file"
    assert "/no/such/file" in problem.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("listen: [unclosed", "line 1"),
        ("- a list\n", "top level must be a mapping"),
    ],
)
def test_unreadable_yaml_is_reported_with_position(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml")


@pytest.mark.parametrize(
    "url",
    ["sqlite://relative.db", "sqlite:///", "sqlite:///:memory:", "redis://x", "just-a-path"],
)
def test_bad_database_urls(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECMON_BRIDGE_DATABASE_URL", url)
    monkeypatch.setenv("SECMON_BRIDGE_INSECURE_NO_AUTH", "1")
    with pytest.raises(ConfigError) as caught:
        load_config(None)
    assert [problem.field for problem in caught.value.problems] == ["database_url"]


def test_secrets_never_appear_in_repr_dump_or_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "webhook").write_text("file-webhook-secret")
    monkeypatch.setenv("SECMON_BRIDGE_API_TOKEN", "env-api-secret")
    monkeypatch.setenv(
        "SECMON_BRIDGE_DATABASE_URL", "postgresql://secmon:pg-password-secret@db/secmon"
    )
    path = write(
        tmp_path / "c.yml",
        {
            "webhook_token_file": str(tmp_path / "webhook"),
            "webhook_basic_auth": {"username": "am", "password": "basic-pass-secret"},
        },
    )
    config = load_config(path)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("config: %s / %r", config, config)

    rendered = [
        repr(config),
        str(config),
        config.model_dump_json(),
        repr(webhook_authenticator(config)),
        repr(api_authenticator(config)),
        repr(webhook_authenticator(config).basic),
        redact_url(config.database_url.get_secret_value()),
        caplog.text,
    ]
    for text in rendered:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text[:80]!r}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://secmon:pw@db:5432/secmon", "postgresql://secmon:***@db:5432/secmon"),
        ("postgresql://secmon@db/secmon?password=pw", "postgresql://secmon@db/secmon?***"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("sqlite:////var/lib/secmon/bridge.db", "sqlite:////var/lib/secmon/bridge.db"),
        ("not a url", "***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
