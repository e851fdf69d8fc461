"""The AWS collector against a real moto server (EC2) and recorded CloudTrail/Config answers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry

from exporter.collectors.aws import AwsCollector
from exporter.collectors.aws_api import make_session
from exporter.collectors.base import CollectorError
from exporter.detection import Engine, load_rules
from exporter.events import Event
from exporter.runtime import Runtime, Scheduled
from tests.exporter.aws.conftest import (
    ACCESS_KEY_ID,
    NOW,
    SECRET_KEY,
    FakeAwsJson,
    aws_config,
)

pytestmark = pytest.mark.usefixtures("aws_credentials")
ENGINE = Engine(load_rules([Path(__file__).resolve().parents[3] / "rules" / "aws"]))


def ec2(moto: str, region: str) -> Any:
    return boto3.client("ec2", region_name=region, endpoint_url=moto)


def fired(events: list[Event]) -> dict[str, list[Event]]:
    matches: dict[str, list[Event]] = {}
    for event in events:
        for rule in ENGINE.matching(event):
            matches.setdefault(rule.rule_id, []).append(event)
    return matches


async def test_world_open_rule_added_between_polls(
    moto_url: str, fake_aws: tuple[str, FakeAwsJson]
) -> None:
    region = "ap-south-1"  # moto keeps state per region: one region per test
    client = ec2(moto_url, region)
    vpc = client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = client.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    collector = AwsCollector(
        aws_config(moto_url, fake_aws[0], regions=[region], cloudtrail=False, config_rules=False)
    )
    try:
        first = await collector.poll()
        assert [e for e in first.events if e.kind == "change"] == []  # no baseline yet
        client.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        second = await collector.poll()
        third = await collector.poll()
    finally:
        await collector.close()
    [change] = [e for e in second.events if e.kind == "change"]
    assert (change.source, change.event_type, change.asset) == (
        "aws_config",
        "security_group_change",
        group,
    )
    assert {k: change.data[k] for k in ("change_type", "protocol", "port_range", "source")} == {
        "change_type": "ingress_added",
        "protocol": "*",
        "port_range": "0-65535",
        "source": "0.0.0.0/0",
    }
    matched = fired(list(second.events))
    assert matched["aws_security_group_change"] == [change]
    for rule_id in (
        "aws_sg_world_open_all_ports",
        "aws_sg_world_open_ssh",
        "aws_sg_world_open_rdp",
    ):
        [state] = matched[rule_id]
        assert (state.kind, state.data["group_id"], state.data["protocol"]) == (
            "state",
            group,
            "-1",
        )
    assert [e for e in third.events if e.kind == "change"] == []  # reported once


async def test_removed_and_egress_changes(moto_url: str, fake_aws: tuple[str, FakeAwsJson]) -> None:
    region = "ap-northeast-2"
    client = ec2(moto_url, region)
    vpc = client.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    group = client.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    ssh = [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]
    client.authorize_security_group_ingress(GroupId=group, IpPermissions=ssh)
    collector = AwsCollector(
        aws_config(moto_url, fake_aws[0], regions=[region], cloudtrail=False, config_rules=False)
    )
    try:
        await collector.poll()
        client.revoke_security_group_ingress(GroupId=group, IpPermissions=ssh)
        client.authorize_security_group_egress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 0,
                    "ToPort": 65535,
                    "IpRanges": [{"CidrIp": "203.0.113.0/24"}],
                }
            ],
        )
        snapshot = await collector.poll()
    finally:
        await collector.close()
    changes = {
        (e.data["change_type"], e.data["action"], e.data["port_range"])
        for e in snapshot.events
        if e.kind == "change"
    }
    assert changes == {
        ("ingress_removed", "removed", "22-22"),
        ("egress_modified", "added", "0-65535"),
    }
    assert [
        e.data["change_type"] for e in fired(list(snapshot.events))["aws_security_group_change"]
    ] == ["egress_modified"]


async def test_cloudtrail_is_incremental_and_rate_limited(
    moto_url: str, fake_aws: tuple[str, FakeAwsJson]
) -> None:
    url, fake = fake_aws
    regions = ["eu-west-1", "us-east-1"]
    clock = [NOW]
    collector = AwsCollector(
        aws_config(moto_url, url, regions=regions, security_groups=False),
        clock=lambda: clock[0],
    )
    try:
        first = await collector.poll()
        clock[0] += 60
        second = await collector.poll()
        # A late event: delivered after the second poll, timed before the newest one seen.
        late = dict(fake.events[-1], EventId="e58d7385-e1f4-4075-e4c1-7fb38a916208")
        late["EventTime"] = "2024-05-14T10:13:00Z"
        fake.events.append(late)
        clock[0] += 60
        third = await collector.poll()
    finally:
        await collector.close()
    trail = [e for e in first.events if e.source == "aws_cloudtrail"]
    # Both regions answer from the same recording, so each event arrives once per region.
    names = sorted({(e.data["event_name"], e.data["category"]) for e in trail})
    assert names == [
        ("AuthorizeSecurityGroupIngress", "security_group"),
        ("CreateAccessKey", "iam"),
        ("DeleteTrail", "cloudtrail"),
        ("DescribeInstances", "root"),
        ("StopLogging", "cloudtrail"),
    ]
    assert len(trail) == 2 * 5
    assert [e for e in second.events if e.source == "aws_cloudtrail"] == []
    late_events = [e for e in third.events if e.source == "aws_cloudtrail"]
    assert [e.data["event_id"] for e in late_events] == [late["EventId"]] * len(regions)
    matched = fired(trail)
    assert {e.data["event_name"] for e in matched["aws_cloudtrail_stopped"]} == {"StopLogging"}
    assert {e.data["event_name"] for e in matched["aws_root_account_usage"]} == {
        "DescribeInstances"
    }
    record = next(e for e in trail if e.data["event_name"] == "StopLogging")
    assert (record.kind, record.asset, record.data["account_id"]) == (
        "change",
        "123456789012",
        "123456789012",
    )
    assert "ASIAEXAMPLEKEYID0001" not in repr(record)  # the caller's key id is not copied
    for region in regions:
        times = fake.lookups(region)
        assert len(times) == 6  # two lookups per poll
        # 2 requests/s per region: request i never arrives before its slot, i/2 s after the
        # first (with a little clock slack). Not the gap between neighbours: one request
        # delayed on its way on a busy machine makes the gap after it short, within the rate.
        assert all(t - times[0] >= 0.45 * i for i, t in enumerate(times)), times


async def test_config_noncompliant_rules(moto_url: str, fake_aws: tuple[str, FakeAwsJson]) -> None:
    collector = AwsCollector(
        aws_config(moto_url, fake_aws[0], security_groups=False, cloudtrail=False)
    )
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
    events = [e for e in snapshot.events if e.event_type == "config_rule_evaluation"]
    assert [
        (e.asset, e.data["resource_type"], e.data["non_compliant_resources"]) for e in events
    ] == [
        ("restricted-ssh", "AWS::EC2::SecurityGroup", 2),
        ("s3-bucket-public-read-prohibited", "AWS::S3::Bucket", 1),
    ]
    assert len(fired(events)["aws_config_rule_noncompliant"]) == 2


async def test_throttling_is_a_collector_error_with_retry_after(
    moto_url: str, fake_aws: tuple[str, FakeAwsJson]
) -> None:
    url, fake = fake_aws
    fake.throttle = 1
    collector = AwsCollector(aws_config(moto_url, url, security_groups=False, config_rules=False))
    try:
        with pytest.raises(CollectorError) as caught:
            await collector.poll()
    finally:
        await collector.close()
    assert (caught.value.reason, caught.value.retry_after) == ("throttled", 5.0)
    assert "LookupEvents in eu-west-1 failed: ThrottlingException" in str(caught.value)


async def test_failures_keep_the_last_good_snapshot_and_never_log_credentials(
    moto_url: str, fake_aws: tuple[str, FakeAwsJson], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url, fake = fake_aws
    collector = AwsCollector(aws_config(moto_url, url, regions=["eu-central-1"]), clock=lambda: NOW)
    runtime = Runtime([Scheduled(collector, "aws", 30)], registry=CollectorRegistry())
    state = runtime.states[0]
    try:
        assert await runtime.poll_once(state)
        good = state.snapshot
        fake.throttle = 10
        assert not await runtime.poll_once(state)
        assert state.retry_after == 5.0
        assert (state.snapshot, state.stale) == (good, True)
        broken = AwsCollector(aws_config("http://127.0.0.1:9", url, regions=["eu-central-1"]))
        with pytest.raises(CollectorError) as caught:
            await broken.poll()
        await broken.close()
        assert caught.value.reason == "connection"
        logging.getLogger("exporter.runtime").warning("%s", caught.value)
    finally:
        await runtime.stop()
    assert "poll failed (throttled)" in caplog.text
    for secret in (SECRET_KEY, ACCESS_KEY_ID):
        assert secret not in caplog.text
        assert secret not in str(caught.value)


async def test_role_arn_polls_with_credentials_assumed_through_sts(
    moto_url: str, fake_aws: tuple[str, FakeAwsJson]
) -> None:
    """``role_arn``: the collector's calls are signed with the role's temporary credentials,
    which moto's real STS ``AssumeRole`` issued for the ``secmon-exporter`` session."""
    role = "arn:aws:iam::210987654321:role/secmon-reader"
    region = "sa-east-1"
    config = aws_config(
        moto_url,
        fake_aws[0],
        regions=[region],
        role_arn=role,
        endpoint_urls={"ec2": moto_url, "sts": moto_url, "cloudtrail": fake_aws[0],
                       "config": fake_aws[0]},
        cloudtrail=False,
        config_rules=False,
    )  # fmt: skip
    session = make_session(profile=None, role_arn=role, endpoint_url=moto_url, region=region)
    assumed = session.get_credentials()
    assert assumed is not None
    credentials = assumed.get_frozen_credentials()
    assert credentials.access_key != ACCESS_KEY_ID
    assert credentials.token  # temporary credentials carry a session token
    identity = session.client("sts", region_name=region, endpoint_url=moto_url)
    arn = identity.get_caller_identity()["Arn"]
    assert arn.endswith(":assumed-role/secmon-reader/secmon-exporter")
    # moto keeps each account apart: a world-open group in the role's account (210987654321)
    # must be seen, one in the base credentials' account (moto's default) must not.
    groups: dict[str, str] = {}
    for name, client in (
        ("role", session.client("ec2", region_name=region, endpoint_url=moto_url)),
        ("base", ec2(moto_url, region)),
    ):
        vpc = client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        groups[name] = client.create_security_group(GroupName=name, Description=name, VpcId=vpc)[
            "GroupId"
        ]
        client.authorize_security_group_ingress(
            GroupId=groups[name],
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
    collector = AwsCollector(config)
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
    [state] = fired(list(snapshot.events))["aws_sg_world_open_all_ports"]
    assert state.data["group_id"] == groups["role"]
