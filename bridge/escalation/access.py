"""The escalation side of whichever alert store the app opened."""

from __future__ import annotations

from bridge.escalation.records import EscalationStore
from bridge.store import AlertStore
from bridge.store.postgres import PostgresStore
from bridge.store.sqlite import SqliteStore


def escalation_store(store: AlertStore) -> EscalationStore:
    """The :class:`EscalationStore` sharing ``store``'s connections (and its timeouts)."""
    if isinstance(store, SqliteStore | PostgresStore):
        return store.escalation_store()
    raise TypeError(f"{type(store).__name__} has no escalation store")
