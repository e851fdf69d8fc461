"""The rule pack: every rule has a positive and a negative example event, and full metadata."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.detection import Engine, load_rules
from exporter.events import Event, EventKind
from tests.exporter.detection.factories import RULES_DIR

RULES = load_rules([RULES_DIR])
ENGINE = Engine(RULES)


def ev(source: str, event_type: str, kind: EventKind = "state", **data: Any) -> Event:
    return Event(source, event_type, "test", "asset-1", data, 0.0, kind, "production")


ADMIN: dict[str, Any] = {
    "listener": "admin_listen",
    "port": 8001,
    "protocol": "http",
    "endpoint": "admin_listen 0.0.0.0:8001",
}
SG: dict[str, Any] = {
    "direction": "ingress",
    "cidr": "0.0.0.0/0",
    "protocol": "tcp",
    "group_id": "sg-1",
}
CT: dict[str, Any] = {"account_id": "123456789012"}
CTR: dict[str, Any] = {"container": "app", "workload": "api", "namespace": "prod"}
PR_TARGET: dict[str, Any] = {"workflow_name": "ci.yml", "repository": "acme/api"}

# rule_id: (matching event, similar event that must not match)
EXAMPLES: dict[str, tuple[Event, Event]] = {
    # seed rules
    "kong_http_admin_api": (
        ev("kong_monitor", "service_discovery", **ADMIN, address="0.0.0.0"),
        ev("kong_monitor", "service_discovery", **{**ADMIN, "protocol": "https"}),
    ),
    "kong_plugin_security_change": (
        ev(
            "kong_monitor",
            "plugin_configuration_change",
            "change",
            plugin_type="acl",
            service_name="s",
        ),
        ev("kong_monitor", "plugin_configuration_change", "change", plugin_type="correlation-id"),
    ),
    "github_workflow_security": (
        ev("github_scanner", "workflow_scan", public_fork_access=True, workflow_name="ci.yml"),
        ev("github_scanner", "workflow_scan", secrets_in_logs=False, public_fork_access=False),
    ),
    "aws_security_group_change": (
        ev(
            "aws_config",
            "security_group_change",
            "change",
            change_type="ingress_added",
            port_range="0-65535",
        ),
        ev(
            "aws_config",
            "security_group_change",
            "change",
            change_type="ingress_added",
            protocol="tcp",
            port_range="443-443",
        ),
    ),
    "cve_detection": (
        ev("vulnerability_scanner", "vulnerability_found", cve_id="CVE-2024-3094", cvss_score=10.0),
        ev("vulnerability_scanner", "vulnerability_found", cve_id="CVE-2023-1", cvss_score=5.3),
    ),
    # Kong
    "kong_admin_api_public_bind": (
        ev(
            "kong_monitor",
            "service_discovery",
            **{**ADMIN, "protocol": "https", "port": 8444},
            address="::",
        ),
        ev("kong_monitor", "service_discovery", **ADMIN, address="127.0.0.1"),
    ),
    "kong_security_plugin_removed": (
        ev(
            "kong_monitor",
            "plugin_configuration_change",
            "change",
            action="deleted",
            plugin_type="key-auth",
        ),
        ev(
            "kong_monitor",
            "plugin_configuration_change",
            "change",
            action="updated",
            plugin_type="key-auth",
        ),
    ),
    "kong_security_plugin_disabled": (
        ev(
            "kong_monitor",
            "plugin_inventory",
            enabled=False,
            plugin_type="jwt",
            service_name="billing",
        ),
        ev(
            "kong_monitor",
            "plugin_inventory",
            enabled=True,
            plugin_type="jwt",
            service_name="billing",
        ),
    ),
    "kong_route_without_auth": (
        ev("kong_monitor", "route_inventory", auth_plugins=0, route_name="r", service_name="s"),
        ev("kong_monitor", "route_inventory", auth_plugins=0, public=False, route_name="health"),
    ),
    # GitHub
    "github_workflow_token_write_default": (
        ev(
            "github_scanner",
            "repository_settings",
            default_workflow_permissions="write",
            repository="acme/api",
        ),
        ev(
            "github_scanner",
            "repository_settings",
            default_workflow_permissions="read",
            repository="acme/api",
        ),
    ),
    "github_fork_pr_approval_weak": (
        ev("github_scanner", "repository_settings", fork_pr_approval="first_time_contributors"),
        ev("github_scanner", "repository_settings", fork_pr_approval="all_external_contributors"),
    ),
    "github_pull_request_target_checkout": (
        ev(
            "github_scanner",
            "workflow_scan",
            triggers=["pull_request_target"],
            checks_out_pr_head=True,
            **PR_TARGET,
        ),
        ev(
            "github_scanner",
            "workflow_scan",
            triggers=["pull_request"],
            checks_out_pr_head=True,
            **PR_TARGET,
        ),
    ),
    "github_secret_scanning_alert_open": (
        ev(
            "github_scanner", "secret_scanning_alert", state="open", secret_type="aws_access_key_id"
        ),
        ev(
            "github_scanner",
            "secret_scanning_alert",
            state="resolved",
            secret_type="aws_access_key_id",
        ),
    ),
    "github_dependabot_critical": (
        ev(
            "github_scanner",
            "dependabot_alert",
            state="open",
            severity="critical",
            package="lodash",
        ),
        ev(
            "github_scanner",
            "dependabot_alert",
            state="fixed",
            severity="critical",
            package="lodash",
        ),
    ),
    "github_default_branch_unprotected": (
        ev("github_scanner", "branch_protection", is_default=True, protected=False, branch="main"),
        ev("github_scanner", "branch_protection", is_default=False, protected=False, branch="wip"),
    ),
    "github_force_push_allowed": (
        ev(
            "github_scanner",
            "branch_protection",
            is_default=True,
            allow_force_pushes=True,
            branch="main",
        ),
        ev(
            "github_scanner",
            "branch_protection",
            is_default=True,
            allow_force_pushes=False,
            branch="main",
        ),
    ),
    "github_admins_exempt": (
        ev(
            "github_scanner",
            "branch_protection",
            protected=True,
            enforce_admins=False,
            branch="main",
        ),
        ev(
            "github_scanner",
            "branch_protection",
            protected=True,
            enforce_admins=True,
            branch="main",
        ),
    ),
    # AWS
    "aws_sg_world_open_ssh": (
        ev("aws_config", "security_group_rule", **SG, from_port=22, to_port=22),
        ev(
            "aws_config",
            "security_group_rule",
            **{**SG, "cidr": "10.0.0.0/8"},
            from_port=22,
            to_port=22,
        ),
    ),
    "aws_sg_world_open_rdp": (
        ev("aws_config", "security_group_rule", **SG, from_port=3000, to_port=4000),
        ev("aws_config", "security_group_rule", **SG, from_port=443, to_port=443),
    ),
    "aws_sg_world_open_all_ports": (
        ev(
            "aws_config",
            "security_group_rule",
            **{**SG, "protocol": "-1"},
            from_port=-1,
            to_port=-1,
        ),
        ev("aws_config", "security_group_rule", **SG, from_port=80, to_port=443),
    ),
    "aws_config_rule_noncompliant": (
        ev(
            "aws_config",
            "config_rule_evaluation",
            compliance_type="NON_COMPLIANT",
            config_rule="s3-public",
        ),
        ev(
            "aws_config",
            "config_rule_evaluation",
            compliance_type="COMPLIANT",
            config_rule="s3-public",
        ),
    ),
    "aws_cloudtrail_stopped": (
        ev("aws_cloudtrail", "api_call", "change", event_name="StopLogging", **CT),
        ev(
            "aws_cloudtrail",
            "api_call",
            "change",
            event_name="StopLogging",
            error_code="AccessDenied",
            **CT,
        ),
    ),
    "aws_root_account_usage": (
        ev(
            "aws_cloudtrail",
            "api_call",
            "change",
            user_type="Root",
            event_name="ConsoleLogin",
            **CT,
        ),
        ev(
            "aws_cloudtrail",
            "api_call",
            "change",
            user_type="AssumedRole",
            event_name="ConsoleLogin",
            **CT,
        ),
    ),
    # Netlify
    "netlify_https_not_forced": (
        ev("netlify_monitor", "site_settings", force_ssl=False, site_name="www"),
        ev("netlify_monitor", "site_settings", force_ssl=True, site_name="www"),
    ),
    "netlify_non_git_production_deploy": (
        ev(
            "netlify_monitor",
            "deploy_change",
            "change",
            context="production",
            from_git=False,
            site_name="www",
        ),
        ev("netlify_monitor", "deploy_change", "change", context="deploy-preview", from_git=False),
    ),
    # Vercel
    "vercel_preview_unprotected": (
        ev("vercel_monitor", "project_settings", project="web"),
        ev(
            "vercel_monitor",
            "project_settings",
            project="web",
            preview_protection="vercel_authentication",
        ),
    ),
    "vercel_plain_secret_env": (
        ev("vercel_monitor", "env_var", type="plain", key="STRIPE_API_KEY", project="web"),
        ev("vercel_monitor", "env_var", type="sensitive", key="STRIPE_API_KEY", project="web"),
    ),
    # Fly.io
    "flyio_public_port_without_tls": (
        ev("flyio_monitor", "service_port", port=443, handlers=["http"], app="api"),
        ev("flyio_monitor", "service_port", port=443, handlers=["tls", "http"], app="api"),
    ),
    "flyio_http_without_force_https": (
        ev("flyio_monitor", "service_port", port=80, handlers=["http"], app="api"),
        ev(
            "flyio_monitor", "service_port", port=80, handlers=["http"], force_https=True, app="api"
        ),
    ),
    # Kubernetes
    "kubernetes_privileged_container": (
        ev("kubernetes_monitor", "container_spec", privileged=True, **CTR),
        ev("kubernetes_monitor", "container_spec", privileged=False, **CTR),
    ),
    "kubernetes_host_namespaces": (
        ev("kubernetes_monitor", "pod_spec", host_pid=True, workload="agent", namespace="ops"),
        ev("kubernetes_monitor", "pod_spec", host_network=False, host_pid=False, workload="api"),
    ),
    "kubernetes_cluster_admin_binding": (
        ev(
            "kubernetes_monitor",
            "cluster_role_binding",
            role="cluster-admin",
            subject="User:alice",
            binding="b",
        ),
        ev(
            "kubernetes_monitor",
            "cluster_role_binding",
            role="cluster-admin",
            subject="system:masters",
            binding="b",
        ),
    ),
    "kubernetes_service_exposed": (
        ev("kubernetes_monitor", "service", type="LoadBalancer", service="web", namespace="prod"),
        ev("kubernetes_monitor", "service", type="ClusterIP", service="web", namespace="prod"),
    ),
    "kubernetes_secret_in_env": (
        ev("kubernetes_monitor", "container_spec", literal_secret_env=2, **CTR),
        ev("kubernetes_monitor", "container_spec", literal_secret_env=0, **CTR),
    ),
    "kubernetes_container_runs_as_root": (
        ev("kubernetes_monitor", "container_spec", **CTR),
        ev("kubernetes_monitor", "container_spec", run_as_user=1000, **CTR),
    ),
    # Internal services
    "service_tls_certificate_expiring": (
        ev("service_probe", "tls_certificate", days_until_expiry=3, hostname="api.example.com"),
        ev("service_probe", "tls_certificate", days_until_expiry=60, hostname="api.example.com"),
    ),
    "service_missing_security_headers": (
        ev(
            "service_probe",
            "http_probe",
            missing_security_headers=2,
            url="https://a",
            scheme="https",
        ),
        ev(
            "service_probe",
            "http_probe",
            missing_security_headers=0,
            url="https://a",
            scheme="https",
        ),
    ),
    "service_plain_http": (
        ev(
            "service_probe", "http_probe", scheme="http", url="http://a", missing_security_headers=0
        ),
        ev("service_probe", "http_probe", scheme="http", redirects_to_https=True, url="http://a"),
    ),
    # Vulnerabilities
    "vulnerability_fix_available": (
        ev(
            "vulnerability_scanner",
            "vulnerability_found",
            cvss_score=8.1,
            fixed_version="1.2.3",
            package="openssl",
        ),
        ev(
            "vulnerability_scanner",
            "vulnerability_found",
            cvss_score=8.1,
            fixed_version="",
            package="openssl",
        ),
    ),
    "vulnerability_known_exploited": (
        ev("vulnerability_scanner", "vulnerability_found", known_exploited=True, package="xz"),
        ev("vulnerability_scanner", "vulnerability_found", known_exploited=False, package="xz"),
    ),
}

SEED_IDS = {
    "kong_http_admin_api",
    "kong_plugin_security_change",
    "github_workflow_security",
    "aws_security_group_change",
    "cve_detection",
}


def test_every_rule_has_examples() -> None:
    assert set(EXAMPLES) == set(RULES.ids)


def test_pack_size_and_sources() -> None:
    assert len(RULES) >= 40
    sources = set().union(*(r.sources or frozenset() for r in RULES))
    assert {
        "kong_monitor",
        "github_scanner",
        "aws_config",
        "netlify_monitor",
        "vercel_monitor",
        "flyio_monitor",
        "kubernetes_monitor",
        "service_probe",
        "vulnerability_scanner",
    } <= sources


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_positive_example_matches(rule_id: str) -> None:
    positive, _ = EXAMPLES[rule_id]
    assert rule_id in {r.rule_id for r in ENGINE.matching(positive)}


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_negative_example_does_not_match(rule_id: str) -> None:
    _, negative = EXAMPLES[rule_id]
    assert rule_id not in {r.rule_id for r in ENGINE.matching(negative)}


@pytest.mark.parametrize("rule_id", sorted(set(EXAMPLES) - SEED_IDS))
def test_pack_rules_carry_metadata_and_remediation(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert rule.metadata.cwe_id
    assert rule.metadata.owasp_category
    assert rule.metadata.compliance_frameworks
    assert rule.alert is not None
    assert rule.alert.remediation
    assert rule.description


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_example_kind_matches_rule_kind(rule_id: str) -> None:
    """Examples use the event kind the compiled alert listens to (violation vs matches)."""
    positive, negative = EXAMPLES[rule_id]
    assert positive.kind == RULES[rule_id].kind
    assert negative.kind == RULES[rule_id].kind
