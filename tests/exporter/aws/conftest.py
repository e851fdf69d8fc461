"""A real ``moto_server`` for EC2, and a recorded-response server for CloudTrail and Config.

moto has no CloudTrail ``LookupEvents`` history nor Config compliance results, so those two
come from :class:`FakeAwsJson`: an aiohttp server speaking the AWS JSON 1.1 protocol
(``POST /`` with ``X-Amz-Target``), answering from the recorded responses in
``tests/fixtures/aws``. boto3 is pointed at both with per-service ``endpoint_urls``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from exporter.collectors.aws import AwsConfig
from tests.harness.services import free_port, require_binary, tcp_open
from tests.harness.stack import ManagedProcess

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "aws"
ACCESS_KEY_ID = "AKIASECMONTEST000001"
SECRET_KEY = "secmon/test+secret-key-never-in-logs-0123456789"
# The fixtures' events happen 10:05-10:15 UTC; the collector's clock says 10:30.
NOW = datetime.fromisoformat("2024-05-14T10:30:00+00:00").timestamp()
_TARGETS = {
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents": "lookup_events",
    "StarlingDoveService.DescribeComplianceByConfigRule": "describe_compliance",
    "StarlingDoveService.DescribeConfigRules": "describe_config_rules",
}
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def event_time(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["EventTime"].replace("Z", "+00:00")).timestamp()


@dataclass
class FakeAwsJson:
    """Recorded CloudTrail/Config answers; scripts throttling; logs every request."""

    events: list[dict[str, Any]] = field(
        default_factory=lambda: fixture("cloudtrail_lookup_events.json")
    )
    compliance: dict[str, Any] = field(
        default_factory=lambda: fixture("config_describe_compliance_by_config_rule.json")
    )
    rules: dict[str, Any] = field(
        default_factory=lambda: fixture("config_describe_config_rules.json")
    )
    throttle: int = 0
    page_size: int = 50
    requests: list[tuple[str, str, float, dict[str, Any]]] = field(default_factory=list)

    def lookups(self, region: str) -> list[float]:
        return [t for op, r, t, _ in self.requests if op == "lookup_events" and r == region]

    async def handle(self, request: web.Request) -> web.Response:
        operation = _TARGETS.get(request.headers.get("X-Amz-Target", ""))
        match = _REGION.search(request.headers.get("Authorization", ""))
        region = match.group(1) if match else "?"
        body = await request.json()
        self.requests.append((operation or "?", region, time.monotonic(), body))
        if operation is None:
            return self._error(400, "UnknownOperationException", "unknown target")
        if operation == "lookup_events" and self.throttle > 0:
            self.throttle -= 1
            return self._error(400, "ThrottlingException", "Rate exceeded")
        if operation == "describe_compliance":
            return self._json(self.compliance)
        if operation == "describe_config_rules":
            wanted = set(body.get("ConfigRuleNames") or ())
            rules = [r for r in self.rules["ConfigRules"] if r["ConfigRuleName"] in wanted]
            return self._json({"ConfigRules": rules})
        return self._json(self._lookup(body))

    def _lookup(self, body: dict[str, Any]) -> dict[str, Any]:
        [attribute] = body["LookupAttributes"]  # LookupEvents accepts exactly one
        key, value = attribute["AttributeKey"], attribute["AttributeValue"]
        selected = [
            {**e, "EventTime": event_time(e)}
            for e in self.events
            if body["StartTime"] <= event_time(e) <= body["EndTime"]
            and (
                (key == "ReadOnly" and e["ReadOnly"] == value)
                or (key == "Username" and e["Username"] == value)
            )
        ]
        start = int(body.get("NextToken") or 0)
        page = selected[start : start + min(self.page_size, body.get("MaxResults", 50))]
        answer: dict[str, Any] = {"Events": page}
        if start + len(page) < len(selected):
            answer["NextToken"] = str(start + len(page))
        return answer

    @staticmethod
    def _json(data: Any) -> web.Response:
        return web.Response(text=json.dumps(data), content_type="application/x-amz-json-1.1")

    @staticmethod
    def _error(status: int, code: str, message: str) -> web.Response:
        body = json.dumps({"__type": code, "message": message})
        return web.Response(status=status, text=body, content_type="application/x-amz-json-1.1")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials through the standard chain (environment), nothing from ~/.aws."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("moto_server")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = ManagedProcess("moto", [binary, "-H", "127.0.0.1", "-p", str(port)], log)
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not tcp_open("127.0.0.1", port, timeout=0.2):
            if not process.running or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start:\n{process.tail()}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture
async def fake_aws() -> AsyncIterator[tuple[str, FakeAwsJson]]:
    fake = FakeAwsJson()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", fake
    await runner.cleanup()


def aws_config(moto: str, fake: str, **overrides: Any) -> AwsConfig:
    fields: dict[str, Any] = {
        "type": "aws",
        "name": "prod",
        "regions": ["eu-west-1"],
        "timeout": 5.0,
        "endpoint_urls": {"ec2": moto, "cloudtrail": fake, "config": fake},
    }
    fields.update(overrides)
    return AwsConfig.model_validate(fields)
