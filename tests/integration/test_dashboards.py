"""The provisioned Grafana dashboards: well-formed, wired to the provisioned data sources, the
seed's panels present, and every PromQL query accepted by a real Prometheus.

Grafana itself cannot run here, so the dashboards are checked the way Grafana would load them
(structure, data source UIDs, the provider's path in the Compose file) and their queries are run
against the real back ends: PromQL here, SQL in ``tests/bridge/test_dashboard_sql.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.harness.processes import Launcher
from tests.harness.services import free_port
from tests.harness.stack import REPO, prometheus_process, write_yaml
from tests.harness.wait import wait_until

GRAFANA = REPO / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# Grafana's built-in panel types this project uses or may use.
PANEL_TYPES = {
    "stat", "gauge", "bargauge", "barchart", "timeseries", "table", "state-timeline",
    "heatmap", "piechart", "text",
}  # fmt: skip
# Grafana's own variables, replaced by the values it would send.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
SEED_PANELS = {
    "Active Alerts by Severity",
    "Alert Volume Trend (24h)",
    "Mean Time to Resolution by Severity",
    "Kong Security Score",
    "GitHub Actions Security Issues",
    "Compliance Status by Framework",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def datasources() -> dict[str, str]:
    """Provisioned data source UID → type."""
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "secmon.yml").read_text())
    return {source["uid"]: source["type"] for source in config["datasources"]}


def targets(kind: str) -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, query) of every target on a data source of ``kind``."""
    found = []
    for path in DASHBOARDS:
        for panel in load(path)["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == kind:
                    query = target.get("expr") or target.get("rawSql")
                    found.append((path.name, panel["title"], query))
    return found


def test_dashboards_are_provisioned_where_compose_mounts_them() -> None:
    assert len(DASHBOARDS) >= 2
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "secmon.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert f"./grafana/dashboards:{path}:ro" in compose["services"]["grafana"]["volumes"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = load(path)
    sources = datasources()
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        where = f"{path.name}: {panel['title']!r}"
        assert panel["type"] in PANEL_TYPES, where
        assert panel["description"], f"{where}: say what the panel shows"
        grid = panel["gridPos"]
        assert min(grid["w"], grid["h"]) > 0, where
        assert grid["x"] + grid["w"] <= 24, where
        assert panel["targets"], where
        for target in panel["targets"]:
            uid, kind = target["datasource"]["uid"], target["datasource"]["type"]
            assert sources.get(uid) == kind, f"{where}: unknown data source {uid}"
            if kind == "prometheus":
                assert target["expr"].strip(), where
            else:
                assert target["rawSql"].strip(), where
                assert target["rawQuery"], where


def test_every_seed_panel_is_on_a_dashboard() -> None:
    titles = {panel["title"] for path in DASHBOARDS for panel in load(path)["panels"]}
    assert titles >= SEED_PANELS, f"missing: {sorted(SEED_PANELS - titles)}"


def test_promql_reads_only_metrics_secmon_exports() -> None:
    source = "\n".join(
        p.read_text() for d in ("exporter", "bridge") for p in (REPO / d).rglob("*.py")
    )
    for name, title, expr in targets("prometheus"):
        for metric in re.findall(r"\bsecmon_[a-z_]+", expr):
            declared = re.sub(r"_(total|bucket|sum|count)$", "", metric)
            # Declared as a string (some names are built from a prefix, and documented whole).
            assert declared in source, f"{name}: {title!r} reads {metric}"


async def test_every_promql_query_runs_on_prometheus(
    launch: Launcher, workdir: Path, prometheus_binary: str
) -> None:
    port = free_port()
    config = write_yaml(workdir / "prometheus.yml", {"global": {"scrape_interval": "15s"}})
    launch(prometheus_process(prometheus_binary, workdir, port, config))
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:

        async def ready() -> bool:
            async with session.get(f"{url}/-/ready") as response:
                return response.status == 200

        await wait_until(ready, timeout=30, what="Prometheus ready")
        queries = targets("prometheus")
        assert queries
        for name, title, expr in queries:
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            async with session.get(f"{url}/api/v1/query", params={"query": expr}) as response:
                body = await response.json()
            assert body["status"] == "success", f"{name}: {title!r}: {body.get('error')}"
