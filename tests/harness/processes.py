"""Real Prometheus and Alertmanager processes for tests (filled in by the harness commit)."""
