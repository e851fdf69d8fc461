"""docker-compose.yml cannot run here (no Docker engine), so it is checked statically: against
the Compose specification's JSON schema, and for every file and config it points at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.harness.stack import REPO

COMPOSE = REPO / "docker-compose.yml"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_bind_mounted_file_ships_except_user_created_secrets() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("./") or source.startswith("./secrets/"):
                continue
            assert (REPO / source).exists(), f"service {name} mounts missing {source}"
    for secret in compose()["secrets"].values():
        assert secret["file"].startswith("./secrets/"), "secrets live outside the repository"


def test_services_run_both_console_scripts_with_shipped_configs() -> None:
    services = compose()["services"]
    assert services["exporter"]["command"][:2] == ["secmon-exporter", "serve"]
    assert services["bridge"]["command"][:2] == ["secmon-bridge", "serve"]
    assert (REPO / services["exporter"].get("build", ".") / "Dockerfile").exists()
    for path in ("deploy/exporter.yml", "deploy/bridge.yml"):
        assert yaml.safe_load((REPO / path).read_text()) is not None


def test_prometheus_targets_match_compose_service_names_and_ports() -> None:
    prometheus = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    services = compose()["services"]
    for job in prometheus["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, _, port = target.partition(":")
            if host == "localhost":
                continue
            assert host in services, f"{job['job_name']} scrapes unknown service {host}"
            published = {p.split(":")[-1] for p in services[host].get("ports", [])}
            assert port in published, f"{host} does not expose {port}"


def test_grafana_provisioning_is_valid_yaml(tmp_path: Path) -> None:
    for path in (REPO / "grafana" / "provisioning").rglob("*.yml"):
        data = yaml.safe_load(path.read_text())
        assert data["apiVersion"] == 1, path
