"""AWS and vulnerability-report rules firing end to end through the exporter's ``/metrics``.

The real exporter wiring (config → runtime → detection with the whole rule pack → HTTP app)
runs against a moto server (EC2), recorded CloudTrail/Config answers and the fixture reports;
the test reads the exposition Prometheus would scrape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import boto3
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.cli import build_runtime
from exporter.config import ExporterConfig
from exporter.detection import DetectionState
from exporter.http import create_app
from tests.exporter.aws.conftest import FakeAwsJson
from tests.exporter.vulns.conftest import KEV, REPORTS
from tests.harness.services import free_port
from tests.harness.wait import wait_until

RULES = Path(__file__).resolve().parents[3] / "rules"
REGION = "sa-east-1"  # moto keeps state per region: a region no other test uses


async def serve_exporter(config: ExporterConfig) -> tuple[web.AppRunner, str]:
    registry = CollectorRegistry()
    detection = DetectionState.from_paths(config.rules.paths)
    registry.register(detection)
    runtime = build_runtime(config, registry, detection)
    runner = web.AppRunner(create_app(runtime=runtime, registry=registry))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/metrics"


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def violations(body: str, rule_id: str) -> list[str]:
    return [
        line
        for line in body.splitlines()
        if line.startswith("secmon_rule_violation{") and f'rule_id="{rule_id}"' in line
    ]


@pytest.fixture
async def exporter_url(
    aws_credentials: None, moto_url: str, fake_aws: tuple[str, FakeAwsJson]
) -> AsyncIterator[str]:
    client = boto3.client("ec2", endpoint_url=moto_url, region_name=REGION)
    vpc = client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = client.create_security_group(GroupName="ssh", Description="ssh", VpcId=vpc)["GroupId"]
    client.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    config = ExporterConfig.model_validate(
        {
            "rules": {"paths": [str(RULES)]},
            "collectors": [
                {
                    "type": "aws",
                    "name": "prod",
                    "regions": [REGION],
                    "interval": 0.5,
                    "timeout": 10,
                    "endpoint_urls": {"ec2": moto_url, "cloudtrail": fake_aws[0],
                                      "config": fake_aws[0]},
                },
                {
                    "type": "vulnerability_reports",
                    "name": "scans",
                    "paths": [str(REPORTS)],
                    "kev_file": str(KEV),
                    "interval": 0.5,
                },
            ],
        }
    )  # fmt: skip
    runner, url = await serve_exporter(config)
    yield url
    await runner.cleanup()


async def test_aws_and_vulnerability_rules_fire_in_the_exposition(exporter_url: str) -> None:
    async def fired() -> str | None:
        body = await scrape(exporter_url)
        wanted = ("aws_sg_world_open_ssh", "aws_config_rule_noncompliant", "cve_detection")
        return body if all(violations(body, rule) for rule in wanted) else None

    body = await wait_until(fired, timeout=30, what="AWS and CVE violations on /metrics")
    [ssh] = violations(body, "aws_sg_world_open_ssh")
    assert 'platform="aws"' in ssh
    assert ssh.endswith(" 1.0")
    cves = violations(body, "cve_detection")
    # Dynamic severity: every band the fixture reports reach appears, none below high.
    assert {line.split('severity="')[1].split('"')[0] for line in cves} <= {"critical", "high"}
    assert any('severity="critical"' in line for line in cves)
    assert violations(body, "vulnerability_known_exploited")
    # Self-metrics for both collectors say they are up.
    for name in ("prod", "scans"):
        assert f'secmon_collector_up{{collector="{name}",' in body
    assert 'secmon_collector_up{collector="prod",type="aws"} 1.0' in body
