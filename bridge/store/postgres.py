"""The PostgreSQL store (asyncpg pool), for production and for several bridge replicas.

Receipts are written in (fingerprint, startsAt, status) order, so concurrent deliveries that
overlap (HA Alertmanagers, group re-sends) take their row locks in the same order; payload rows
follow arrival order, and the rare deadlock that allows between two replicas' delivery
statements is run again instead of answered with a 503. Every call is bounded by the
configured timeout; connection trouble of any kind becomes
:class:`~bridge.store.base.StoreUnavailable`, which the receiver turns into a 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from bridge.jsontext import dumps, loads
from bridge.store import postgres_lifecycle as lifecycle
from bridge.store import postgres_pending
from bridge.store import postgres_sql as sql
from bridge.store.assets import PostgresAssetStore
from bridge.store.base import (
    AlertPage,
    AlertQuery,
    Delivery,
    ReceiptResult,
    StoredAlert,
    StoreError,
    StoreUnavailable,
)
from bridge.store.escalation_postgres import PostgresEscalationStore
from bridge.store.group_commit import GroupCommit
from bridge.store.migrate import load_migrations, pending
from bridge.store.pending import PendingDelivery
from bridge.store.postgres_columns import JoinedStatement
from bridge.store.postgres_rows import group_arguments, group_results, stored_alert
from bridge.store.records import (
    AlertDetail,
    AppliedWrite,
    ClassificationHistory,
    PreparedWrite,
    ProcessingWrite,
    PrunedHistory,
    Transition,
)
from bridge.store.rows import COLUMNS_SQL

T = TypeVar("T")

# Deliveries per statement at most, and statements in flight at once (see GroupCommit).
DELIVERY_GROUP = 64
DELIVERY_WRITERS = 1

# Errors that mean "not now" rather than "never": the network, the server going away or
# refusing connections, resource exhaustion, and serialization/deadlock rollbacks.
# A delivery statement PostgreSQL ended as a deadlock victim is run again (the statement is
# its own transaction and idempotent) before its webhooks get a 503.
DELIVERY_DEADLOCK_ATTEMPTS = 3
# The delivery statement with its arrays sent as joined text (see postgres_columns).
_RECORD_DELIVERIES = JoinedStatement.of(sql.RECORD_DELIVERIES)
_TEMPORARY: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
)


async def _reset_connection(connection: Any) -> None:
    """Pool release: roll back a transaction left open, nothing more.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release, one more round trip per store call. The store takes only
    transaction-scoped advisory locks and never uses cursors, LISTEN or session settings, so
    the only state a connection can carry back into the pool is an unfinished transaction.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def _init_connection(connection: Any) -> None:
    await connection.set_type_codec("jsonb", encoder=dumps, decoder=loads, schema="pg_catalog")


class PostgresStore:
    """:class:`~bridge.store.base.AlertStore` on PostgreSQL."""

    def __init__(self, pool: Any, *, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        # Webhooks that arrive while a delivery statement is in flight share the next one.
        self._deliveries: GroupCommit[Delivery, list[ReceiptResult]] = GroupCommit(
            self._record_group, max_group=DELIVERY_GROUP, max_in_flight=DELIVERY_WRITERS
        )

    @classmethod
    async def open(
        cls, url: str, *, timeout_seconds: float = 5.0, min_size: int = 1, max_size: int = 10
    ) -> PostgresStore:
        """Connect a pool and apply pending migrations; raises StoreError on failure."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout_seconds,
                command_timeout=timeout_seconds,
                init=_init_connection,
                reset=_reset_connection,
            )
        except (*_TEMPORARY, asyncpg.PostgresError) as exc:
            # The DSN may carry a password: say what failed, never where to.
            raise StoreError(f"cannot connect to PostgreSQL: {type(exc).__name__}: {exc}") from exc
        store = cls(pool, timeout=timeout_seconds)
        try:
            await store._guard(store._migrate())
        except BaseException:
            await store.close()
            raise
        return store

    async def _migrate(self) -> None:
        migrations = load_migrations("postgres")
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", sql.SCHEMA_LOCK_KEY)
            await connection.execute(sql.CREATE_SCHEMA_MIGRATIONS)
            applied = await connection.fetchval(sql.SELECT_SCHEMA_VERSION)
            try:
                todo = pending(migrations, applied)
            except ValueError as exc:
                raise StoreError(str(exc)) from None
            for migration in todo:
                async with connection.transaction():  # a savepoint per migration
                    await connection.execute(migration.sql)
                    await connection.execute(
                        sql.INSERT_SCHEMA_VERSION, migration.version, migration.name
                    )

    async def _guard(self, operation: Awaitable[T]) -> T:
        try:
            # Not wait_for: on 3.11 it drops a cancellation that races with the operation
            # finishing, and a background loop calling the store then never stops.
            async with asyncio.timeout(self._timeout * 2):
                return await operation
        except _TEMPORARY as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {type(exc).__name__}: {exc}") from exc
        except asyncpg.PostgresError as exc:
            raise StoreError(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc

    async def _with_connection(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        async def run() -> T:
            async with self._pool.acquire(timeout=self._timeout) as connection:
                return await fn(connection)

        return await self._guard(run())

    async def record_delivery(self, delivery: Delivery) -> list[ReceiptResult]:
        return await self._deliveries.submit(delivery)

    def observe_delivery_groups(self, observe: Callable[[int], None] | None) -> None:
        """Have ``observe`` told how many deliveries each delivery statement records."""
        self._deliveries.on_group = observe

    async def _record_group(
        self, deliveries: list[Delivery]
    ) -> list[list[ReceiptResult] | BaseException]:
        """Record a group of deliveries in one statement. A delivery the database refuses
        (say, a body jsonb cannot hold) must not fail the others: on such an error each is
        tried again alone, and only the one at fault gets it. Trouble reaching the
        database fails the whole group: every delivery of it answers 503."""
        group = group_arguments(deliveries)
        statement, arguments = _RECORD_DELIVERIES.bind(group.arguments)

        async def run(connection: Any) -> list[list[ReceiptResult]]:
            for attempt in range(1, DELIVERY_DEADLOCK_ATTEMPTS + 1):
                try:
                    rows = await connection.fetch(statement, *arguments)
                    break
                except asyncpg.exceptions.DeadlockDetectedError:
                    # Another replica's statement holds a payload row this one needs, and
                    # the other way round (see RECORD_DELIVERIES); PostgreSQL rolled this
                    # one back whole, so running it again records the group once.
                    if attempt == DELIVERY_DEADLOCK_ATTEMPTS:
                        raise
            return group_results(deliveries, group, rows)

        try:
            return list(await self._with_connection(run))
        except StoreUnavailable:
            raise
        except StoreError:
            if len(deliveries) == 1:
                raise
        outcomes: list[list[ReceiptResult] | BaseException] = []
        for delivery in deliveries:
            try:
                outcomes.extend(await self._record_group([delivery]))
            except StoreUnavailable:
                raise
            except StoreError as exc:
                outcomes.append(exc)
        return outcomes

    async def list_alerts(self, query: AlertQuery) -> AlertPage:
        clauses: list[str] = []
        params: list[Any] = []
        filters = {
            "status": query.status,
            "severity": query.severity,
            "rule_id": query.rule_id,
            "asset_id": query.asset_id,
        }
        for column, value in filters.items():
            if value is not None:
                params.append(value)
                clauses.append(f"{column} = ${len(params)}")
        if query.since is not None:
            params.append(query.since)
            clauses.append(f"created_at >= ${len(params)}")
        if query.before_id is not None:
            params.append(query.before_id)
            clauses.append(f"id < ${len(params)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(query.limit + 1)
        # Column names are the fixed strings above; values are always bind parameters.
        statement = (
            f"SELECT {COLUMNS_SQL} FROM alert_instances {where} "  # noqa: S608
            f"ORDER BY id DESC LIMIT ${len(params)}"
        )

        async def run(connection: Any) -> AlertPage:
            rows = await connection.fetch(statement, *params)
            alerts = [stored_alert(row) for row in rows[: query.limit]]
            next_before = alerts[-1].id if len(rows) > query.limit else None
            return AlertPage(alerts=alerts, next_before_id=next_before)

        return await self._with_connection(run)

    async def get_alert(self, alert_id: int) -> AlertDetail | None:
        return await self._with_connection(lambda c: lifecycle.get_alert(c, alert_id))

    async def classification_history(
        self,
        pairs: Sequence[tuple[str | None, str | None]],
        *,
        now: datetime,
    ) -> ClassificationHistory:
        return await self._with_connection(
            lambda c: lifecycle.classification_history(c, pairs, now)
        )

    async def apply_processing(self, write: ProcessingWrite) -> AppliedWrite:
        return await self.apply_prepared(self.prepare_processing(write))

    def prepare_processing(self, write: ProcessingWrite) -> PreparedWrite:
        return lifecycle.prepare_processing(write)

    async def apply_prepared(self, prepared: PreparedWrite) -> AppliedWrite:
        return await self._with_connection(lambda c: lifecycle.apply_prepared(c, prepared))

    async def claim_unprocessed(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[PendingDelivery]:
        return await self._with_connection(
            lambda c: postgres_pending.claim_unprocessed(c, now, lease, limit)
        )

    async def transition(self, transition: Transition) -> StoredAlert:
        return await self._with_connection(lambda c: lifecycle.transition(c, transition))

    async def expire_stale(self, *, cutoff: datetime, now: datetime) -> list[StoredAlert]:
        return await self._with_connection(lambda c: lifecycle.expire_stale(c, cutoff, now))

    async def end_suppressions(self, *, now: datetime) -> list[StoredAlert]:
        return await self._with_connection(lambda c: lifecycle.end_suppressions(c, now))

    async def open_counts(self) -> dict[str, int]:
        return await self._with_connection(lifecycle.open_counts)

    async def prune_payload_bodies(self, *, received_before: datetime, limit: int) -> int:
        return await self._with_connection(
            lambda c: lifecycle.prune_payload_bodies(c, received_before, limit)
        )

    async def prune_history(self, *, before: datetime, limit: int) -> PrunedHistory:
        return await self._with_connection(lambda c: lifecycle.prune_history(c, before, limit))

    async def ping(self) -> None:
        async def run(connection: Any) -> None:
            await connection.fetchval(sql.SELECT_SCHEMA_VERSION)

        await self._with_connection(run)

    def asset_store(self) -> PostgresAssetStore:
        """The ``assets`` table the dashboards read (filled by the asset sync)."""
        return PostgresAssetStore(with_connection=self._with_connection)

    def escalation_store(self) -> PostgresEscalationStore:
        """Escalation claims, message refs, delivery log and dead letters (issue 6)."""
        return PostgresEscalationStore(with_connection=self._with_connection)

    async def close(self) -> None:
        await self._deliveries.close()
        try:
            await asyncio.wait_for(self._pool.close(), timeout=self._timeout)
        except _TEMPORARY:
            self._pool.terminate()
