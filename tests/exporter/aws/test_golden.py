"""Byte-for-byte exposition of the AWS families from recorded responses, against a golden file.

The recorded answers (``tests/fixtures/aws``) are replayed below the boto3 layer, in the shape
boto3 returns them (``EventTime`` as a datetime); the protocol itself is covered by the moto and
recorded-server tests. Regenerate with ``SECMON_UPDATE_GOLDEN=1 pytest tests/exporter/aws``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.aws import AwsCollector, AwsConfig
from exporter.collectors.aws_api import AwsApi
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.aws.conftest import NOW, event_time, fixture

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "aws_recorded.prom"
_OPERATIONS = {
    "describe_security_groups": ("DescribeSecurityGroups", "ec2_describe_security_groups.json"),
    "describe_compliance_by_config_rule": (
        "DescribeComplianceByConfigRule",
        "config_describe_compliance_by_config_rule.json",
    ),
    "describe_config_rules": ("DescribeConfigRules", "config_describe_config_rules.json"),
}


class RecordedApi(AwsApi):
    """Answers every call from the recordings, counting calls like the real one."""

    def __init__(self) -> None:
        self.calls = Counter()

    async def call(
        self, region: str, service: str, operation: str, params: dict[str, Any]
    ) -> Mapping[str, Any]:
        if operation == "lookup_events":
            self.calls[(region, "LookupEvents", "ok")] += 1
            [attribute] = params["LookupAttributes"]
            key = "ReadOnly" if attribute["AttributeKey"] == "ReadOnly" else "Username"
            events = [
                {**e, "EventTime": datetime.fromtimestamp(event_time(e), UTC)}
                for e in fixture("cloudtrail_lookup_events.json")
                if e[key] == attribute["AttributeValue"]
            ]
            return {"Events": events}
        name, path = _OPERATIONS[operation]
        self.calls[(region, name, "ok")] += 1
        answer: Mapping[str, Any] = fixture(path)
        return answer

    def close(self) -> None:
        pass


async def test_aws_families_match_golden_file() -> None:
    config = AwsConfig.model_validate(
        {"type": "aws", "name": "prod", "regions": ["eu-west-1", "us-east-1"]}
    )
    collector = AwsCollector(config, clock=lambda: NOW, api=RecordedApi())
    state = CollectorState(Scheduled(collector, "aws", timeout=5))
    state.snapshot = await collector.poll()
    registry = CollectorRegistry()
    registry.register(SnapshotMetrics([state]))
    rendered = generate_latest(registry).decode()
    if os.environ.get("SECMON_UPDATE_GOLDEN"):
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text()
