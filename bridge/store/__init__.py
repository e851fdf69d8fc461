"""Alert history storage: one interface (:mod:`bridge.store.base`), SQLite and PostgreSQL.

:func:`open_store` picks the backend from the database URL's scheme.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.config import StoreOptions
from bridge.store.base import AlertStore, StoreError, StoreUnavailable
from bridge.store.postgres import PostgresStore
from bridge.store.sqlite import SqliteStore

__all__ = ["AlertStore", "StoreError", "StoreUnavailable", "open_store"]


async def _open_sqlite(url: str, options: StoreOptions) -> AlertStore:
    return await SqliteStore.open(url, timeout_seconds=options.timeout_seconds)


async def _open_postgres(url: str, options: StoreOptions) -> AlertStore:
    return await PostgresStore.open(
        url,
        timeout_seconds=options.timeout_seconds,
        min_size=options.pool_min_size,
        max_size=options.pool_max_size,
    )


BACKENDS: dict[str, Callable[[str, StoreOptions], Awaitable[AlertStore]]] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
    "postgres": _open_postgres,
}


async def open_store(url: str, options: StoreOptions | None = None) -> AlertStore:
    """Open the store ``url`` names and bring its schema up to date."""
    scheme = url.partition("://")[0]
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise StoreError(f"unsupported database URL scheme {scheme!r}")
    return await backend(url, options or StoreOptions())
