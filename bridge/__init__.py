"""secmon bridge: receives Alertmanager webhooks, stores, classifies and escalates alerts."""

__version__ = "0.1.0"
