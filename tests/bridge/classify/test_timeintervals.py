"""Alertmanager time_intervals: parsing with field-naming errors, and its documented semantics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bridge.classify.timeintervals import TimeIntervalError, in_intervals, parse_time_intervals

BERLIN = ZoneInfo("Europe/Berlin")


def matches(spec: list[dict[str, Any]], moment: datetime) -> bool:
    return in_intervals(parse_time_intervals(spec), moment, UTC)


def test_times_are_start_inclusive_end_exclusive() -> None:
    spec = [{"times": [{"start_time": "09:00", "end_time": "17:00"}]}]
    assert matches(spec, datetime(2024, 3, 5, 9, 0, tzinfo=UTC))
    assert matches(spec, datetime(2024, 3, 5, 16, 59, 59, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 3, 5, 17, 0, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 3, 5, 8, 59, tzinfo=UTC))


def test_end_of_day_is_written_24_00() -> None:
    spec = [{"times": [{"start_time": "22:00", "end_time": "24:00"}]}]
    assert matches(spec, datetime(2024, 3, 5, 23, 59, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 3, 6, 0, 0, tzinfo=UTC))


def test_weekday_ranges_and_names_are_case_insensitive() -> None:
    spec = [{"weekdays": ["Monday:wednesday", "saturday"]}]
    assert matches(spec, datetime(2024, 3, 4, tzinfo=UTC))  # Monday
    assert matches(spec, datetime(2024, 3, 6, tzinfo=UTC))  # Wednesday
    assert not matches(spec, datetime(2024, 3, 7, tzinfo=UTC))  # Thursday
    assert matches(spec, datetime(2024, 3, 9, tzinfo=UTC))  # Saturday
    assert not matches(spec, datetime(2024, 3, 10, tzinfo=UTC))  # Sunday


def test_negative_days_count_from_the_end_of_the_month() -> None:
    spec = [{"days_of_month": ["-3:-1"]}]
    assert matches(spec, datetime(2024, 2, 27, tzinfo=UTC))  # leap year: 27, 28, 29
    assert not matches(spec, datetime(2024, 2, 26, tzinfo=UTC))
    assert matches(spec, datetime(2023, 2, 26, tzinfo=UTC))  # 26, 27, 28
    mixed = [{"days_of_month": ["1:-1"]}]
    assert matches(mixed, datetime(2024, 4, 30, tzinfo=UTC))


def test_day_ranges_past_the_month_end_are_clamped_or_skipped() -> None:
    assert matches([{"days_of_month": ["28:31"]}], datetime(2023, 2, 28, tzinfo=UTC))
    assert not matches([{"days_of_month": ["30:31"]}], datetime(2023, 2, 28, tzinfo=UTC))


def test_months_by_name_or_number_and_years() -> None:
    spec = [{"months": ["january:march", "12"], "years": ["2023:2024"]}]
    assert matches(spec, datetime(2024, 2, 1, tzinfo=UTC))
    assert matches(spec, datetime(2023, 12, 1, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 4, 1, tzinfo=UTC))
    assert not matches(spec, datetime(2025, 1, 1, tzinfo=UTC))


def test_all_fields_of_an_interval_must_match_any_interval_may() -> None:
    spec: list[dict[str, Any]] = [
        {"weekdays": ["monday"], "times": [{"start_time": "09:00", "end_time": "10:00"}]},
        {"weekdays": ["sunday"]},
    ]
    assert matches(spec, datetime(2024, 3, 4, 9, 30, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 3, 4, 11, 0, tzinfo=UTC))
    assert matches(spec, datetime(2024, 3, 10, 23, 0, tzinfo=UTC))
    assert not matches([], datetime(2024, 3, 4, tzinfo=UTC))


def test_location_applies_to_every_field() -> None:
    spec: list[dict[str, Any]] = [
        {
            "weekdays": ["monday"],
            "times": [{"start_time": "00:00", "end_time": "01:00"}],
            "location": "Asia/Tokyo",
        }
    ]
    # Sunday 15:30 UTC is Monday 00:30 in Tokyo.
    assert matches(spec, datetime(2024, 3, 3, 15, 30, tzinfo=UTC))
    assert not matches(spec, datetime(2024, 3, 4, 0, 30, tzinfo=UTC))


def test_default_zone_is_used_without_location() -> None:
    spec = parse_time_intervals([{"times": [{"start_time": "09:00", "end_time": "17:00"}]}])
    moment = datetime(2024, 3, 5, 8, 30, tzinfo=UTC)  # 09:30 in Berlin (CET, +1)
    assert in_intervals(spec, moment, BERLIN)
    assert not in_intervals(spec, moment, UTC)


def test_wall_clock_hours_survive_daylight_saving_changes() -> None:
    spec = parse_time_intervals(
        [{"times": [{"start_time": "09:00", "end_time": "17:00"}], "location": "Europe/Berlin"}]
    )
    # 07:30 UTC is 08:30 in winter (CET) but 09:30 in summer (CEST, from 31 March 2024).
    assert not in_intervals(spec, datetime(2024, 3, 29, 7, 30, tzinfo=UTC), UTC)
    assert in_intervals(spec, datetime(2024, 4, 2, 7, 30, tzinfo=UTC), UTC)
    # Spring-forward night: 02:00-03:00 does not exist; 01:59 CET is followed by 03:00 CEST.
    night = parse_time_intervals(
        [{"times": [{"start_time": "03:00", "end_time": "04:00"}], "location": "Europe/Berlin"}]
    )
    assert in_intervals(night, datetime(2024, 3, 31, 1, 0, tzinfo=UTC), UTC)  # 03:00 CEST


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"weekdays": ["funday"]}, r"\[0\]\.weekdays\[0\]: 'funday' is not a weekday"),
        ({"weekdays": ["friday:monday"]}, r"weekdays\[0\]: range .* runs backwards"),
        ({"times": [{"start_time": "9:00", "end_time": "17:00"}]}, r"times\[0\]\.start_time"),
        ({"times": [{"start_time": "17:00", "end_time": "09:00"}]}, r"start_time must be before"),
        ({"times": [{"start_time": "09:00", "end_time": "24:01"}]}, r"times\[0\]\.end_time"),
        ({"times": [{"start_time": "09:00"}]}, r"end_time: is required"),
        ({"days_of_month": ["0"]}, r"days_of_month\[0\]: day 0 is outside"),
        ({"days_of_month": ["32"]}, r"days_of_month\[0\]: day 32"),
        ({"days_of_month": ["10:5"]}, r"days_of_month\[0\]: range"),
        ({"months": ["13"]}, r"months\[0\]: month 13"),
        ({"months": ["smarch"]}, r"months\[0\]: 'smarch' is not a month"),
        ({"years": ["2025:2024"]}, r"years\[0\]: range"),
        ({"location": "Mars/Olympus"}, r"location: unknown time zone 'Mars/Olympus'"),
        ({"weekday": ["monday"]}, r"\[0\]\.weekday: unknown field"),
        ({"weekdays": []}, r"weekdays: must be a non-empty list"),
    ],
)
def test_invalid_specs_name_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(TimeIntervalError, match=message):
        parse_time_intervals([spec], "business_hours")


def test_the_whole_value_must_be_a_list() -> None:
    with pytest.raises(TimeIntervalError, match="business_hours: must be a list"):
        parse_time_intervals({"weekdays": ["monday"]}, "business_hours")
