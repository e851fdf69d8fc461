"""The expression language: every operator, missing fields, leniency, and parse errors."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.detection.expressions import ExpressionError, compile_expression
from tests.exporter.detection.factories import event


@pytest.mark.parametrize(
    ("expr", "data", "expected"),
    [
        ('data.protocol == "http"', {"protocol": "http"}, True),
        ('data.protocol == "http"', {"protocol": "https"}, False),
        ('data.protocol == "http"', {}, False),
        ('data.protocol != "http"', {}, True),
        ('data.protocol != "http"', {"protocol": "https"}, True),
        ("data.port == 8001", {"port": "8001"}, True),
        ('data.port == "8001"', {"port": 8001}, True),
        ("data.port == 1", {"port": True}, False),
        ("data.flag == true", {"flag": True}, True),
        ("data.flag == true", {"flag": 1}, False),
        ("data.flag == false", {"flag": "False"}, True),
        ("data.gone == null", {"gone": None}, True),
        ("data.port IN [8001, 8444]", {"port": 8444}, True),
        ("data.port IN [8001, 8444]", {"port": "8001"}, True),
        ("data.port IN [8001, 8444]", {"port": 8000}, False),
        ('data.port IN ["8001"]', {"port": 8001}, True),
        ('data.plugin_type IN ["jwt", "acl"]', {"plugin_type": "acl"}, True),
        ('data.plugin_type NOT IN ["jwt", "acl"]', {"plugin_type": "cors"}, True),
        ('data.plugin_type NOT IN ["jwt", "acl"]', {}, True),
        ("data.x IN []", {"x": 1}, False),
        ('data.endpoint CONTAINS "admin"', {"endpoint": "admin_listen 0.0.0.0:8001"}, True),
        ('data.endpoint CONTAINS "admin"', {"endpoint": "proxy"}, False),
        ('data.tags CONTAINS "public"', {"tags": ["a", "public"]}, True),
        ("data.ports CONTAINS 22", {"ports": [22, 80]}, True),
        ('data.headers CONTAINS "hsts"', {"headers": {"hsts": "1"}}, True),
        ('data.headers NOT CONTAINS "hsts"', {"headers": {}}, True),
        ('data.endpoint CONTAINS "admin"', {"endpoint": 5}, False),
        ("data.cve_id EXISTS", {"cve_id": "CVE-2024-1"}, True),
        ("data.cve_id EXISTS", {"cve_id": None}, False),
        ("data.cve_id NOT EXISTS", {}, True),
        ("data.cvss_score >= 7.0", {"cvss_score": 7.0}, True),
        ("data.cvss_score >= 7.0", {"cvss_score": "9.8"}, True),
        ("data.cvss_score >= 7.0", {"cvss_score": 6.9}, False),
        ("data.cvss_score >= 7.0", {"cvss_score": "high"}, False),
        ("data.cvss_score > 7", {"cvss_score": 7}, False),
        ("data.cvss_score < 4.0", {"cvss_score": 3}, True),
        ("data.cvss_score <= 4", {"cvss_score": 4}, True),
        ("data.days_left < 14", {}, False),
        ('data.version >= "2.0"', {"version": "2.8"}, True),
        ('data.name MATCHES "^prod-[0-9]+$"', {"name": "prod-12"}, True),
        ('data.name MATCHES "^prod-[0-9]+$"', {"name": "staging-12"}, False),
        (r'data.name MATCHES "\d{3}"', {"name": "a123"}, True),
        ('data.name NOT MATCHES "^prod"', {"name": "dev"}, True),
        ('data.protocol == "*" OR data.port_range == "0-65535"', {"protocol": "*"}, True),
        ('data.protocol == "*" OR data.port_range == "0-65535"', {"port_range": "0-65535"}, True),
        ('data.protocol == "*" OR data.port_range == "0-65535"', {"protocol": "tcp"}, False),
        ("data.a == 1 AND data.b == 2", {"a": 1, "b": 2}, True),
        ("data.a == 1 AND data.b == 2", {"a": 1, "b": 3}, False),
        ("data.a == 1 OR data.a == 2 AND data.b == 3", {"a": 1, "b": 0}, True),
        ("(data.a == 1 OR data.a == 2) AND data.b == 3", {"a": 1, "b": 0}, False),
        ("NOT data.a == 1", {"a": 2}, True),
        ("data.tls.enabled == false", {"tls": {"enabled": False}}, True),
        ("data.tls.enabled == false", {"tls": "off"}, False),
        ('data.msg == "say \\"hi\\""', {"msg": 'say "hi"'}, True),
        ("data.msg == 'single'", {"msg": "single"}, True),
        ("data.x-frame-options NOT EXISTS", {}, True),
    ],
)
def test_operator(expr: str, data: dict[str, Any], expected: bool) -> None:
    assert compile_expression(expr)(event(**data)) is expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('source == "kong_monitor"', True),
        ('event_type == "service_discovery"', True),
        ('asset MATCHES "^ed"', True),
        ('environment == "production"', True),
        ('platform IN ["kong", "aws"]', True),
        ('kind == "change"', False),
    ],
)
def test_event_fields(expr: str, expected: bool) -> None:
    assert compile_expression(expr)(event()) is expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "empty expression"),
        ('data.protocol = "http"', "unexpected character '='"),
        ("data.protocol", "expected an operator after data.protocol"),
        ('data.protocol LIKE "h"', "expected an operator"),
        ('protocol == "http"', "unknown field 'protocol'"),
        ('data == "x"', "'data' needs a field name"),
        ("data.port IN 8001", "IN needs a list"),
        ("data.port IN [8001", "expected ',' or ']'"),
        ('data.name MATCHES "("', "invalid regular expression"),
        ("data.name MATCHES 5", "MATCHES needs a quoted regular expression"),
        ("data.x == y", "expected a quoted string"),
        ("data.x >= true", ">= needs a number or a string"),
        ('data.x == "a" data.y == "b"', "unexpected 'data.y'"),
        ('(data.x == "a"', "expected ')'"),
        ('data.x NOT == "a"', "NOT must be followed by"),
        ('data.x == "unterminated', "unexpected character"),
    ],
)
def test_parse_errors(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=None) as info:
        compile_expression(expr)
    assert message in str(info.value)


def test_error_column_points_at_problem() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression('data.port IN [8001, "x" 2]')
    assert info.value.column == 25
