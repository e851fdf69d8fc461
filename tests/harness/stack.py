"""Start the real secmon stack as child processes: Prometheus, Alertmanager, exporter, bridge.

Used by the end-to-end tests and by ``make run``. Prometheus and Alertmanager configs are
rendered from the files that ship in ``prometheus/`` with local addresses and short intervals,
so the configuration under test is the configuration users deploy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "prometheus"
ALERTMANAGER_BINARIES = ("alertmanager", "prometheus-alertmanager")


def find_binary(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class ManagedProcess:
    """A child process whose output goes to a log file that tests print when they fail."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = REPO
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C in `make run` reaches us, and we stop children
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def render_prometheus_config(
    *,
    exporter: str,
    bridge: str,
    alertmanager: str,
    rule_files: Sequence[Path],
    interval: str = "1s",
) -> dict[str, Any]:
    """``prometheus/prometheus.yml`` with local targets, the given rule files and intervals."""
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(path) for path in rule_files]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    targets = {"secmon-exporter": exporter, "secmon-bridge": bridge, "alertmanager": alertmanager}
    jobs = []
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def render_alertmanager_config(
    *,
    webhook_url: str,
    token_file: Path,
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
) -> dict[str, Any]:
    """``prometheus/alertmanager.yml`` pointed at a local bridge, with short grouping timers."""
    config = load_yaml(PROMETHEUS_DIR / "alertmanager.yml")
    route = config["route"]
    route.update(
        group_wait=group_wait, group_interval=group_interval, repeat_interval=repeat_interval
    )
    (receiver,) = (r for r in config["receivers"] if r["name"] == route["receiver"])
    webhook = receiver["webhook_configs"][0]
    webhook["url"] = webhook_url
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


def detection_rule_files() -> list[Path]:
    return sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))


def write_yaml(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False))
    return path


def prometheus_process(binary: str, workdir: Path, port: int, config: Path) -> ManagedProcess:
    return ManagedProcess(
        name="prometheus",
        argv=[
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        log_path=workdir / "prometheus.log",
    )


def alertmanager_process(binary: str, workdir: Path, port: int, config: Path) -> ManagedProcess:
    return ManagedProcess(
        name="alertmanager",
        argv=[
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # An empty cluster address runs a single, non-gossiping instance (no port 9094).
            "--cluster.listen-address=",
        ],
        log_path=workdir / "alertmanager.log",
    )


def exporter_process(
    workdir: Path, port: int, config: Path, env: Mapping[str, str] | None = None
) -> ManagedProcess:
    return ManagedProcess(
        name="exporter",
        argv=[sys.executable, "-m", "exporter.cli", "serve", "--config", str(config)],
        log_path=workdir / "exporter.log",
        env={"SECMON_EXPORTER_LISTEN": f"127.0.0.1:{port}", **(env or {})},
    )


def bridge_process(
    workdir: Path, port: int, config: Path, env: Mapping[str, str] | None = None
) -> ManagedProcess:
    return ManagedProcess(
        name="bridge",
        argv=[sys.executable, "-m", "bridge.cli", "serve", "--config", str(config)],
        log_path=workdir / "bridge.log",
        env={"SECMON_BRIDGE_LISTEN": f"127.0.0.1:{port}", **(env or {})},
    )


def stop_all(processes: Sequence[ManagedProcess]) -> None:
    for process in reversed(processes):
        process.stop()


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    """Block until ``url`` answers 200 (for synchronous start-up in ``make run``)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s")
        time.sleep(0.2)
