"""EC2 security groups: flatten rules, find world-open ingress, diff two polls into changes.

Input is ``ec2:DescribeSecurityGroups`` output (``SecurityGroups[]`` with ``IpPermissions`` and
``IpPermissionsEgress``; each permission has ``IpProtocol``, ``FromPort``, ``ToPort`` and the
sources ``IpRanges[].CidrIp``, ``Ipv6Ranges[].CidrIpv6``, ``UserIdGroupPairs[].GroupId``,
``PrefixListIds[].PrefixListId``).

Two event shapes, both ``source: aws_config``:

- *state* ``security_group_rule``, one per world-open (``0.0.0.0/0`` or ``::/0``) ingress rule,
  re-emitted every poll while it exists. ``protocol`` is AWS's own value (``"-1"`` = all) as
  the pack rules ``aws_sg_world_open_*`` expect; an all-traffic rule carries ``from_port`` 0
  and ``to_port`` 65535 (what it really opens) so the SSH and RDP rules see it too.
- *change* ``security_group_change`` when a rule appears or disappears between two polls:
  ``change_type`` ``ingress_added`` / ``ingress_removed`` / ``egress_modified`` (with
  ``action`` ``added``/``removed``), ``protocol`` with ``-1`` written ``*`` and ``port_range``
  ``from-to`` (``0-65535`` for all ports), as the seed's ``aws_security_group_change`` reads.
  A group that appears (or disappears) is reported through its ingress rules only: its egress
  rules are its creation defaults (allow all), not a modification, and would raise an alert
  per new group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WORLD = frozenset({"0.0.0.0/0", "::/0"})
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


@dataclass(frozen=True, slots=True, order=True)
class SgRule:
    """One (group, direction, protocol, ports, source) tuple; the unit that is diffed."""

    group_id: str
    direction: str  # "ingress" | "egress"
    protocol: str  # AWS value: "-1", "tcp", "udp", "icmp", or a number
    from_port: int
    to_port: int
    source: str  # a CIDR, a security group id or a prefix list id
    group_name: str = ""
    vpc_id: str = ""
    owner_id: str = ""

    @property
    def key(self) -> tuple[str, str, str, int, int, str]:
        return (
            self.group_id,
            self.direction,
            self.protocol,
            self.from_port,
            self.to_port,
            self.source,
        )

    @property
    def all_traffic(self) -> bool:
        return self.protocol == "-1"

    @property
    def port_range(self) -> str:
        return f"{self.from_port}-{self.to_port}"

    @property
    def world_open(self) -> bool:
        return self.source in WORLD

    @property
    def exposure(self) -> str:
        """Bounded class for metrics: ``all_ports``, ``ssh``, ``rdp`` or ``other``."""
        if self.all_traffic or (self.from_port <= 0 and self.to_port >= 65535):
            return "all_ports"
        if self.protocol == "tcp" and self.from_port <= 22 <= self.to_port:
            return "ssh"
        if self.protocol == "tcp" and self.from_port <= 3389 <= self.to_port:
            return "rdp"
        return "other"


def _sources(permission: Mapping[str, Any]) -> Iterable[str]:
    for item in permission.get("IpRanges") or ():
        yield item["CidrIp"]
    for item in permission.get("Ipv6Ranges") or ():
        yield item["CidrIpv6"]
    for item in permission.get("UserIdGroupPairs") or ():
        yield item.get("GroupId") or item.get("GroupName", "")
    for item in permission.get("PrefixListIds") or ():
        yield item["PrefixListId"]


def flatten(groups: Iterable[Mapping[str, Any]]) -> list[SgRule]:
    """Every rule of every group, one :class:`SgRule` per source, sorted."""
    rules: list[SgRule] = []
    for group in groups:
        for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
            for permission in group.get(key) or ():
                raw = str(permission.get("IpProtocol", "-1"))
                protocol = _PROTOCOL_NAMES.get(raw, raw)
                if protocol == "-1":
                    low, high = 0, 65535  # all traffic opens every port
                else:
                    low = int(permission.get("FromPort", 0))
                    high = int(permission.get("ToPort", 65535))
                    if low == -1 and high == -1:  # tcp/udp with -1 also means every port
                        low, high = 0, 65535
                rules.extend(
                    SgRule(
                        group_id=group["GroupId"],
                        direction=direction,
                        protocol=protocol,
                        from_port=low,
                        to_port=high,
                        source=source,
                        group_name=group.get("GroupName", ""),
                        vpc_id=group.get("VpcId", ""),
                        owner_id=group.get("OwnerId", ""),
                    )
                    for source in _sources(permission)
                )
    return sorted(rules)


def state_data(rule: SgRule, region: str) -> dict[str, Any]:
    """``data`` of a world-open ingress ``security_group_rule`` state event."""
    return {
        "group_id": rule.group_id,
        "group_name": rule.group_name,
        "vpc_id": rule.vpc_id,
        "account_id": rule.owner_id,
        "region": region,
        "direction": rule.direction,
        "cidr": rule.source,
        "protocol": rule.protocol,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "port_range": rule.port_range,
        "exposure": rule.exposure,
    }


def change_data(rule: SgRule, change_type: str, action: str, region: str) -> dict[str, Any]:
    """``data`` of a ``security_group_change`` change event."""
    return {
        "change_type": change_type,
        "action": action,
        "group_id": rule.group_id,
        "group_name": rule.group_name,
        "vpc_id": rule.vpc_id,
        "account_id": rule.owner_id,
        "region": region,
        "direction": rule.direction,
        "protocol": "*" if rule.all_traffic else rule.protocol,
        "port_range": rule.port_range,
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "source": rule.source,
        "world_open": rule.world_open,
    }


def diff(previous: Iterable[SgRule], current: Iterable[SgRule]) -> list[tuple[SgRule, str, str]]:
    """``(rule, change_type, action)`` for every rule added or removed between two polls."""
    before = {r.key: r for r in previous}
    after = {r.key: r for r in current}
    known_groups = {r.group_id for r in before.values()}
    current_groups = {r.group_id for r in after.values()}
    changes: list[tuple[SgRule, str, str]] = []
    for key in sorted(after.keys() - before.keys()):
        rule = after[key]
        if rule.direction == "ingress":
            changes.append((rule, "ingress_added", "added"))
        elif rule.group_id in known_groups:  # see module docstring: new groups' defaults
            changes.append((rule, "egress_modified", "added"))
    for key in sorted(before.keys() - after.keys()):
        rule = before[key]
        if rule.direction == "ingress":
            changes.append((rule, "ingress_removed", "removed"))
        elif rule.group_id in current_groups:  # a deleted group's egress went with it
            changes.append((rule, "egress_modified", "removed"))
    return changes
