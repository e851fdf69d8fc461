"""Exporter at scale: `/metrics` render time and memory with a large estate loaded.

Loads 200 Kong services with 2,000 plugins (fake Kong Admin API), 1,000 GitHub repositories
(fake GitHub REST API) and 5,000 EC2 security groups (a real moto server), starts a real
`secmon-exporter serve` process with all three collectors and the whole rule pack, waits until
every collector has polled once, then times sequential scrapes of `/metrics` and reads the
process's resident memory from /proc. Targets (issue 5): render under 250 ms, RSS under 300 MB.
``--openmetrics`` scrapes with Prometheus's own ``Accept`` header (OpenMetrics) instead of the
default text format.

    python benchmarks/exporter/bench_metrics.py [--scrapes 30] [--openmetrics] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import boto3
from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from exporter.fakes import github as fake_github  # noqa: E402
from exporter.fakes import kong as fake_kong  # noqa: E402
from tests.harness.services import free_port  # noqa: E402
from tests.harness.stack import ManagedProcess, exporter_process, write_yaml  # noqa: E402

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",  # moto accepts any credentials
    "AWS_DEFAULT_REGION": "us-east-1",
}
# What Prometheus 2.42 sends: OpenMetrics first.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
WORKFLOW = """on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
"""


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB from /proc/PID/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def load_security_groups(endpoint: str, count: int) -> None:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]

    def create(i: int) -> None:
        group = ec2.create_security_group(GroupName=f"bench-{i}", Description="bench", VpcId=vpc)[
            "GroupId"
        ]
        cidr = "0.0.0.0/0" if i % 10 == 0 else "10.0.0.0/8"  # one in ten world-open
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}
            ],
        )

    # One at a time: moto's server iterates its group dict unlocked, so concurrent creates race.
    for i in range(count):
        create(i)


def github_estate(repos: int) -> fake_github.FakeGitHub:
    fake = fake_github.FakeGitHub(token="bench-token", rate_limit=10**9)  # noqa: S106 - fake
    for i in range(repos):
        repo = fake.add_repo("acme", f"repo-{i:04d}")
        if i % 5 == 0:
            repo.workflows["ci.yml"] = WORKFLOW
            repo.default_workflow_permissions = "write"
        if i % 7 == 0:
            repo.protection = None
    return fake


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def all_polled(session: aiohttp.ClientSession, url: str, names: list[str]) -> bool:
    async with session.get(url) as response:
        text = await response.text()
    done = {
        line.split('collector="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("secmon_collector_last_success_timestamp_seconds{")
        and not line.rstrip().endswith(" 0.0")
    }
    return set(names) <= done


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="secmon-bench-exporter-"))
    moto_port, kong_port, github_port, exporter_port = (free_port() for _ in range(4))
    processes: list[ManagedProcess] = []
    runners: list[web.AppRunner] = []
    try:
        moto = ManagedProcess(
            name="moto",
            argv=[str(Path(sys.executable).parent / "moto_server"), "-p", str(moto_port)],
            log_path=work / "moto.log",
        ).start()
        processes.append(moto)
        endpoint = f"http://127.0.0.1:{moto_port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"{endpoint}/moto-api/") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        os.environ.update(AWS_ENV)
        started = time.perf_counter()
        await asyncio.to_thread(load_security_groups, endpoint, args.security_groups)
        print(
            f"moto: {args.security_groups} security groups in {time.perf_counter() - started:.0f}s"
        )

        kong_state = fake_kong.scenario("insecure")
        runners.append(await serve(fake_kong.create_app(kong_state), kong_port))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{kong_port}/__fake__/generate",
                json={"services": args.kong_services, "plugins_per_service": 10},
            ) as response,
        ):
            response.raise_for_status()
        runners.append(await serve(fake_github.create_app(github_estate(args.repos)), github_port))

        config = write_yaml(
            work / "exporter.yml",
            {
                "rules": {"paths": [str(REPO / "rules")]},
                "collectors": [
                    {"type": "kong", "name": "edge", "interval": 3600, "timeout": 60,
                     "admin_url": f"http://127.0.0.1:{kong_port}"},
                    {"type": "github", "name": "acme", "interval": 3600, "timeout": 60,
                     "base_url": f"http://127.0.0.1:{github_port}", "token": "bench-token",
                     "organizations": ["acme"], "concurrency": 8},
                    {"type": "aws", "name": "prod", "interval": 3600, "timeout": 300,
                     "regions": ["us-east-1"], "endpoint_url": endpoint,
                     "cloudtrail": False, "config_rules": False},
                ],
            },
        )  # fmt: skip
        exporter = exporter_process(work, exporter_port, config, env=AWS_ENV).start()
        processes.append(exporter)
        assert exporter.proc is not None
        metrics_url = f"http://127.0.0.1:{exporter_port}/metrics"
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            while True:
                if not exporter.running:
                    raise RuntimeError(f"exporter exited:\n{exporter.tail()}")
                try:
                    if await all_polled(session, metrics_url, ["edge", "acme", "prod"]):
                        break
                except aiohttp.ClientError:
                    pass
                if time.perf_counter() - started > args.timeout:
                    raise TimeoutError(f"collectors did not finish:\n{exporter.tail()}")
                await asyncio.sleep(1)
            first_poll = time.perf_counter() - started
            durations, size = [], 0
            headers = {"Accept": PROMETHEUS_ACCEPT} if args.openmetrics else {}
            for _ in range(args.scrapes):
                begin = time.perf_counter()
                async with session.get(metrics_url, headers=headers) as response:
                    body = await response.read()
                durations.append(time.perf_counter() - begin)
                size = len(body)
        series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
        rss, peak = rss_mb(exporter.proc.pid)
        return {
            "first_poll_s": first_poll,
            "median_ms": statistics.median(durations) * 1000,
            "p95_ms": sorted(durations)[int(0.95 * (len(durations) - 1))] * 1000,
            "max_ms": max(durations) * 1000,
            "bytes": size,
            "series": series,
            "rss_mb": rss,
            "peak_mb": peak,
        }
    finally:
        for runner in runners:
            await runner.cleanup()
        for process in reversed(processes):
            process.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kong-services", type=int, default=200)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--security-groups", type=int, default=5000)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--openmetrics", action="store_true", help="scrape as Prometheus does")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(
        f"estate: {args.kong_services} Kong services / {args.kong_services * 10} plugins, "
        f"{args.repos} GitHub repositories, {args.security_groups} security groups\n"
        f"first complete poll: {result['first_poll_s']:.1f}s\n"
        f"/metrics ({'OpenMetrics' if args.openmetrics else 'text 0.0.4'}): "
        f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms over {args.scrapes} scrapes "
        f"({result['series']:,} series, {result['bytes'] / 1024:.0f} KiB)\n"
        f"exporter RSS: {result['rss_mb']:.0f} MB (peak {result['peak_mb']:.0f} MB)"
    )
    if args.markdown:
        args.markdown.write_text(
            "| measurement | result | target |\n|---|---|---|\n"
            f"| `/metrics` render, median / p95 / max | {result['median_ms']:.1f} / "
            f"{result['p95_ms']:.1f} / {result['max_ms']:.1f} ms | < 250 ms |\n"
            f"| series, body size | {result['series']:,}, {result['bytes'] / 1024:.0f} KiB | |\n"
            f"| exporter RSS (peak) | {result['rss_mb']:.0f} MB ({result['peak_mb']:.0f} MB) "
            "| < 300 MB |\n"
            f"| first complete poll of the whole estate | {result['first_poll_s']:.1f} s | |\n"
        )
    ok = result["median_ms"] < 250 and result["peak_mb"] < 300
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
