"""Session-wide fixtures: a fresh PostgreSQL database, a flushed Redis database.

Connection targets default to this machine's services and can be pointed elsewhere with
``SECMON_TEST_POSTGRES_URL`` (an admin DSN allowed to create databases) and
``SECMON_TEST_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.harness.services import service_missing

pytest_plugins = ["tests.harness.processes"]

POSTGRES_ADMIN_URL = os.environ.get(
    "SECMON_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SECMON_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """DSN of a database created for this test session and dropped after it."""
    import asyncpg

    name = f"secmon_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {POSTGRES_ADMIN_URL.split('@')[-1]}: {exc}")
    yield _with_database(POSTGRES_ADMIN_URL, name)
    asyncio.run(drop())


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """URL of a dedicated Redis database, flushed before and after the test."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except (OSError, aioredis.ConnectionError) as exc:
        await client.aclose()
        service_missing(f"Redis at {REDIS_URL}: {exc}")
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()
