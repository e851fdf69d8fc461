"""The demo estate as real processes, for end-to-end tests.

Fake Kong (misconfigured: its Admin API on ``0.0.0.0:8001`` over plain HTTP) → exporter with
the whole rule pack → Prometheus (1 s scrape and evaluation, the compiled detection rules) →
Alertmanager (the shipped routing, bearer token from a file) → bridge (SQLite). Each process
runs on a free loopback port, logs into the test's work directory and is stopped by the
``launch`` fixture; ``start_estate`` returns once every one of them answers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import (
    REPO,
    ManagedProcess,
    alertmanager_process,
    bridge_process,
    detection_rule_files,
    exporter_process,
    prometheus_process,
    render_alertmanager_config,
    render_prometheus_config,
    write_yaml,
)
from tests.harness.wait import wait_until

WEBHOOK_TOKEN = "e2e-webhook-token"
API_TOKEN = "e2e-api-token"


@dataclass
class Estate:
    kong_url: str
    bridge_url: str
    exporter_url: str
    bridge: ManagedProcess
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        """Headers for the bridge's API."""
        return {"Authorization": f"Bearer {API_TOKEN}"}


def python_module(name: str, module: str, log_dir: Path, *args: str) -> ManagedProcess:
    """``python -m module args…`` with its output in ``log_dir/name.log``."""
    return ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", module, *args],
        log_path=log_dir / f"{name}.log",
    )


async def wait_healthy(session: aiohttp.ClientSession, url: str, process: ManagedProcess) -> None:
    async def healthy() -> bool:
        assert process.running, f"{process.name} exited early"
        async with session.get(url) as response:
            return response.status == 200

    await wait_until(healthy, timeout=30, what=f"{process.name} at {url}")


async def start_estate(
    session: aiohttp.ClientSession,
    launch: Launcher,
    workdir: Path,
    *,
    prometheus_binary: str,
    alertmanager_binary: str,
    bridge_settings: Mapping[str, Any] | None = None,
) -> Estate:
    """Start every process of the estate; ``bridge_settings`` are added to the bridge's config."""
    kong_port, exporter_port, bridge_port = free_port(), free_port(), free_port()
    prometheus_port, alertmanager_port = free_port(), free_port()
    kong_url = f"http://127.0.0.1:{kong_port}"
    bridge_url = f"http://127.0.0.1:{bridge_port}"
    exporter_url = f"http://127.0.0.1:{exporter_port}"

    exporter_config = write_yaml(
        workdir / "exporter.yml",
        {
            "rules": {"paths": [str(REPO / "rules")]},
            "collectors": [
                {
                    "type": "kong",
                    "name": "edge",
                    "admin_url": kong_url,
                    "environment": "production",
                    "interval": 1,
                    "timeout": 2,
                }
            ],
        },
    )
    bridge_config = write_yaml(
        workdir / "bridge.yml",
        {
            "database_url": f"sqlite:///{workdir / 'bridge.db'}",
            "webhook_token": WEBHOOK_TOKEN,
            "api_token": API_TOKEN,
            **(bridge_settings or {}),
        },
    )
    token_file = workdir / "webhook-token"
    token_file.write_text(WEBHOOK_TOKEN)
    am_config = write_yaml(
        workdir / "alertmanager.yml",
        render_alertmanager_config(
            webhook_url=f"{bridge_url}/api/v1/alertmanager", token_file=token_file
        ),
    )
    prom_config = write_yaml(
        workdir / "prometheus.yml",
        render_prometheus_config(
            exporter=f"127.0.0.1:{exporter_port}",
            bridge=f"127.0.0.1:{bridge_port}",
            alertmanager=f"127.0.0.1:{alertmanager_port}",
            rule_files=detection_rule_files(),
        ),
    )

    kong = launch(
        python_module(
            "fake-kong",
            "exporter.fakes.kong",
            workdir,
            "--listen",
            f"127.0.0.1:{kong_port}",
            "--scenario",
            "insecure",
        )
    )
    bridge = launch(bridge_process(workdir, bridge_port, bridge_config))
    exporter = launch(exporter_process(workdir, exporter_port, exporter_config))
    alertmanager = launch(
        alertmanager_process(alertmanager_binary, workdir, alertmanager_port, am_config)
    )
    prometheus = launch(
        prometheus_process(prometheus_binary, workdir, prometheus_port, prom_config)
    )
    await wait_healthy(session, f"{kong_url}/status", kong)
    await wait_healthy(session, f"{bridge_url}/-/healthy", bridge)
    await wait_healthy(session, f"{exporter_url}/-/healthy", exporter)
    await wait_healthy(session, f"http://127.0.0.1:{alertmanager_port}/-/ready", alertmanager)
    await wait_healthy(session, f"http://127.0.0.1:{prometheus_port}/-/ready", prometheus)
    return Estate(
        kong_url=kong_url,
        bridge_url=bridge_url,
        exporter_url=exporter_url,
        bridge=bridge,
        processes={
            "fake-kong": kong,
            "bridge": bridge,
            "exporter": exporter,
            "alertmanager": alertmanager,
            "prometheus": prometheus,
        },
    )
