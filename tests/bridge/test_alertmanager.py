"""The v4 payload model: real examples parse, edge cases of Alertmanager's encoding, any input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.alertmanager import describe, is_json_error, parse_payload, to_delivery
from tests.bridge.helpers import EXAMPLES, example, make_alert, make_payload


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_parses(path: Any) -> None:
    payload = parse_payload(path.read_bytes())
    assert payload.version == "4"
    assert payload.alerts


def test_go_zero_end_time_means_unset_and_nanoseconds_are_accepted() -> None:
    alert = make_alert("f", starts_at="2026-11-25T09:58:31.123456789Z")
    payload = parse_payload(json.dumps(make_payload(alert)).encode())
    [parsed] = payload.alerts
    assert parsed.ends_at is None
    assert parsed.starts_at == datetime(2026, 11, 25, 9, 58, 31, 123456, tzinfo=UTC)


def test_times_without_zone_are_rejected() -> None:
    body = json.dumps(make_payload(make_alert("f", starts_at="2026-11-25T09:58:31"))).encode()
    with pytest.raises(ValidationError) as caught:
        parse_payload(body)
    assert describe(caught.value)[0].startswith("alerts.0.startsAt: ")


def test_unknown_fields_are_kept_on_the_model_and_in_the_body() -> None:
    raw = example("aws-security-group-group-newer-alertmanager")
    body = json.dumps(raw).encode()
    payload = parse_payload(body)
    assert payload.model_extra == {
        "notification_reason": "group_interval",
        "routeLabels": {"team": "security"},
    }
    delivery = to_delivery(payload, body, received_at=datetime.now(UTC))
    assert json.loads(delivery.body) == raw
    assert [a.status for a in delivery.alerts] == ["firing", "firing", "resolved"]
    assert delivery.alerts[0].asset_id == "sg-0a1b2c3d"


def test_errors_do_not_echo_the_input() -> None:
    payload = make_payload(make_alert("f"))
    payload["alerts"][0]["labels"]["token"] = {"value": "do-not-echo-me"}
    with pytest.raises(ValidationError) as caught:
        parse_payload(json.dumps(payload).encode())
    assert "do-not-echo-me" not in " ".join(describe(caught.value))


def outcome(body: bytes) -> tuple[list[str], bool]:
    """The described problems (none if the body parses) and whether it was not JSON at all."""
    try:
        parse_payload(body)
    except ValidationError as exc:
        return describe(exc), is_json_error(exc)
    return [], False


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.builds(
            lambda base, key, value: {**base, key: value},
            st.just(make_payload(make_alert("f"))),
            st.sampled_from(["alerts", "version", "status", "groupKey", "truncatedAlerts"]),
            json_values,
        ),
    )
)
def test_any_json_either_parses_or_fails_with_named_fields(value: Any) -> None:
    problems, not_json = outcome(json.dumps(value).encode())
    assert not not_json
    assert all(problems)


@given(st.binary(max_size=64))
def test_any_bytes_either_parse_or_fail_as_validation_errors(body: bytes) -> None:
    # Anything else raised (UnicodeDecodeError, RecursionError...) would be a 500.
    problems, _ = outcome(body)
    assert all(problems)
