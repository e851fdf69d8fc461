"""secmon exporter: polls platform APIs, evaluates detection rules, serves Prometheus metrics."""

__version__ = "0.1.0"
