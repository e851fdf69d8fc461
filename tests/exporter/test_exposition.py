"""Pre-rendered exposition: byte-for-byte what prometheus-client writes, and fresh after updates."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.samples import Exemplar

from exporter.collectors.base import Snapshot
from exporter.detection import DetectionState, load_rules
from exporter.events import Event
from exporter.exposition import (
    Cached,
    Exposition,
    Format,
    Live,
    UnsupportedFamily,
    format_for,
    render_family,
)
from exporter.http import _render
from exporter.inventory import Inventory
from exporter.runtime import CollectorState, Scheduled, SnapshotMetrics
from tests.exporter.detection.test_rule_pack import EXAMPLES

RULES = Path(__file__).resolve().parents[2] / "rules"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Fixed:
    """A custom collector returning the same families every time."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def awkward_families() -> list[Metric]:
    gauge = GaugeMetricFamily(
        "t_gauge", 'Help with \\ backslash, "quotes"\nand a newline.', labels=["a", "b"]
    )
    gauge.add_metric(['back\\slash "quoted"', "new\nline"], 1)
    gauge.add_metric(["ünïcödé ✓ 日本", ""], 0.5)
    gauge.add_metric(["nan", "x"], math.nan)
    gauge.add_metric(["inf", "x"], math.inf)
    gauge.add_metric(["-inf", "x"], -math.inf)
    gauge.add_metric(["big", "x"], 1.5e17)
    gauge.add_metric(["small", "x"], -3e-9)
    gauge.add_metric(["int", "x"], 42)
    counter = CounterMetricFamily("t_events", "Events.", labels=["rule_id"], created=1.7e9)
    counter.add_metric(["r1"], 3, created=1.7e9)
    counter.add_metric(["r2"], 0, timestamp=1_700_000_000.25)
    info = InfoMetricFamily("t_rule", "Rule metadata.", labels=["rule_id"])
    info.add_metric(["r1"], {"name": 'Say "hi"', "severity": "high"})
    plain = GaugeMetricFamily("t_loaded", "No labels.", value=40)
    seconds = GaugeMetricFamily("t_latency_seconds", "With a unit.", unit="seconds", value=0.25)
    histogram = HistogramMetricFamily("t_hist", "Histogram.", labels=["op"])
    histogram.add_metric(["get"], [("0.1", 2), ("1.0", 5), ("+Inf", 6)], sum_value=3.5)
    gauge_histogram = GaugeHistogramMetricFamily(
        "t_ghist", "Gauge histogram.", buckets=[("1.0", 1), ("+Inf", 3)], gsum_value=2
    )
    summary = SummaryMetricFamily("t_summary", "Summary.", count_value=4, sum_value=1.25)
    stateset = StateSetMetricFamily("t_state", "State set.", value={"on": True, "off": False})
    unknown = UnknownMetricFamily("t_unknown", "Unknown.", value=7)
    empty = GaugeMetricFamily("t_empty", "No samples at all.", labels=["a"])
    return [
        gauge,
        counter,
        info,
        plain,
        seconds,
        histogram,
        gauge_histogram,
        summary,
        stateset,
        unknown,
        empty,
    ]


def expected(collector: Fixed | CollectorRegistry, fmt: Format) -> bytes:
    registry = collector
    if isinstance(collector, Fixed):
        registry = CollectorRegistry()
        registry.register(collector)
    assert isinstance(registry, CollectorRegistry)
    if fmt is Format.TEXT:
        return generate_latest(registry)
    body: bytes = om_exposition.generate_latest(registry)  # type: ignore[no-untyped-call]
    return body


@pytest.mark.parametrize("fmt", list(Format))
def test_awkward_families_match_prometheus_client_byte_for_byte(fmt: Format) -> None:
    source = Fixed(awkward_families())
    assert Exposition([Live(source)]).render(fmt) == expected(source, fmt)


def test_awkward_families_parse_back_to_the_same_samples() -> None:
    source = Fixed(awkward_families())
    exposition = Exposition([Live(source)])
    text = exposition.render(Format.TEXT).decode()
    openmetrics = exposition.render(Format.OPENMETRICS).decode()
    assert openmetrics.endswith("# EOF\n")
    assert openmetrics.count("# EOF") == 1
    families = list(om_parse(openmetrics))  # type: ignore[no-untyped-call]  # untyped upstream
    gauge = next(f for f in families if f.name == "t_gauge")
    assert gauge.samples[0].labels == {"a": 'back\\slash "quoted"', "b": "new\nline"}
    assert gauge.samples[1].labels == {"a": "ünïcödé ✓ 日本", "b": ""}
    assert math.isnan(gauge.samples[2].value)
    parsed = {f.name: f for f in text_parse(text)}
    assert parsed["t_gauge"].samples[3].value == math.inf
    assert parsed["t_rule_info"].type == "gauge"  # the text format has no info type


def test_the_self_metrics_with_created_series_match() -> None:
    registry = CollectorRegistry()
    up = Gauge("t_up", "Up.", ["collector"], registry=registry)
    errors = Counter("t_errors", "Errors.", ["collector", "reason"], registry=registry)
    up.labels("edge").set(1)
    errors.labels("edge", "timeout").inc()
    exposition = Exposition([Live(up, errors)])
    for fmt in Format:
        assert exposition.render(fmt) == expected(registry, fmt)


class Stub:
    """Just enough of a collector for a CollectorState holding a ready-made snapshot."""

    interval = 60.0

    def __init__(self, name: str) -> None:
        self.name = name

    async def poll(self) -> Snapshot:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def state_with(name: str, families: Sequence[Metric]) -> CollectorState:
    state = CollectorState(Scheduled(collector=Stub(name), type="kong", timeout=1))
    state.snapshot = Snapshot(events=(), taken_at=0.0, metrics=families)
    return state


def test_same_named_families_across_collectors_merge_like_the_registry_does() -> None:
    def families(collector: str) -> list[Metric]:
        gauge = GaugeMetricFamily("t_listeners", "Listeners.", labels=["collector"])
        gauge.add_metric([collector], 1)
        counter = CounterMetricFamily("t_calls", "Calls.", labels=["collector"], created=1.0)
        counter.add_metric([collector], 2, created=1.0)
        return [gauge, counter]

    snapshots = SnapshotMetrics(
        [state_with("edge", families("edge")), state_with("dr", families("dr"))]
    )
    registry = CollectorRegistry()
    registry.register(snapshots)
    exposition = Exposition([snapshots])
    for fmt in Format:
        body = exposition.render(fmt)
        assert body == expected(registry, fmt)
        assert body.count(b"# TYPE t_listeners ") == 1


def detection_with_violations() -> DetectionState:
    state = DetectionState(load_rules([RULES]))
    base = [event for pair in EXAMPLES.values() for event in pair]
    awkward = replace(base[0], asset='we"ird\\asset\nname ✓')
    state.update("bench", [replace(e, asset=f"asset-{i}") for i in range(20) for e in base])
    state.update("other", [awkward, *base])
    return state


@pytest.mark.parametrize("fmt", list(Format))
def test_detection_and_inventory_match_prometheus_client(fmt: Format) -> None:
    detection = detection_with_violations()
    assert len(detection.violations()) > 40
    inventory = Inventory(violations=detection.violations, violations_version=detection.version)
    inventory.enrich("bench", [e for pair in EXAMPLES.values() for e in pair])
    registry = CollectorRegistry()
    registry.register(detection)
    registry.register(inventory)
    exposition = Exposition([Cached(detection), Cached(inventory)])
    assert exposition.render(fmt) == expected(registry, fmt)


def violation_lines(body: bytes) -> list[str]:
    return [
        line for line in body.decode().splitlines() if line.startswith("secmon_rule_violation{")
    ]


def test_a_scrape_after_update_reflects_it() -> None:
    detection = DetectionState(load_rules([RULES]))
    inventory = Inventory(violations=detection.violations, violations_version=detection.version)
    exposition = Exposition([Cached(detection), Cached(inventory)])
    empty = exposition.render(Format.TEXT)
    assert violation_lines(empty) == []
    assert b"secmon_asset_security_score{" not in empty
    events = [e for pair in EXAMPLES.values() for e in pair if e.kind == "state"]
    detection.update("edge", events)
    first = exposition.render(Format.TEXT)
    assert violation_lines(first)
    assert b"secmon_asset_security_score{" in first  # the inventory follows the violations
    assert b'asset="fresh"' not in first
    inventory.enrich("edge", [replace(events[0], asset="fresh")])
    assert b'asset="fresh"' in exposition.render(Format.TEXT)
    detection.update("edge", [])
    assert violation_lines(exposition.render(Format.OPENMETRICS)) == []


def test_unchanged_sources_are_not_rendered_again() -> None:
    detection = DetectionState(load_rules([RULES]))
    calls = 0
    collect = detection.collect

    def counting() -> Iterable[Metric]:
        nonlocal calls
        calls += 1
        return collect()

    detection.collect = counting  # type: ignore[method-assign]
    exposition = Exposition([Cached(detection)])
    for fmt in (Format.TEXT, Format.OPENMETRICS, Format.TEXT):
        exposition.render(fmt)
    exposition.refresh()
    assert calls == 1
    detection.update("edge", [])
    exposition.refresh()
    exposition.render(Format.TEXT)
    assert calls == 2


def generation_events(generation: int, assets: int) -> list[Event]:
    world_open = EXAMPLES[next(iter(EXAMPLES))][0]
    return [replace(world_open, asset=f"g{generation}-a{i}") for i in range(assets)]


def test_concurrent_scrapes_during_updates_see_whole_updates() -> None:
    detection = DetectionState(load_rules([RULES]))
    exposition = Exposition([Cached(detection)])
    assets = 30
    detection.update("edge", generation_events(0, assets))
    per_update = len(violation_lines(exposition.render(Format.TEXT)))
    assert per_update >= assets
    stop = threading.Event()
    problems: list[str] = []
    scrapes = 0

    def scrape() -> None:
        nonlocal scrapes
        while not stop.is_set():
            for fmt in Format:
                lines = violation_lines(exposition.render(fmt))
                generations = {line.split('asset="g')[1].split("-")[0] for line in lines}
                if len(lines) != per_update or len(generations) != 1:
                    problems.append(f"{len(lines)} lines from generations {generations}")
                scrapes += 1

    threads = [threading.Thread(target=scrape) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for generation in range(1, 40):
            detection.update("edge", generation_events(generation, assets))
            exposition.refresh()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert problems == []
    assert scrapes > 0
    last = violation_lines(exposition.render(Format.TEXT))
    assert all('asset="g39-' in line for line in last)


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("", Format.TEXT),
        ("text/plain;version=0.0.4", Format.TEXT),
        ("text/plain;version=1.0.0", Format.TEXT),
        (PROMETHEUS_ACCEPT, Format.OPENMETRICS),
        ("application/openmetrics-text;version=1.0.0;escaping=underscores", Format.OPENMETRICS),
        ("application/openmetrics-text", Format.OPENMETRICS),
        ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8", None),
        ("application/openmetrics-text;version=2.0.0", None),
        ("text/plain;version=1.0.0;escaping=dots", None),
    ],
)
def test_negotiated_encoders_map_to_pre_rendered_formats(accept: str, fmt: Format | None) -> None:
    encoder, _ = choose_encoder(accept)
    assert format_for(encoder) is fmt


def test_unsupported_families_fall_back_to_prometheus_client() -> None:
    counter = CounterMetricFamily("t_requests", "Requests.", labels=["path"])
    counter.add_metric(["/"], 1, exemplar=Exemplar({"trace_id": "abc"}, 1.0))
    source = Fixed([counter])
    with pytest.raises(UnsupportedFamily):
        render_family(counter)
    registry = CollectorRegistry()
    registry.register(source)
    encoder, _ = choose_encoder(PROMETHEUS_ACCEPT)
    body = _render(Exposition([Live(source)]), registry, encoder)
    assert b"trace_id" in body
    assert body == expected(source, Format.OPENMETRICS)
