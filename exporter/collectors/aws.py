"""AWS posture and change collector: security groups, CloudTrail, Config compliance.

Per region and poll (regions are polled concurrently; API calls in ``aws_api``):

- ``ec2:DescribeSecurityGroups`` (pages of 1,000) → world-open ingress *state* events and,
  against the previous successful poll, rule *change* events (``aws_groups``);
- ``cloudtrail:LookupEvents`` (two lookups, rate-limited) → ``api_call`` change events for
  security-group, IAM, CloudTrail-tampering and root-user calls (``aws_trail``);
- ``config:DescribeComplianceByConfigRule`` (``NON_COMPLIANT`` only) plus
  ``config:DescribeConfigRules`` for their resource types → ``aws_config`` /
  ``config_rule_evaluation`` *state* events with ``config_rule``, ``compliance_type``,
  ``resource_type``, ``non_compliant_resources``, ``region``.

The baseline for change detection and the CloudTrail cursors advance only when the whole poll
succeeds, so a failed region never loses a change: the next good poll reports it. The first
poll has no baseline and reports no security-group changes.

Metric lines (besides the shared ``secmon_collector_*`` self-metrics)::

    secmon_aws_security_groups{collector="prod",region="eu-west-1"} 42.0
    secmon_aws_world_open_ingress_rules{collector="prod",exposure="ssh",region="eu-west-1"} 1.0
    secmon_aws_config_noncompliant_rules{collector="prod",region="eu-west-1"} 2.0
    secmon_aws_cloudtrail_events_total{category="root",collector="prod",region="us-east-1"} 1.0
    secmon_aws_api_calls_total{collector="prod",operation="LookupEvents",outcome="ok",\
region="eu-west-1"} 4.0

``exposure`` is ``all_ports``, ``ssh``, ``rdp`` or ``other``; ``outcome`` is ``ok``,
``throttled``, ``denied`` or ``error``. API-call and CloudTrail counters are cumulative and are
published with each successful poll's snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from pydantic import Field

from exporter.collectors import aws_groups
from exporter.collectors.aws_api import AwsApi, make_session
from exporter.collectors.aws_trail import Cursor, TrailReader
from exporter.collectors.base import CollectorError, Snapshot
from exporter.config import CollectorConfig
from exporter.events import Event

log = logging.getLogger(__name__)
EXPOSURES = ("all_ports", "ssh", "rdp", "other")
Service = Literal["ec2", "cloudtrail", "config", "sts"]


class AwsConfig(CollectorConfig):
    """``type: aws``: one account (the credential chain's, or ``role_arn``), several regions."""

    type: Literal["aws"]
    regions: Annotated[list[str], Field(min_length=1)]
    profile: str | None = None
    role_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] = None
    endpoint_url: str | None = None  # every service (tests, VPC endpoints, LocalStack)
    endpoint_urls: dict[Service, str] = {}  # per service, beats endpoint_url
    security_groups: bool = True
    cloudtrail: bool = True
    config_rules: bool = True
    lookup_rate: Annotated[float, Field(gt=0, le=2)] = 2.0  # LookupEvents requests/s/region
    cloudtrail_overlap: Annotated[float, Field(ge=0, le=86400)] = 600.0
    cloudtrail_lookback: Annotated[float, Field(ge=0, le=7776000)] = 3600.0
    cloudtrail_max_pages: Annotated[int, Field(ge=1, le=1000)] = 20

    def endpoints(self) -> dict[str, str]:
        services: tuple[Service, ...] = ("ec2", "cloudtrail", "config", "sts")
        merged: dict[str, str] = {s: self.endpoint_url for s in services if self.endpoint_url}
        merged.update((str(k), v) for k, v in self.endpoint_urls.items())
        return merged


@dataclass(slots=True)
class RegionResult:
    rules: list[aws_groups.SgRule] = field(default_factory=list)
    groups: int = 0
    noncompliant: list[dict[str, Any]] = field(default_factory=list)
    trail: list[dict[str, Any]] = field(default_factory=list)
    cursor: Cursor | None = None


class AwsCollector:
    """Polls every configured region of one AWS account."""

    def __init__(
        self,
        config: AwsConfig,
        *,
        clock: Callable[[], float] = time.time,
        api: AwsApi | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        endpoints = config.endpoints()
        self._api = api or AwsApi(
            make_session(
                profile=config.profile,
                role_arn=config.role_arn,
                endpoint_url=endpoints.get("sts"),
                region=config.regions[0],
            ),
            endpoints=endpoints,
            timeout=config.timeout,
            lookup_rate=config.lookup_rate,
        )
        self._trail = TrailReader(
            self._api.call,
            overlap=config.cloudtrail_overlap,
            lookback=config.cloudtrail_lookback,
            max_pages=config.cloudtrail_max_pages,
            clock=clock,
        )
        self._baseline: dict[str, list[aws_groups.SgRule]] = {}
        self._trail_counts: Counter[tuple[str, str]] = Counter()

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def interval(self) -> float:
        return self._config.interval

    async def _security_groups(self, region: str, result: RegionResult) -> None:
        groups: list[Mapping[str, Any]] = []
        params: dict[str, Any] = {"MaxResults": 1000}
        while True:  # the paginator's loop, explicit so every page is counted
            page = await self._api.call(region, "ec2", "describe_security_groups", params)
            groups.extend(page.get("SecurityGroups") or ())
            if not page.get("NextToken"):
                break
            params = {"MaxResults": 1000, "NextToken": page["NextToken"]}
        result.groups = len(groups)
        result.rules = aws_groups.flatten(groups)

    async def _config_rules(self, region: str, result: RegionResult) -> None:
        rules: list[Mapping[str, Any]] = []
        params: dict[str, Any] = {"ComplianceTypes": ["NON_COMPLIANT"]}
        while True:
            page = await self._api.call(
                region, "config", "describe_compliance_by_config_rule", params
            )
            rules.extend(page.get("ComplianceByConfigRules") or ())
            if not page.get("NextToken"):
                break
            params = {**params, "NextToken": page["NextToken"]}
        names = [str(r["ConfigRuleName"]) for r in rules]
        scopes: dict[str, str] = {}
        for start in range(0, len(names), 25):  # DescribeConfigRules takes 25 names at most
            page = await self._api.call(
                region,
                "config",
                "describe_config_rules",
                {"ConfigRuleNames": names[start : start + 25]},
            )
            for rule in page.get("ConfigRules") or ():
                types = (rule.get("Scope") or {}).get("ComplianceResourceTypes") or []
                scopes[str(rule["ConfigRuleName"])] = ",".join(types) or "any"
        for rule in rules:
            compliance = rule.get("Compliance") or {}
            count = (compliance.get("ComplianceContributorCount") or {}).get("CappedCount", 0)
            name = str(rule["ConfigRuleName"])
            result.noncompliant.append(
                {
                    "config_rule": name,
                    "compliance_type": str(compliance.get("ComplianceType", "NON_COMPLIANT")),
                    "resource_type": scopes.get(name, "any"),
                    "non_compliant_resources": int(count),
                    "region": region,
                }
            )

    async def _region(self, region: str) -> RegionResult:
        result = RegionResult()
        if self._config.security_groups:
            await self._security_groups(region, result)
        if self._config.config_rules:
            await self._config_rules(region, result)
        if self._config.cloudtrail:
            result.trail, result.cursor, truncated = await self._trail.read(region)
            if truncated:
                log.warning(
                    "collector %s: CloudTrail lookup in %s hit %d pages; older events skipped",
                    self.name,
                    region,
                    self._config.cloudtrail_max_pages,
                )
        return result

    async def poll(self) -> Snapshot:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = {r: group.create_task(self._region(r)) for r in self._config.regions}
        except ExceptionGroup as failed:
            # One error for the runtime: the region asking for the longest wait decides.
            errors = [e for e in failed.exceptions if isinstance(e, CollectorError)]
            if not errors:
                raise
            raise max(errors, key=lambda e: e.retry_after or 0.0) from None
        results = {region: task.result() for region, task in tasks.items()}
        now = self._clock()
        events: list[Event] = []
        for region, result in results.items():
            events.extend(self._events(region, result, now))
        # Only now, with every region read, does the next poll diff against this one.
        for region, result in results.items():
            if self._config.security_groups:
                self._baseline[region] = result.rules
            if result.cursor is not None:
                self._trail.cursors[region] = result.cursor
            for data in result.trail:
                self._trail_counts[(region, data["category"])] += 1
        return Snapshot(events, now, self._metrics(results))

    def _event(self, source: str, event_type: str, asset: str, data: dict[str, Any],
               now: float, kind: Literal["state", "change"] = "state") -> Event:  # fmt: skip
        return Event(
            source=source,
            event_type=event_type,
            kind=kind,
            platform="aws",
            asset=asset,
            environment=self._config.environment,
            observed_at=now,
            data=data,
        )

    def _events(self, region: str, result: RegionResult, now: float) -> list[Event]:
        events = [
            self._event(
                "aws_config",
                "security_group_rule",
                r.group_id,
                aws_groups.state_data(r, region),
                now,
            )
            for r in result.rules
            if r.direction == "ingress" and r.world_open
        ]
        if self._config.security_groups and region in self._baseline:
            for rule, change_type, action in aws_groups.diff(self._baseline[region], result.rules):
                data = aws_groups.change_data(rule, change_type, action, region)
                events.append(
                    self._event(
                        "aws_config", "security_group_change", rule.group_id, data, now, "change"
                    )
                )
        for data in result.noncompliant:
            events.append(
                self._event("aws_config", "config_rule_evaluation", data["config_rule"], data, now)
            )
        for data in result.trail:
            asset = data["account_id"] or region
            events.append(self._event("aws_cloudtrail", "api_call", asset, data, now, "change"))
        return events

    def _metrics(self, results: Mapping[str, RegionResult]) -> Sequence[Metric]:
        name = self.name
        groups = GaugeMetricFamily(
            "secmon_aws_security_groups", "Security groups seen.", labels=["collector", "region"]
        )
        world = GaugeMetricFamily(
            "secmon_aws_world_open_ingress_rules",
            "Ingress rules open to 0.0.0.0/0 or ::/0, by exposed ports.",
            labels=["collector", "region", "exposure"],
        )
        noncompliant = GaugeMetricFamily(
            "secmon_aws_config_noncompliant_rules",
            "AWS Config rules evaluated NON_COMPLIANT.",
            labels=["collector", "region"],
        )
        for region in sorted(results):
            result = results[region]
            if self._config.security_groups:
                groups.add_metric([name, region], result.groups)
                counts = Counter(
                    r.exposure for r in result.rules if r.direction == "ingress" and r.world_open
                )
                for exposure in EXPOSURES:
                    world.add_metric([name, region, exposure], counts[exposure])
            if self._config.config_rules:
                noncompliant.add_metric([name, region], len(result.noncompliant))
        trail = CounterMetricFamily(
            "secmon_aws_cloudtrail_events",
            "CloudTrail events reported, by category.",
            labels=["collector", "region", "category"],
        )
        for (region, category), count in sorted(self._trail_counts.items()):
            trail.add_metric([name, region, category], count)
        calls = CounterMetricFamily(
            "secmon_aws_api_calls",
            "AWS API calls by operation and outcome.",
            labels=["collector", "region", "operation", "outcome"],
        )
        for (region, operation, outcome), count in sorted(self._api.calls.items()):
            calls.add_metric([name, region, operation, outcome], count)
        return [groups, world, noncompliant, trail, calls]

    async def close(self) -> None:
        await asyncio.to_thread(self._api.close)
