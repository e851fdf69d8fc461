"""Reproducible benchmarks; `make bench` runs them and docs/benchmarks.md records the numbers."""
