"""Alertmanager ``time_intervals`` syntax: a parser with field-naming errors and an evaluator.

Business hours are written exactly as in Alertmanager's configuration, so one definition can be
shared with its ``active_time_intervals``/``mute_time_intervals``::

    - times: [{start_time: "09:00", end_time: "17:00"}]
      weekdays: ["monday:friday"]
      days_of_month: ["1:-1"]      # negative days count from the end of the month
      months: ["january:december"] # names or 1-12
      years: ["2024:2030"]
      location: Europe/Berlin      # IANA name, "UTC" or "Local"

Semantics follow Alertmanager's ``timeinterval`` package: a list of intervals matches when any
interval matches; an interval matches when every field it sets matches (an absent field matches
everything); ``start_time`` is inclusive and ``end_time`` exclusive, with minute precision and
``24:00`` allowed as an end; ranges are inclusive and must not run backwards; every field is
evaluated on the wall clock of ``location`` (so DST shifts the UTC instants, not the hours).
Specs are compiled once into integer sets and minute ranges, so evaluation is a few lookups.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.frozen import frozen

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = tuple(name.lower() for name in calendar.month_name[1:])
_FIELDS = frozenset({"times", "weekdays", "days_of_month", "months", "years", "location"})
# Alertmanager's own pattern: HH:MM with a two-digit hour, or the end-of-day 24:00.
_T = TypeVar("_T")
_TIME_RE = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


class TimeIntervalError(ValueError):
    """A spec is invalid; the message starts with the path of the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@frozen
class TimeInterval:
    """One compiled interval; ``None`` fields match everything."""

    times: tuple[tuple[int, int], ...] | None  # [start, end) in minutes of the day
    weekdays: frozenset[int] | None  # 0 = Sunday, as Alertmanager numbers them
    days_of_month: tuple[tuple[int, int], ...] | None  # raw, may be negative
    months: frozenset[int] | None
    years: tuple[tuple[int, int], ...] | None
    location: tzinfo | None  # None = the caller's default time zone

    def contains(self, moment: datetime, default_tz: tzinfo) -> bool:
        local = moment.astimezone(self.location or default_tz)
        if self.times is not None:
            minute = local.hour * 60 + local.minute
            if not any(start <= minute < end for start, end in self.times):
                return False
        # isoweekday(): Monday=1 .. Sunday=7; % 7 gives Alertmanager's Sunday=0.
        if self.weekdays is not None and local.isoweekday() % 7 not in self.weekdays:
            return False
        if self.days_of_month is not None and not _day_matches(self.days_of_month, local):
            return False
        if self.months is not None and local.month not in self.months:
            return False
        return self.years is None or any(lo <= local.year <= hi for lo, hi in self.years)


def _day_matches(ranges: Sequence[tuple[int, int]], local: datetime) -> bool:
    days_in_month = calendar.monthrange(local.year, local.month)[1]
    for begin, end in ranges:
        if begin < 0:
            begin = days_in_month + begin + 1
        if end < 0:
            end = days_in_month + end + 1
        # As Alertmanager: a range starting after this month's last day does not apply, and
        # an end beyond it is clamped so "1:31" still covers February.
        if begin > days_in_month:
            continue
        end = min(end, days_in_month)
        if begin <= local.day <= end:
            return True
    return False


def in_intervals(intervals: Sequence[TimeInterval], moment: datetime, default_tz: tzinfo) -> bool:
    """True when ``moment`` (timezone-aware) falls in any of ``intervals``."""
    return any(interval.contains(moment, default_tz) for interval in intervals)


def parse_location(value: object, path: str) -> tzinfo:
    """An IANA zone name (or "Local" for this host's zone) as a tzinfo."""
    if not isinstance(value, str) or not value:
        raise TimeIntervalError(path, "must be a time zone name such as 'Europe/Berlin'")
    if value == "Local":
        local = datetime.now().astimezone().tzinfo
        assert local is not None  # astimezone() always attaches a zone
        return local
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeIntervalError(path, f"unknown time zone {value!r}") from exc


def parse_time_intervals(spec: object, path: str = "time_intervals") -> tuple[TimeInterval, ...]:
    """Compile a list of Alertmanager time interval specs; errors name the field."""
    if not isinstance(spec, list):
        raise TimeIntervalError(path, "must be a list of time intervals")
    return tuple(_parse_interval(item, f"{path}[{i}]") for i, item in enumerate(spec))


def _parse_interval(item: object, path: str) -> TimeInterval:
    if not isinstance(item, Mapping):
        raise TimeIntervalError(path, "must be a mapping")
    unknown = sorted(str(key) for key in item if key not in _FIELDS)
    if unknown:
        raise TimeIntervalError(f"{path}.{unknown[0]}", f"unknown field (allowed: {_allowed()})")
    times = _opt(item, "times", path, _parse_times)
    weekdays = _opt(item, "weekdays", path, lambda v, p: _ranges(v, p, _weekday))
    days = _opt(item, "days_of_month", path, _parse_days)
    months = _opt(item, "months", path, lambda v, p: _ranges(v, p, _month))
    years = _opt(item, "years", path, lambda v, p: tuple(_year_ranges(v, p)))
    location = _opt(item, "location", path, parse_location)
    return TimeInterval(
        times=times,
        weekdays=None if weekdays is None else _expand(weekdays),
        days_of_month=days,
        months=None if months is None else _expand(months),
        years=years,
        location=location,
    )


def _allowed() -> str:
    return ", ".join(sorted(_FIELDS))


def _opt(
    item: Mapping[Any, Any], key: str, path: str, parse: Callable[[Any, str], _T]
) -> _T | None:
    value = item.get(key)
    return None if value is None else parse(value, f"{path}.{key}")


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise TimeIntervalError(path, "must be a non-empty list")
    return value


def _parse_times(value: object, path: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for i, entry in enumerate(_list(value, path)):
        here = f"{path}[{i}]"
        if not isinstance(entry, Mapping):
            raise TimeIntervalError(here, "must be a mapping with start_time and end_time")
        unknown = sorted(str(k) for k in entry if k not in ("start_time", "end_time"))
        if unknown:
            raise TimeIntervalError(f"{here}.{unknown[0]}", "unknown field")
        start = _minutes(entry.get("start_time"), f"{here}.start_time")
        end = _minutes(entry.get("end_time"), f"{here}.end_time")
        if start >= end:
            raise TimeIntervalError(here, "start_time must be before end_time")
        out.append((start, end))
    return tuple(out)


def _minutes(value: object, path: str) -> int:
    if value is None:
        raise TimeIntervalError(path, "is required")
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise TimeIntervalError(path, f"{value!r} is not a time of day in HH:MM (00:00-24:00)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _split(token: object, path: str) -> tuple[str, str]:
    """'a:b' -> (a, b); 'a' -> (a, a). Alertmanager writes every range this way."""
    if isinstance(token, bool) or not isinstance(token, str | int):
        raise TimeIntervalError(path, f"{token!r} must be a string such as 'a' or 'a:b'")
    text = str(token).strip()
    # A leading '-' is a negative day, not a separator; split on the first ':' only.
    begin, sep, end = text.partition(":")
    if not sep:
        end = begin
    if not begin or not end or ":" in end:
        raise TimeIntervalError(path, f"{text!r} is not a value or an inclusive 'start:end' range")
    return begin.strip(), end.strip()


def _ranges(
    value: object, path: str, convert: Callable[[str, str], int]
) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for i, token in enumerate(_list(value, path)):
        here = f"{path}[{i}]"
        first, last = _split(token, here)
        begin, end = convert(first, here), convert(last, here)
        if begin > end:
            raise TimeIntervalError(here, f"range {token!r} runs backwards (start after end)")
        out.append((begin, end))
    return tuple(out)


def _expand(ranges: Sequence[tuple[int, int]]) -> frozenset[int]:
    return frozenset(n for begin, end in ranges for n in range(begin, end + 1))


def _weekday(text: str, path: str) -> int:
    try:
        return WEEKDAYS.index(text.lower())
    except ValueError:
        raise TimeIntervalError(path, f"{text!r} is not a weekday name") from None


def _month(text: str, path: str) -> int:
    if text.isdigit():
        number = int(text)
        if 1 <= number <= 12:
            return number
        raise TimeIntervalError(path, f"month {number} is outside 1-12")
    try:
        return MONTHS.index(text.lower()) + 1
    except ValueError:
        raise TimeIntervalError(path, f"{text!r} is not a month name or number") from None


def _integer(text: str, path: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise TimeIntervalError(path, f"{text!r} is not a {what}") from None


def _parse_days(value: object, path: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for i, token in enumerate(_list(value, path)):
        here = f"{path}[{i}]"
        first, last = _split(token, here)
        begin = _integer(first, here, "day of month")
        end = _integer(last, here, "day of month")
        for day in (begin, end):
            if day == 0 or not -31 <= day <= 31:
                raise TimeIntervalError(here, f"day {day} is outside 1-31 (or -31 to -1)")
        # Mixed signs ("1:-1") cannot be ordered until the month is known; Alertmanager
        # only rejects same-sign ranges that run backwards.
        if (begin > 0) == (end > 0) and begin > end:
            raise TimeIntervalError(here, f"range {token!r} runs backwards (start after end)")
        out.append((begin, end))
    return tuple(out)


def _year_ranges(value: object, path: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i, token in enumerate(_list(value, path)):
        here = f"{path}[{i}]"
        first, last = _split(token, here)
        begin, end = _integer(first, here, "year"), _integer(last, here, "year")
        if begin <= 0 or end <= 0:
            raise TimeIntervalError(here, "years must be positive")
        if begin > end:
            raise TimeIntervalError(here, f"range {token!r} runs backwards (start after end)")
        out.append((begin, end))
    return out
