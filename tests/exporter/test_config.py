"""Exporter configuration: every error at once with file and field, env overrides, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.collectors.kong import KongConfig
from exporter.config import ConfigError, load_config
from tests.exporter.conftest import TOKEN

GOOD = """
listen: "127.0.0.1:9999"
rules: {paths: [rules/kong]}
collectors:
  - type: kong
    name: edge
    admin_url: http://127.0.0.1:8001
    interval: 15
    environment: staging
  - type: kong
    name: internal-gw
    admin_url: https://kong.internal:8444/
    enabled: false
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "exporter.yml"
    path.write_text(GOOD)
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SECMON_EXPORTER_"):
            monkeypatch.delenv(name)


def test_valid_file(config_file: Path) -> None:
    config = load_config(config_file)
    assert config.listen_address == ("127.0.0.1", 9999)
    assert config.rules.paths == ["rules/kong"]
    edge, internal = config.collectors
    assert isinstance(edge, KongConfig)
    assert (edge.name, edge.interval, edge.timeout, edge.environment) == ("edge", 15, 10, "staging")
    assert [c.name for c in config.enabled_collectors] == ["edge"]
    assert not internal.enabled


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.listen == "127.0.0.1:9188"
    assert config.rules.paths == ["rules"]
    assert config.collectors == []


def test_every_error_reported_at_once_with_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        """
listen: "nonsense"
rules: {paths: [rules], extra: 1}
collectors:
  - {type: kong, name: edge, admin_url: "ftp://x", interval: 0}
  - {type: kong, name: edge, admin_url: "http://a:b@kong:8001", token: x, token_file: /nope}
  - {type: gitlab, name: g}
  - {type: kong, admin_url: "http://k:8001", colour: blue}
"""
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    expected_fields = [
        "listen:",
        "rules.extra:",
        "collectors[0].admin_url:",
        "collectors[0].interval:",
        "collectors[1].name: duplicate collector name 'edge'",
        "collectors[1].admin_url:",
        "collectors[1].token_file:",
        "collectors[2]: Input tag 'gitlab'",
        "collectors[3].name: Field required",
        "collectors[3].colour:",
    ]
    for fragment in expected_fields:
        assert any(f"{path}: {fragment}" in p for p in problems), (fragment, problems)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("collectors: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_env_beats_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECMON_EXPORTER_LISTEN", "0.0.0.0:9300")
    monkeypatch.setenv("SECMON_EXPORTER_RULES__PATHS", '["/etc/secmon/rules"]')
    config = load_config(config_file)
    assert config.listen == "0.0.0.0:9300"
    assert config.rules.paths == ["/etc/secmon/rules"]
    assert [c.name for c in config.collectors] == ["edge", "internal-gw"]


def test_collector_fields_from_env_by_name(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__EDGE__TOKEN", TOKEN)
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__INTERNAL_GW__ENABLED", "true")
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__EDGE__INTERVAL", "5")
    config = load_config(config_file)
    edge, internal = config.collectors
    assert isinstance(edge, KongConfig)
    assert edge.resolved_token() == TOKEN
    assert edge.interval == 5
    assert internal.enabled


def test_collectors_replaced_as_json_from_env(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "SECMON_EXPORTER_COLLECTORS",
        '[{"type": "kong", "name": "k8s", "admin_url": "http://kong-admin:8001"}]',
    )
    assert [c.name for c in load_config(config_file).collectors] == ["k8s"]


def test_env_for_unknown_collector_is_an_error(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__NOPE__TOKEN", TOKEN)
    monkeypatch.setenv("SECMON_EXPORTER_LISTEN", "bad")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    text = str(caught.value)
    assert "no collector named 'nope'" in text
    assert "listen:" in text
    assert TOKEN not in text


def test_secrets_never_in_reprs_or_errors(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__EDGE__TOKEN", TOKEN)
    config = load_config(config_file)
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config.model_dump())
    monkeypatch.setenv("SECMON_EXPORTER_COLLECTORS__EDGE__TOKEN_FILE", "/nonexistent")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert "collectors[0].token_file: Value error, /nonexistent is not a readable file" in str(
        caught.value
    )
    assert TOKEN not in str(caught.value)


def test_token_and_token_file_are_exclusive(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN)
    path = tmp_path / "c.yml"
    path.write_text(
        "collectors:\n"
        f"  - {{type: kong, name: e, admin_url: 'http://k:8001', token: {TOKEN}, "
        f"token_file: {secret}}}\n"
    )
    with pytest.raises(ConfigError, match="set token or token_file, not both") as caught:
        load_config(path)
    assert TOKEN not in str(caught.value)
