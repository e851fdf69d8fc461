"""Pre-rendered ``/metrics``: exposition text built when data changes, not on every scrape.

Almost everything the exporter exposes changes only when a collector polls (every 30 s to 1 h)
while Prometheus scrapes every 15-30 s, and prometheus-client's ``generate_latest`` spends most
of its time re-validating and re-escaping the same label and metric names for every sample
(~40 µs a sample; 25,000 series took ~240 ms). So each source's families are rendered once per
change into :class:`RenderedFamily` byte strings for both formats the exporter negotiates
(Prometheus text 0.0.4 and OpenMetrics 1.0.0, names escaped with ``underscores``), and a scrape
only concatenates them.

Output is byte-for-byte what prometheus-client would produce for the same families
(``tests/exporter/test_exposition.py`` holds it to that): label VALUES get the usual backslash,
double-quote and newline escaping; metric and label NAMES are escaped by prometheus-client's own
functions, memoised, since the set of names is small and fixed once rules and collectors load.
Families that share a name across sources are merged (one ``# HELP``/``# TYPE`` pair, samples in
source order), as :class:`exporter.runtime.SnapshotMetrics` already does within collectors.

Exemplars and native histograms are not rendered here (the exporter emits neither): a family
carrying one raises :class:`UnsupportedFamily`, and the HTTP handler falls back to
prometheus-client for that scrape.
"""

from __future__ import annotations

import enum
import functools
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import exposition as text_exposition
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.utils import floatToGoString


class Format(enum.Enum):
    """The exposition formats rendered ahead of time."""

    TEXT = "text"  # text/plain; version=0.0.4 (and 1.0.0 with underscores escaping)
    OPENMETRICS = "openmetrics"  # application/openmetrics-text; version=1.0.0


class UnsupportedFamily(ValueError):
    """A family uses a feature this renderer leaves to prometheus-client (exemplars, …)."""


class SupportsCollect(Protocol):
    """A prometheus-client custom collector."""

    def collect(self) -> Iterable[Metric]: ...


class Versioned(SupportsCollect, Protocol):
    """A collector whose output changes only when ``version()`` does.

    ``version()`` must change *after* the data ``collect()`` reads has been replaced, so a
    reader that takes the version first and collects second never pairs a new version with old
    data (at worst it renders the same data twice).
    """

    def version(self) -> Hashable: ...


class Part(Protocol):
    """One source of rendered families, in exposition order."""

    def rendered(self) -> Sequence[RenderedFamily]: ...


@dataclass(frozen=True, slots=True)
class RenderedFamily:
    """One metric family as exposition bytes, both formats.

    ``text_extra`` holds the text format's ``_created``/``_gsum``/``_gcount`` sample lines by
    suffix: that format moves them into gauge families of their own after the main one.
    """

    name: str
    documentation: str
    text_header: bytes
    text_samples: bytes
    text_extra: Mapping[str, bytes]
    om_header: bytes
    om_samples: bytes


_TEXT_EXTRA_SUFFIXES = ("_created", "_gsum", "_gcount")
# How the text format renames OpenMetrics types (as prometheus-client's generate_latest does).
_TEXT_TYPES = {
    "info": "gauge",
    "stateset": "gauge",
    "gaugehistogram": "histogram",
    "unknown": "untyped",
}


@functools.cache
def _label_name(name: str) -> str:
    return om.escape_label_name(name, om.UNDERSCORES)


@functools.cache
def _text_sample_name(name: str) -> str:
    return om.escape_metric_name(name, om.UNDERSCORES)


@functools.cache
def _om_sample_name(name: str) -> str:
    # OpenMetrics' generate_latest escapes sample names with the label-name rune set.
    return om._escape(name, om.UNDERSCORES, om._is_legacy_labelname_rune)


def _float(value: float) -> str:
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]  # untyped upstream
    return text


def escape_label_value(value: str) -> str:
    """Label value escaping shared by both formats: backslash, newline, double quote."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _text_help(name: str, documentation: str) -> str:
    doc = documentation.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {_text_sample_name(name)} {doc}\n"


def _headers(metric: Metric) -> tuple[str, str]:
    name, kind = metric.name, metric.type
    if kind == "counter":
        name += "_total"
    elif kind == "info":
        name += "_info"
    text_name = _text_sample_name(name)
    text_type = _TEXT_TYPES.get(kind, kind)
    text = f"{_text_help(name, metric.documentation)}# TYPE {text_name} {text_type}\n"
    om_name = om.escape_metric_name(metric.name, om.UNDERSCORES)
    om_doc = escape_label_value(metric.documentation)
    openmetrics = f"# HELP {om_name} {om_doc}\n# TYPE {om_name} {metric.type}\n"
    if metric.unit:
        openmetrics += f"# UNIT {om_name} {metric.unit}\n"
    return text, openmetrics


def render_family(metric: Metric) -> RenderedFamily:
    """Both formats of one family, exactly as prometheus-client's encoders would write it."""
    text_lines: list[str] = []
    om_lines: list[str] = []
    extra: dict[str, list[str]] = {}
    extras = {metric.name + suffix: suffix for suffix in _TEXT_EXTRA_SUFFIXES}
    for sample in metric.samples:
        if sample.exemplar is not None or sample.native_histogram is not None:
            raise UnsupportedFamily(f"{metric.name}: exemplars and native histograms")
        labels = sample.labels
        if labels:
            pairs = [
                f'{_label_name(k)}="{escape_label_value(v)}"' for k, v in sorted(labels.items())
            ]
            rest = "{" + ",".join(pairs) + "} " + _float(sample.value)
        else:
            rest = " " + _float(sample.value)
        name = sample.name
        timestamp = sample.timestamp
        if timestamp is None:
            om_lines.append(f"{_om_sample_name(name)}{rest}\n")
            line = f"{_text_sample_name(name)}{rest}\n"
        else:
            om_lines.append(f"{_om_sample_name(name)}{rest} {timestamp}\n")
            line = f"{_text_sample_name(name)}{rest} {int(float(timestamp) * 1000):d}\n"
        suffix = extras.get(name)
        if suffix is None:
            text_lines.append(line)
        else:
            extra.setdefault(suffix, []).append(line)
    text_header, om_header = _headers(metric)
    return RenderedFamily(
        name=metric.name,
        documentation=metric.documentation,
        text_header=text_header.encode(),
        text_samples="".join(text_lines).encode(),
        text_extra={suffix: "".join(lines).encode() for suffix, lines in extra.items()},
        om_header=om_header.encode(),
        om_samples="".join(om_lines).encode(),
    )


def render_families(metrics: Iterable[Metric]) -> tuple[RenderedFamily, ...]:
    return tuple(render_family(metric) for metric in metrics)


def join(families: Iterable[RenderedFamily], fmt: Format) -> bytes:
    """The exposition body: same-named families merged, OpenMetrics ending in one ``# EOF``."""
    merged: dict[str, list[RenderedFamily]] = {}
    for family in families:
        merged.setdefault(family.name, []).append(family)
    chunks: list[bytes] = []
    for group in merged.values():
        first = group[0]
        if fmt is Format.OPENMETRICS:
            chunks.append(first.om_header)
            chunks.extend(f.om_samples for f in group)
            continue
        chunks.append(first.text_header)
        chunks.extend(f.text_samples for f in group)
        for suffix in sorted({s for f in group for s in f.text_extra}):
            name = _text_sample_name(first.name + suffix)
            header = f"{_text_help(first.name + suffix, first.documentation)}# TYPE {name} gauge\n"
            chunks.append(header.encode())
            chunks.extend(f.text_extra.get(suffix, b"") for f in group)
    if fmt is Format.OPENMETRICS:
        chunks.append(b"# EOF\n")
    return b"".join(chunks)


class Live:
    """Rendered on every scrape: for the few self-metric series that change all the time."""

    def __init__(self, *collectors: SupportsCollect) -> None:
        self._collectors = collectors

    def rendered(self) -> Sequence[RenderedFamily]:
        return [render_family(m) for c in self._collectors for m in c.collect()]


class Cached:
    """Re-rendered only when the collector's ``version()`` changes.

    The cache is one immutable ``(version, families)`` pair swapped by reference, so a scrape
    sees one whole render; the lock only keeps two threads from rendering the same change.
    """

    def __init__(self, collector: Versioned) -> None:
        self._collector = collector
        self._lock = threading.Lock()
        self._cache: tuple[Hashable, tuple[RenderedFamily, ...]] | None = None

    def rendered(self) -> Sequence[RenderedFamily]:
        cache = self._cache
        if cache is not None and cache[0] == self._collector.version():
            return cache[1]
        with self._lock:
            version = self._collector.version()  # before collect(): see Versioned
            cache = self._cache
            if cache is None or cache[0] != version:
                cache = (version, render_families(self._collector.collect()))
                self._cache = cache
            return cache[1]


class Exposition:
    """The ordered parts of ``/metrics``; :meth:`render` is what a scrape costs."""

    def __init__(self, parts: Iterable[Part] = ()) -> None:
        self._parts: list[Part] = list(parts)

    def add(self, *parts: Part) -> None:
        self._parts.extend(parts)

    def refresh(self) -> None:
        """Bring every cache up to date; called after a poll so scrapes find it warm."""
        for part in self._parts:
            if not isinstance(part, Live):
                part.rendered()

    def render(self, fmt: Format) -> bytes:
        return join((f for part in self._parts for f in part.rendered()), fmt)


def format_for(encoder: Callable[..., bytes]) -> Format | None:
    """The pre-rendered format matching an encoder from ``choose_encoder``, else ``None``.

    Only the ``underscores`` name escaping and OpenMetrics 1.0.0 are pre-rendered; anything else
    a client negotiates (``escaping=allow-utf-8``, OpenMetrics 2.0.0) goes to prometheus-client.
    """
    func = encoder.func if isinstance(encoder, functools.partial) else encoder
    keywords = encoder.keywords if isinstance(encoder, functools.partial) else {}
    if keywords.get("escaping", om.UNDERSCORES) != om.UNDERSCORES:
        return None
    if func is text_exposition.generate_latest:
        return Format.TEXT
    if func is om.generate_latest and keywords.get("version") == "1.0.0":
        return Format.OPENMETRICS
    return None
