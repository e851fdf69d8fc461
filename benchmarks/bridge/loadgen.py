"""Load generator for the bridge's Alertmanager webhook: v4 payloads from concurrent senders.

Each sender (one keep-alive connection, :mod:`benchmarks.bridge.httpclient`) posts, waits for
the answer and posts again (closed loop), or, with ``--rate``, follows a fixed global schedule
(open loop) so latency can be read at a given load. One seeded
payload mix feeds all senders: a fraction ``--duplicate-ratio`` of payloads re-send a recent
group, half of them byte-identical (a repeat flush) and half from the "other" HA replica
(another ``externalURL``, so another body), exactly what Alertmanager clusters deliver.

The result is one JSON object (``--json-out`` or stdout): alerts/s in the measured window,
latency percentiles, errors by status, the distinct alerts the bridge acknowledged (for the
runner's nothing-lost, nothing-doubled check) and this process's own CPU use.

Only loopback URLs are accepted: this is a benchmark, not a traffic cannon.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import sys
import time
from array import array
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.bridge.httpclient import HttpClient, ProtocolError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Re-sends pick among the most recent groups, as Alertmanager re-sends the groups it holds.
RECENT_GROUPS = 256
BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
# Labels a compiled secmon rule attaches (design card, "Contracts").
RULES = (
    ("kong_http_admin_api", "KongHttpAdminApi", "critical", "exposure", "kong"),
    ("github_branch_protection_off", "GithubBranchProtectionOff", "high", "change", "github"),
    ("aws_sg_open_ingress", "AwsSecurityGroupOpenIngress", "high", "exposure", "aws"),
    ("k8s_privileged_pod", "KubernetesPrivilegedPod", "medium", "posture", "kubernetes"),
    ("netlify_env_changed", "NetlifyEnvChanged", "low", "change", "netlify"),
    ("cve_critical_open", "CriticalCveOpen", "critical", "vulnerability", "internal"),
)
ENVIRONMENTS = ("production", "staging", "development")
EXTERNAL_URLS = ("http://alertmanager-0:9093", "http://alertmanager-1:9093")
MAX_ERRORS_KEPT = 5


@dataclass(slots=True)
class Group:
    """One Alertmanager group: its id, the alerts' JSON objects and its first body."""

    group_id: int
    alerts: list[dict[str, Any]]
    body: bytes


@dataclass(slots=True)
class PayloadMix:
    """The seeded sequence of payloads all senders draw from, in order."""

    alerts_per_payload: int
    duplicate_ratio: float
    seed: int
    _rng: random.Random = field(init=False)
    _recent: deque[Group] = field(init=False)
    groups_created: int = 0

    def __post_init__(self) -> None:
        # Reproducible benchmark input, not security: a seeded PRNG is what we want.
        self._rng = random.Random(self.seed)  # noqa: S311
        self._recent = deque(maxlen=RECENT_GROUPS)

    def next(self) -> tuple[int, bytes, bool]:
        """(group id, body, is this a re-send)."""
        if self._recent and self._rng.random() < self.duplicate_ratio:
            group = self._rng.choice(self._recent)
            if self._rng.random() < 0.5:
                return group.group_id, group.body, True
            return group.group_id, _body(group.group_id, group.alerts, EXTERNAL_URLS[1]), True
        group = self._new_group()
        self._recent.append(group)
        return group.group_id, group.body, False

    def _new_group(self) -> Group:
        group_id = self.groups_created
        self.groups_created += 1
        rule_id, alertname, severity, category, platform = self._rng.choice(RULES)
        environment = self._rng.choice(ENVIRONMENTS)
        starts_at = (
            (BASE_TIME + timedelta(milliseconds=group_id)).isoformat().replace("+00:00", "Z")
        )
        alerts = []
        for index in range(self.alerts_per_payload):
            asset = f"{platform}-asset-{self._rng.randrange(10_000):04d}"
            fingerprint = f"{self.seed:04x}{group_id:010x}{index:04x}"
            alerts.append(
                {
                    "status": "firing",
                    "labels": {
                        "alertname": alertname,
                        "rule_id": rule_id,
                        "severity": severity,
                        "category": category,
                        "platform": platform,
                        "asset": asset,
                        "environment": environment,
                        "channels": "slack,pagerduty",
                        "escalation": "default",
                    },
                    "annotations": {
                        "title": f"{alertname} on {asset}",
                        "message": f"{alertname} fired for {asset} in {environment}.",
                        "remediation": "See the runbook.",
                        "runbook_url": f"https://runbooks.example.com/{rule_id}",
                    },
                    "startsAt": starts_at,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus-0:9090/graph?g0.expr=secmon",
                    "fingerprint": fingerprint,
                }
            )
        return Group(group_id, alerts, _body(group_id, alerts, EXTERNAL_URLS[0]))


def _body(group_id: int, alerts: list[dict[str, Any]], external_url: str) -> bytes:
    common = alerts[0]["labels"]
    payload = {
        "version": "4",
        "groupKey": f'{{}}:{{group="{group_id}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "secmon-bridge",
        "groupLabels": {"group": str(group_id)},
        "commonLabels": {"rule_id": common["rule_id"], "severity": common["severity"]},
        "commonAnnotations": {},
        "externalURL": external_url,
        "alerts": alerts,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass(slots=True)
class Tally:
    """What the senders observed; latencies only for requests started after the warm-up."""

    measure_from: float
    latencies: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[str] = field(default_factory=Counter)
    measured_alerts: int = 0
    measured_requests: int = 0
    acknowledged_groups: set[int] = field(default_factory=set)
    # Groups whose request failed without an answer: they may or may not be stored.
    unanswered_groups: set[int] = field(default_factory=set)
    sent_groups: set[int] = field(default_factory=set)
    error_samples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Options:
    url: str
    token: str
    duration: float
    warmup: float
    senders: int
    alerts_per_payload: int
    duplicate_ratio: float
    seed: int
    rate: float
    timeout: float


# What a request can end in without an answer: it may or may not have been stored.
_FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError,
             TimeoutError, ValueError)  # fmt: skip


async def _sender(
    options: Options,
    mix: PayloadMix,
    tally: Tally,
    schedule: list[float],
    deadline: float,
) -> None:
    headers = {"Authorization": f"Bearer {options.token}", "Content-Type": "application/json"}
    with contextlib.closing(HttpClient(options.url, headers)) as client:
        interval = options.alerts_per_payload / options.rate if options.rate > 0 else 0.0
        # Bounded in time (deadline) and, as a backstop, in count.
        for _ in range(100_000_000):
            if interval:
                slot = schedule[0]
                schedule[0] = slot + interval
                delay = slot - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            started = time.perf_counter()
            if started >= deadline:
                return
            group_id, body, _resend = mix.next()
            tally.sent_groups.add(group_id)
            try:
                async with asyncio.timeout(options.timeout):
                    code, _answer = await client.post(body)
                status = str(code)
            except _FAILURES as exc:
                status = type(exc).__name__
                tally.unanswered_groups.add(group_id)
                if len(tally.error_samples) < MAX_ERRORS_KEPT:
                    tally.error_samples.append(f"{status}: {exc}")
            finished = time.perf_counter()
            if status.startswith("2"):
                tally.acknowledged_groups.add(group_id)
            tally.statuses[status] += 1
            if started >= tally.measure_from:
                tally.latencies.append(finished - started)
                tally.measured_requests += 1
                if status.startswith("2"):
                    tally.measured_alerts += options.alerts_per_payload


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


async def run(options: Options) -> dict[str, Any]:
    mix = PayloadMix(options.alerts_per_payload, options.duplicate_ratio, options.seed)
    usage_start = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    measure_from = start + options.warmup
    deadline = measure_from + options.duration
    tally = Tally(measure_from=measure_from)
    schedule = [start]
    await asyncio.gather(
        *(_sender(options, mix, tally, schedule, deadline) for _ in range(options.senders))
    )
    wall = time.perf_counter() - start
    usage_end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage_end.ru_utime - usage_start.ru_utime) + (usage_end.ru_stime - usage_start.ru_stime)
    ordered = sorted(tally.latencies)
    window = options.duration
    return {
        "url": options.url,
        "senders": options.senders,
        "alerts_per_payload": options.alerts_per_payload,
        "duplicate_ratio": options.duplicate_ratio,
        "seed": options.seed,
        "rate_target": options.rate,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "requests": sum(tally.statuses.values()),
        "measured_requests": tally.measured_requests,
        "alerts_per_s": tally.measured_alerts / window,
        "payloads_per_s": tally.measured_requests / window,
        "latency_ms": {
            "p50": _percentile(ordered, 0.50) * 1000,
            "p95": _percentile(ordered, 0.95) * 1000,
            "p99": _percentile(ordered, 0.99) * 1000,
            "max": (ordered[-1] if ordered else float("nan")) * 1000,
        },
        "statuses": dict(sorted(tally.statuses.items())),
        "errors": sum(n for s, n in tally.statuses.items() if not s.startswith("2")),
        "error_samples": tally.error_samples,
        "groups_sent": len(tally.sent_groups),
        "distinct_alerts_sent": len(tally.sent_groups) * options.alerts_per_payload,
        "distinct_alerts_acknowledged": len(tally.acknowledged_groups) * options.alerts_per_payload,
        "distinct_alerts_unanswered": len(tally.unanswered_groups - tally.acknowledged_groups)
        * options.alerts_per_payload,
        "loadgen_cpu_s": cpu,
        "loadgen_cpu_percent_of_one_core": 100 * cpu / wall,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:9189/api/v1/alertmanager")
    parser.add_argument("--token", required=True, help="webhook bearer token")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--alerts-per-payload", type=int, default=10)
    parser.add_argument("--duplicate-ratio", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=20260105)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="target alerts/s (0: as fast as answered)"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request seconds")
    parser.add_argument("--json-out", type=Path, help="write the result JSON here")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    host = urlsplit(args.url).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"--url must point at a loopback address, not {host!r}")
    bounds = (
        (0 < args.duration <= 3600, "--duration must be in (0, 3600]"),
        (0 <= args.warmup <= 60, "--warmup must be in [0, 60]"),
        (1 <= args.senders <= 256, "--senders must be in [1, 256]"),
        (1 <= args.alerts_per_payload <= 1000, "--alerts-per-payload must be in [1, 1000]"),
        (0 <= args.duplicate_ratio < 1, "--duplicate-ratio must be in [0, 1)"),
        (args.rate >= 0, "--rate must be >= 0"),
    )
    for ok, message in bounds:
        if not ok:
            raise SystemExit(message)
    return Options(
        url=args.url,
        token=args.token,
        duration=args.duration,
        warmup=args.warmup,
        senders=args.senders,
        alerts_per_payload=args.alerts_per_payload,
        duplicate_ratio=args.duplicate_ratio,
        seed=args.seed,
        rate=args.rate,
        timeout=args.timeout,
    )


def summary(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    return (
        f"{result['alerts_per_s']:,.0f} alerts/s ({result['payloads_per_s']:,.0f} payloads/s), "
        f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, "
        f"p99 {latency['p99']:.1f} ms, errors {result['errors']} {result['statuses']}, "
        f"loadgen CPU {result['loadgen_cpu_percent_of_one_core']:.0f}% of one core"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = options_from(args)
    result = asyncio.run(run(options))
    text = json.dumps(result, indent=2)
    if args.json_out is not None:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    print(summary(result), file=sys.stderr)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
