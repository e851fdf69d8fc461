"""Webhook throughput benchmark: a real ``secmon-bridge serve`` process under the load generator.

Starts the bridge with a temporary config against a fresh SQLite file or a fresh PostgreSQL
database (created here, dropped afterwards), optionally with Redis (db 14, flushed before and
after), waits for ``/-/ready``, runs :mod:`loadgen` as a separate process (client and server
never share a GIL), samples the bridge's RSS and CPU from ``/proc`` while the load runs, and
finally checks in the database that every distinct alert the bridge acknowledged is stored
exactly once.

Example::

    .venv/bin/python benchmarks/bridge/bench_webhook.py --store sqlite --duration 30
    .venv/bin/python benchmarks/bridge/bench_webhook.py --store postgres --redis --duration 30 \\
        --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

REPO = Path(__file__).resolve().parents[2]
# The load generator runs as a module of this checkout (python -m, from REPO).
LOADGEN_MODULE = "benchmarks.bridge.loadgen"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
# Fixed, public benchmark credentials for a bridge that listens on loopback only.
WEBHOOK_TOKEN = "bench-webhook-token"  # noqa: S105
API_TOKEN = "bench-api-token"  # noqa: S105
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
TABLE_BEGIN = "<!-- bench_webhook:begin -->"
TABLE_END = "<!-- bench_webhook:end -->"
TABLE_HEADER = (
    "| setup | alerts/s | p50 ms | p95 ms | p99 ms | errors | pipeline alerts/s "
    "| backlog at end → final (drain) | stored = acknowledged "
    "| bridge CPU (µs/alert) | loadgen CPU | PG+Redis CPU (µs/alert) | rest of machine CPU "
    "| RSS start → end MiB | command |\n"
    "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---|"
)


@dataclass(slots=True)
class ProcSampler:
    """Samples the summed VmRSS (KiB) of a process and its children on a daemon thread."""

    pid: int
    interval: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 1)
        self.sample()

    def _run(self) -> None:
        started = time.monotonic()
        # Bounded: one sample per interval, at most a day's worth.
        for _ in range(int(86_400 / self.interval)):
            self.sample(time.monotonic() - started)
            if self._stop.wait(self.interval):
                return

    def sample(self, at: float | None = None) -> None:
        rss = tree_rss_kib(self.pid)
        if rss is not None:
            when = at if at is not None else (self.samples[-1][0] if self.samples else 0.0)
            self.samples.append((when, rss))


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included) from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (the bridge's worker processes, if any)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            pids.append(int(entry.name))
    return pids


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in process_tree(pid):
        try:
            total += cpu_seconds(member)
        except OSError:
            continue  # a worker ended while we looked
    return total


def tree_rss_kib(pid: int) -> int | None:
    sizes = [rss for member in process_tree(pid) if (rss := rss_kib(member)) is not None]
    return sum(sizes) if sizes else None


def service_cpu_seconds(names: frozenset[str] = frozenset({"postgres", "redis-server"})) -> float:
    """CPU seconds used so far by every PostgreSQL and Redis process on the machine."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm in names:
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue  # the process ended while we looked
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def wait_for_quiet(limit: float, *, threshold: float = 25.0, window: float = 2.0) -> float:
    """Wait up to ``limit`` s for the machine to be nearly idle; the busy % of one core seen.

    Measurements on a shared 2-core box swing by half with other jobs, so a run can wait for a
    quiet moment; it starts anyway after ``limit`` and reports the background it saw.
    """
    seen = 0.0
    deadline = time.monotonic() + limit
    for _ in range(int(limit / window) + 1):
        busy_start, _total = machine_busy_seconds()
        time.sleep(window)
        busy_end, _total = machine_busy_seconds()
        seen = 100 * (busy_end - busy_start) / window
        if seen < threshold or time.monotonic() >= deadline:
            break
    return seen


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def create_database(name: str) -> str:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return POSTGRES_ADMIN_URL.rpartition("/")[0] + f"/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def flush_redis() -> None:
    client: Redis = Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


COUNT_SQL = (
    "SELECT (SELECT count(*) FROM alert_instances), "
    "(SELECT count(DISTINCT fingerprint) FROM alert_instances), "
    "(SELECT count(*) FROM alert_receipts)"
)


async def count_postgres(url: str) -> tuple[int, int, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(COUNT_SQL)
    finally:
        await connection.close()
    return int(row[0]), int(row[1]), int(row[2])


def count_sqlite(path: Path) -> tuple[int, int, int]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute(COUNT_SQL).fetchone()
    finally:
        connection.close()
    return int(row[0]), int(row[1]), int(row[2])


BACKLOG_SQL = (
    "SELECT (SELECT count(*) FROM pending_receipts), "
    "(SELECT count(*) FROM alert_instances WHERE classified_at IS NULL)"
)
DRAIN_TIMEOUT_S = 300.0


async def backlog_postgres(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(BACKLOG_SQL)
    finally:
        await connection.close()
    return int(row[0]), int(row[1])


def backlog_sqlite(path: Path) -> tuple[int, int]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = connection.execute(BACKLOG_SQL).fetchone()
    finally:
        connection.close()
    return int(row[0]), int(row[1])


def wait_drained(backlog: Callable[[], tuple[int, int]]) -> tuple[int, float, tuple[int, int]]:
    """Poll until the pipeline has processed every stored receipt.

    Returns the backlog when the load ended, the seconds the drain took, and the final
    (unprocessed receipts, unclassified instances): both 0 when the pipeline kept up.
    """
    started = time.monotonic()
    at_end = last = backlog()
    while last[0] and time.monotonic() - started < DRAIN_TIMEOUT_S:
        time.sleep(0.2)
        last = backlog()
    return at_end[0], time.monotonic() - started, last


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bridge exited with {process.returncode}:\n{log.read_text()}")
        try:
            # base is the http://127.0.0.1:PORT this script built.
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"bridge not ready after {READY_TIMEOUT_S}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the bridge and any worker processes it forked; SIGKILL what lingers."""
    workers = process_tree(process.pid)[1:] if process.poll() is None else []
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    if args.profile is None:
        return None
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise SystemExit(f"--profile needs py-spy at {py_spy} (pip install py-spy)")
    # py-spy from our own venv, an argv list, no shell; --nonblocking keeps the bridge's speed.
    return subprocess.Popen(  # noqa: S603
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(args.duration + args.warmup)),
            "--rate",
            "200",
            "--nonblocking",
            "--subprocesses",  # every worker when --workers is more than 1
            "--format",
            "raw",
            "--output",
            str(args.profile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-socket",
        metavar="DIR",
        help="connect the bridge to PostgreSQL over the Unix socket in DIR "
        "(e.g. /var/run/postgresql) instead of 127.0.0.1:5432",
    )
    parser.add_argument("--redis", action="store_true", help=f"use Redis at {REDIS_URL}")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="bridge worker processes (config `workers`; more than one needs postgres and redis)",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--alerts-per-payload", type=int, default=10)
    parser.add_argument("--duplicate-ratio", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=20260105)
    parser.add_argument("--rate", type=float, default=0.0, help="target alerts/s, 0 = max")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    parser.add_argument("--rss-interval", type=float, default=5.0, help="seconds per sample")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be nearly idle (shared boxes)",
    )
    parser.add_argument("--label", help="setup name in the results table")
    parser.add_argument("--markdown", type=Path, help="add/update a row in this file's table")
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="directory holding the bridge package to run (default: this checkout); e.g. a "
        "`git archive` export, to measure a commit while the working tree changes",
    )
    parser.add_argument("--keep-log", type=Path, help="copy the bridge's log here")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="leave the PostgreSQL database in place afterwards (to inspect it; drop it by hand)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="attach py-spy (if installed next to this Python; not a project dependency) "
        "to the bridge during the load and write a flat profile here",
    )
    return parser


def bridge_config(args: argparse.Namespace, port: int, database_url: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "listen": f"127.0.0.1:{port}",
        "database_url": database_url,
        "webhook_token": WEBHOOK_TOKEN,
        "api_token": API_TOKEN,
        "log_level": args.log_level,
    }
    if args.redis:
        config["redis_url"] = REDIS_URL
    if args.workers != 1:  # only then: a --source from before `workers` existed still runs
        config["workers"] = args.workers
    return config


def loadgen_command(args: argparse.Namespace, url: str, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        LOADGEN_MODULE,
        f"--url={url}",
        f"--token={WEBHOOK_TOKEN}",
        f"--duration={args.duration:g}",
        f"--warmup={args.warmup:g}",
        f"--senders={args.senders}",
        f"--alerts-per-payload={args.alerts_per_payload}",
        f"--duplicate-ratio={args.duplicate_ratio:g}",
        f"--seed={args.seed}",
        f"--rate={args.rate:g}",
        f"--json-out={out}",
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    background_before = wait_for_quiet(args.wait_idle)
    with tempfile.TemporaryDirectory(prefix="secmon-bench-") as tmp:
        workdir = Path(tmp)
        db_name = f"secmon_bench_{os.getpid()}"
        sqlite_file = workdir / "bridge.db"
        if args.store == "postgres":
            database_url = asyncio.run(create_database(db_name))
            if args.postgres_socket:
                database_url = f"postgresql://postgres@/{db_name}?host={args.postgres_socket}"
        else:
            database_url = f"sqlite:///{sqlite_file}"
        if args.redis:
            asyncio.run(flush_redis())
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config_file = workdir / "bridge.yaml"
        # JSON is YAML; no dependency on a YAML writer.
        config_file.write_text(json.dumps(bridge_config(args, port, database_url)))
        log = workdir / "bridge.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECMON_BRIDGE_")}
        env["PYTHONPATH"] = str(args.source.resolve())
        command = [sys.executable, "-m", "bridge.cli", "serve", "--config", str(config_file)]
        with log.open("wb") as log_file:
            # Our own interpreter running our own module with an argv list; no shell.
            bridge = subprocess.Popen(  # noqa: S603
                command, cwd=args.source, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        try:
            wait_ready(base, bridge, log)
            sampler = ProcSampler(bridge.pid, args.rss_interval)
            out = workdir / "loadgen.json"
            cpu_start = tree_cpu_seconds(bridge.pid)
            services_start = service_cpu_seconds()
            busy_start, total_start = machine_busy_seconds()
            started = time.monotonic()
            sampler.start()
            profiler = start_profiler(args, bridge.pid)
            # The load generator: our interpreter and script, an argv list, no shell.
            loadgen = subprocess.run(  # noqa: S603
                loadgen_command(args, f"{base}/api/v1/alertmanager", out),
                check=False,
                cwd=REPO,
                timeout=args.duration + args.warmup + 120,
            )
            wall = time.monotonic() - started
            # The webhook answers before the pipeline runs: "sustained" means the pipeline
            # also kept up, so wait for its backlog to drain and count that time and CPU too.
            if args.store == "postgres":
                backlog_at_end, drain_s, final_backlog = wait_drained(
                    lambda: asyncio.run(backlog_postgres(database_url))
                )
            else:
                backlog_at_end, drain_s, final_backlog = wait_drained(
                    lambda: backlog_sqlite(sqlite_file)
                )
            stage_ms = stage_means_ms(base)
            turn_ms = stage_means_ms(base, "secmon_bridge_pipeline_turn_wait_seconds")
            bridge_cpu = tree_cpu_seconds(bridge.pid) - cpu_start
            services_cpu = service_cpu_seconds() - services_start
            busy_end, total_end = machine_busy_seconds()
            sampler.stop()
            if profiler is not None:
                profiler.wait(timeout=60)
            if not out.exists():
                raise SystemExit(f"load generator failed (exit {loadgen.returncode})")
            result: dict[str, Any] = json.loads(out.read_text())
        finally:
            stop(bridge)
            if args.keep_log is not None:
                args.keep_log.write_bytes(log.read_bytes())
        try:
            if args.store == "postgres":
                counts = asyncio.run(count_postgres(database_url))
            else:
                counts = count_sqlite(sqlite_file)
        finally:
            if args.store == "postgres" and not args.keep_database:
                asyncio.run(drop_database(db_name))
            elif args.store == "postgres":
                print(f"kept database {db_name}", file=sys.stderr)
            if args.redis:
                asyncio.run(flush_redis())  # the dedupe keys would linger for their window
    instances, fingerprints, receipts = counts
    acknowledged = result["distinct_alerts_acknowledged"]
    unanswered = result["distinct_alerts_unanswered"]
    result.update(
        pipeline_backlog_at_load_end=backlog_at_end,
        pipeline_drain_s=drain_s,
        pipeline_final_backlog=final_backlog[0],
        pipeline_unclassified=final_backlog[1],
        pipeline_stage_ms_per_pass=stage_ms,
        pipeline_turn_wait_ms_per_pass=turn_ms,
        # Every new receipt is one unit of pipeline work; the window runs from the start of
        # the load (warm-up included) until the last one was processed.
        pipeline_alerts_per_s=receipts / (wall + drain_s),
        stored_instances=instances,
        stored_distinct_fingerprints=fingerprints,
        stored_receipts=receipts,
        # Nothing lost: every acknowledged alert stored. Nothing doubled: one row per alert.
        # Alerts whose request got no answer may legitimately be stored or not.
        verified=instances == fingerprints == receipts
        and acknowledged <= instances <= acknowledged + unanswered
        and final_backlog == (0, 0),
        bridge_cpu_percent_of_one_core=100 * bridge_cpu / wall,
        services_cpu_percent_of_one_core=100 * services_cpu / wall,
        bridge_cpu_us_per_alert=_per_alert(bridge_cpu, result),
        services_cpu_us_per_alert=_per_alert(services_cpu, result),
        machine_busy_percent=100 * (busy_end - busy_start) / (total_end - total_start),
        # CPU the rest of the machine (other jobs) used meanwhile; the figures above are only
        # comparable between runs with similar background load.
        background_cpu_percent_of_one_core=max(
            0.0,
            100 * (busy_end - busy_start) / wall
            - 100 * (bridge_cpu + services_cpu) / wall
            - result["loadgen_cpu_percent_of_one_core"],
        ),
        background_before_percent_of_one_core=background_before,
        nproc=os.cpu_count(),
        rss_kib=sampler.samples,
        setup=args.label or default_label(args),
    )
    return result


def stage_means_ms(
    base: str, family_name: str = "secmon_bridge_pipeline_stage_duration_seconds"
) -> dict[str, float]:
    """Mean time per worker pass of each pipeline stage (or of the wait for its turn, with
    ``secmon_bridge_pipeline_turn_wait_seconds``), from the bridge's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != family_name:
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "")
            if sample.name.endswith("_sum"):
                sums[stage] = sample.value
            elif sample.name.endswith("_count"):
                counts[stage] = sample.value
    return {
        stage: round(1000 * sums[stage] / counts[stage], 2) for stage in sums if counts.get(stage)
    }


def _per_alert(cpu: float, result: dict[str, Any]) -> float:
    """CPU microseconds per alert answered (2xx), over the whole run: warm-up and drain too."""
    answered = result["statuses"].get("200", 0) * result["alerts_per_payload"]
    return 1e6 * cpu / answered if answered else float("nan")


def default_label(args: argparse.Namespace) -> str:
    parts = ["PostgreSQL" if args.store == "postgres" else "SQLite"]
    if args.postgres_socket:
        parts[0] += " (Unix socket)"
    if args.redis:
        parts.append("Redis")
    label = " + ".join(parts)
    if args.workers != 1:
        label += f", {args.workers} workers"
    label += f", {args.duration:g} s"
    if args.rate:
        label += f", rate {args.rate:g}/s"
    return label


def result_line(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    rss = result["rss_kib"]
    return (
        f"{result['setup']}: {result['alerts_per_s']:,.0f} alerts/s, "
        f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, p99 {latency['p99']:.1f} ms, "
        f"errors {result['errors']} {result['statuses']}, "
        f"pipeline {result['pipeline_alerts_per_s']:,.0f} alerts/s "
        f"(backlog {result['pipeline_backlog_at_load_end']} at load end, drained in "
        f"{result['pipeline_drain_s']:.1f} s, final {result['pipeline_final_backlog']}, "
        f"unclassified {result['pipeline_unclassified']}), "
        f"stored {result['stored_instances']} / acknowledged "
        f"{result['distinct_alerts_acknowledged']} ({'OK' if result['verified'] else 'MISMATCH'}), "
        f"bridge CPU {result['bridge_cpu_percent_of_one_core']:.0f}% "
        f"({result['bridge_cpu_us_per_alert']:.0f} us/alert), "
        f"loadgen CPU {result['loadgen_cpu_percent_of_one_core']:.0f}%, "
        f"PostgreSQL+Redis CPU {result['services_cpu_percent_of_one_core']:.0f}% "
        f"({result['services_cpu_us_per_alert']:.0f} us/alert) (of one core), "
        f"machine busy {result['machine_busy_percent']:.0f}% of {result['nproc']} cores "
        f"(background {result['background_cpu_percent_of_one_core']:.0f}% of one core), "
        f"RSS {rss[0][1] / 1024:.1f} -> {rss[-1][1] / 1024:.1f} MiB"
    )


def table_row(result: dict[str, Any], command: str) -> str:
    latency = result["latency_ms"]
    rss = result["rss_kib"]
    return (
        f"| {result['setup']} | {result['alerts_per_s']:,.0f} | {latency['p50']:.1f} "
        f"| {latency['p95']:.1f} | {latency['p99']:.1f} | {result['errors']} "
        f"| {result['pipeline_alerts_per_s']:,.0f} | {result['pipeline_backlog_at_load_end']} "
        f"→ {result['pipeline_final_backlog']} ({result['pipeline_drain_s']:.1f} s) "
        f"| {result['stored_instances']} = {result['distinct_alerts_acknowledged']} "
        f"{'✓' if result['verified'] else '✗'} "
        f"| {result['bridge_cpu_percent_of_one_core']:.0f}% "
        f"({result['bridge_cpu_us_per_alert']:.0f}) "
        f"| {result['loadgen_cpu_percent_of_one_core']:.0f}% "
        f"| {result['services_cpu_percent_of_one_core']:.0f}% "
        f"({result['services_cpu_us_per_alert']:.0f}) "
        f"| {result['background_cpu_percent_of_one_core']:.0f}% "
        f"| {rss[0][1] / 1024:.0f} → {rss[-1][1] / 1024:.0f} | `{command}` |"
    )


def update_markdown(path: Path, result: dict[str, Any], command: str) -> None:
    """Replace the row for this setup in the marked table (creating the table if needed)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    row = table_row(result, command)
    if TABLE_BEGIN not in text or TABLE_END not in text:
        text = text.rstrip("\n") + f"\n\n{TABLE_BEGIN}\n{TABLE_HEADER}\n{row}\n{TABLE_END}\n"
        path.write_text(text.lstrip("\n"), encoding="utf-8")
        return
    head, _, rest = text.partition(TABLE_BEGIN)
    table, _, tail = rest.partition(TABLE_END)
    rows = [
        line
        for line in table.strip("\n").splitlines()[2:]
        if not line.startswith(f"| {result['setup']} |")
    ]
    rows.append(row)
    body = "\n".join([TABLE_HEADER, *rows])
    path.write_text(f"{head}{TABLE_BEGIN}\n{body}\n{TABLE_END}{tail}", encoding="utf-8")


def _without_markdown(argv: list[str]) -> list[str]:
    """The command line minus ``--markdown FILE``: where results go is not part of the setup."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--markdown":
            skip = True
        elif not arg.startswith("--markdown="):
            kept.append(arg)
    return kept


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    shown = ["benchmarks/bridge/bench_webhook.py", *(argv if argv is not None else sys.argv[1:])]
    command = shlex.join(_without_markdown(shown))
    print(f"$ {command}", file=sys.stderr)
    result = run(args)
    print(json.dumps({k: v for k, v in result.items() if k != "rss_kib"}, indent=2))
    print(
        "RSS samples (s, MiB): "
        + ", ".join(f"{t:.0f}:{k / 1024:.1f}" for t, k in result["rss_kib"])
    )
    print(result_line(result))
    print(f"command: {command}")
    if args.markdown is not None:
        update_markdown(args.markdown, result, command)
    return 0 if result["verified"] and result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
