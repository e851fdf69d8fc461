"""Durable, time-based escalation of open alerts (the seed's ``AlertEscalationEngine``)."""
