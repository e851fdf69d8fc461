"""A scratch PostgreSQL database for a benchmark: created on entry, dropped on exit."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg


@asynccontextmanager
async def scratch_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """Create ``<prefix>_<pid>`` on the server of ``admin_url`` and yield its URL; drop it
    afterwards, whatever happened (``WITH (FORCE)`` closes connections left open)."""
    name = f"{prefix}_{os.getpid()}"
    admin = await asyncpg.connect(admin_url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
