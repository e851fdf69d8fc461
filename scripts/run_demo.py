"""`make run`: the whole secmon pipeline on one machine against a demo estate.

Starts fake platform APIs seeded with misconfigurations, the exporter and the bridge on their
embedded defaults (SQLite, in-process state), and Prometheus and Alertmanager when installed;
prints where to look and every alert the bridge receives. Ctrl-C stops every process it started.

A fake Slack Web API stands in for Slack: the bridge's ``slack_critical`` channel posts the
critical alerts there as Block Kit messages with Acknowledge/Resolve buttons, readable at the
fake's ``/__fake__/messages``.

Ports can be moved with SECMON_DEMO_<NAME>_PORT (KONG_EDGE, KONG_INTERNAL, SLACK, EXPORTER,
BRIDGE, PROMETHEUS, ALERTMANAGER). ``--exit-after-alert RULE_ID`` stops with status 0 once that
rule's alert reached the bridge (status 1 after ``--timeout``): the test suite runs the demo
that way.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.stack import (  # noqa: E402 - the repo root must be importable first
    ALERTMANAGER_BINARIES,
    ManagedProcess,
    alertmanager_process,
    bridge_process,
    detection_rule_files,
    exporter_process,
    find_binary,
    load_yaml,
    prometheus_process,
    render_alertmanager_config,
    render_prometheus_config,
    stop_all,
    wait_for_http,
    write_yaml,
)

DEMO = REPO / "examples" / "demo"
DEFAULT_PORTS = {
    "kong_edge": 18001,
    "kong_internal": 18002,
    "slack": 18010,
    "exporter": 9188,
    "bridge": 9189,
    "prometheus": 9090,
    "alertmanager": 9093,
}


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_ports() -> dict[str, int]:
    ports = {}
    for name, default in DEFAULT_PORTS.items():
        variable = f"SECMON_DEMO_{name.upper()}_PORT"
        port = int(os.environ.get(variable, default))
        if not port_free(port):
            sys.exit(f"demo: port {port} for {name} is in use; set {variable} to another port")
        ports[name] = port
    return ports


def api_get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def render_configs(state: Path, ports: dict[str, int]) -> tuple[Path, Path, dict[str, Any]]:
    exporter = load_yaml(DEMO / "exporter.yml")
    for collector in exporter["collectors"]:
        if collector["type"] == "kong":
            collector["admin_url"] = f"http://127.0.0.1:{ports['kong_' + collector['name']]}"
    exporter["rules"]["paths"] = [str(REPO / "rules")]
    bridge = load_yaml(DEMO / "bridge.yml")
    bridge["database_url"] = f"sqlite:///{state / 'bridge.db'}"
    bridge["channels"]["slack_critical"]["base_url"] = f"http://127.0.0.1:{ports['slack']}/api/"
    return (
        write_yaml(state / "exporter.yml", exporter),
        write_yaml(state / "bridge.yml", bridge),
        bridge,
    )


def start(processes: list[ManagedProcess], process: ManagedProcess, health: str) -> None:
    processes.append(process.start())
    try:
        wait_for_http(health, timeout=30)
    except TimeoutError:
        print(process.tail(), file=sys.stderr)
        raise


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _kill_all(processes: list[ManagedProcess], signum: int, frame: object) -> None:
    for process in processes:
        if process.proc is not None and process.running:
            process.proc.kill()


def main() -> int:
    # Stop every child on Ctrl-C and on SIGTERM alike, even when started with SIGINT ignored
    # (as background jobs of a non-interactive shell are).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exit-after-alert", metavar="RULE_ID")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    ports = choose_ports()
    state = REPO / ".run" / "demo"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    exporter_config, bridge_config, bridge = render_configs(state, ports)
    api_token = bridge["api_token"]
    bridge_url = f"http://127.0.0.1:{ports['bridge']}"

    slack = bridge["channels"]["slack_critical"]
    slack_url = f"http://127.0.0.1:{ports['slack']}"

    processes: list[ManagedProcess] = []
    try:
        fake_slack = ManagedProcess(
            name="fake-slack",
            argv=[
                sys.executable,
                "-m",
                "bridge.fakes.slack",
                "--listen",
                f"127.0.0.1:{ports['slack']}",
                "--token",
                slack["token"],
                "--channel",
                f"{slack['channel'].lstrip('#')}=C0SECCRIT",
            ],
            log_path=state / "fake-slack.log",
        )
        start(processes, fake_slack, f"{slack_url}/__fake__/messages")
        for name, scenario in (("edge", "insecure"), ("internal", "secure")):
            port = ports[f"kong_{name}"]
            fake = ManagedProcess(
                name=f"fake-kong-{name}",
                argv=[
                    sys.executable,
                    "-m",
                    "exporter.fakes.kong",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--scenario",
                    scenario,
                ],
                log_path=state / f"fake-kong-{name}.log",
            )
            start(processes, fake, f"http://127.0.0.1:{port}/status")
        start(
            processes,
            bridge_process(state, ports["bridge"], bridge_config),
            f"{bridge_url}/-/healthy",
        )
        start(
            processes,
            exporter_process(state, ports["exporter"], exporter_config),
            f"http://127.0.0.1:{ports['exporter']}/-/healthy",
        )
        prometheus_bin = find_binary("prometheus")
        alertmanager_bin = find_binary(*ALERTMANAGER_BINARIES)
        if prometheus_bin and alertmanager_bin:
            token_file = state / "bridge-webhook-token"
            token_file.write_text(bridge["webhook_token"])
            token_file.chmod(0o600)
            am_config = write_yaml(
                state / "alertmanager.yml",
                render_alertmanager_config(
                    webhook_url=f"{bridge_url}/api/v1/alertmanager", token_file=token_file
                ),
            )
            prom_config = write_yaml(
                state / "prometheus.yml",
                render_prometheus_config(
                    exporter=f"127.0.0.1:{ports['exporter']}",
                    bridge=f"127.0.0.1:{ports['bridge']}",
                    alertmanager=f"127.0.0.1:{ports['alertmanager']}",
                    rule_files=detection_rule_files(),
                    interval="5s",
                ),
            )
            start(
                processes,
                alertmanager_process(alertmanager_bin, state, ports["alertmanager"], am_config),
                f"http://127.0.0.1:{ports['alertmanager']}/-/ready",
            )
            start(
                processes,
                prometheus_process(prometheus_bin, state, ports["prometheus"], prom_config),
                f"http://127.0.0.1:{ports['prometheus']}/-/ready",
            )
        else:
            print(
                "demo: Prometheus/Alertmanager not installed (`make services` installs them);"
                " alerts will not reach the bridge."
            )

        print(
            f"""
secmon demo is running (state and logs in {state.relative_to(REPO)}/):
  exporter metrics   http://127.0.0.1:{ports["exporter"]}/metrics
  bridge alerts      curl -H 'Authorization: Bearer {api_token}' {bridge_url}/api/v1/alerts
  bridge metrics     {bridge_url}/metrics
  Prometheus         http://127.0.0.1:{ports["prometheus"]}/alerts
  Alertmanager       http://127.0.0.1:{ports["alertmanager"]}/
  fake Kong (edge)   http://127.0.0.1:{ports["kong_edge"]}/
                     (reports its Admin API on 0.0.0.0:8001 over plain HTTP)
  fake Slack         {slack_url}/__fake__/messages
                     (what the slack_critical channel posted; buttons click back to
                      {bridge_url}/api/v1/slack/interactions, signed with
                      the demo signing secret in examples/demo/bridge.yml)
Waiting for alerts; Ctrl-C stops everything.
""",
            flush=True,
        )
        return watch(processes, bridge_url, api_token, args.exit_after_alert, args.timeout)
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C, or the same SIGTERM passed on by make, must not cut the stop short
        # and leave children running: from here on a signal only kills them at once.
        hurry = functools.partial(_kill_all, processes)
        signal.signal(signal.SIGINT, hurry)
        signal.signal(signal.SIGTERM, hurry)
        print("demo: stopping", flush=True)
        stop_all(processes)


def watch(
    processes: list[ManagedProcess],
    bridge_url: str,
    token: str,
    exit_rule: str | None,
    timeout: float,
) -> int:
    seen: dict[str, str] = {}
    started = time.monotonic()
    while True:
        for process in processes:
            if not process.running:
                print(f"demo: {process.name} exited:\n{process.tail()}", file=sys.stderr)
                return 1
        try:
            alerts = api_get(f"{bridge_url}/api/v1/alerts", token)["alerts"]
        except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
            print(f"demo: bridge API not answering: {exc}", file=sys.stderr)
            alerts = []
        for alert in alerts:
            key = str(alert["id"])
            if seen.get(key) == alert["status"]:
                continue
            seen[key] = alert["status"]
            elapsed = time.monotonic() - started
            labels = alert.get("labels", {})
            title = alert.get("annotations", {}).get("title", alert.get("alertname", ""))
            print(
                f"[{elapsed:5.1f}s] {alert['status'].upper():8} {alert.get('severity', '?'):8} "
                f"{alert.get('rule_id', '?')} asset={labels.get('asset', '?')}: {title}",
                flush=True,
            )
            if exit_rule and alert.get("rule_id") == exit_rule and alert["status"] == "open":
                return 0
        if exit_rule and time.monotonic() - started > timeout:
            print(f"demo: no {exit_rule} alert within {timeout:.0f}s", file=sys.stderr)
            return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
