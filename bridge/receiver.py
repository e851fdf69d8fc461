"""``POST /api/v1/alertmanager``: authenticate, bound, validate, store, answer, queue the stages.

The order is the contract with Alertmanager (see the design card): only 2xx means done, 5xx is
retried, 4xx is dropped for good. So a request that can never succeed (bad credentials, too
large, not a v4 payload) gets a 4xx; a store that is down gets a 503; and 2xx is sent only after
the store has committed every alert and the raw payload.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from aiohttp import hdrs, web
from pydantic import ValidationError

from bridge.alertmanager import describe, is_json_error, parse_payload, to_delivery
from bridge.keys import CONFIG, METRICS, STORE, WEBHOOK_AUTH
from bridge.pipeline import Batch
from bridge.pipeline.worker import WORKER
from bridge.store import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

# Alertmanager ignores Retry-After, but other senders and humans with curl do not.
RETRY_AFTER_SECONDS = "5"
READ_CHUNK = 64 * 1024


async def receive_alertmanager(request: web.Request) -> web.Response:
    started = time.perf_counter()
    try:
        response = await _receive(request)
    except Exception:
        logger.exception("webhook failed unexpectedly")
        response = web.json_response({"error": "internal error"}, status=500)
    metrics = request.app[METRICS]
    metrics.webhook_requests.labels(code=str(response.status)).inc()
    metrics.webhook_duration.observe(time.perf_counter() - started)
    return response


def _error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once more than ``limit`` bytes arrive (whatever Content-Length said)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _receive(request: web.Request) -> web.Response:
    app = request.app
    authenticator = app[WEBHOOK_AUTH]
    if not authenticator.allows(request.headers.get(hdrs.AUTHORIZATION)):
        return authenticator.challenge()

    limit = app[CONFIG].max_body_bytes
    too_large = f"body larger than max_body_bytes ({limit} bytes)"
    if request.content_length is not None and request.content_length > limit:
        return _error(413, too_large)
    body = await read_limited(request, limit)
    if body is None:
        return _error(413, too_large)

    try:
        payload = parse_payload(body)
    except ValidationError as exc:
        problems = describe(exc)
        if is_json_error(exc):
            return _error(400, f"body is not JSON: {problems[0]}")
        return _error(400, f"invalid Alertmanager v4 payload: {problems[0]}", details=problems)

    delivery = to_delivery(payload, body, received_at=datetime.now(UTC))
    metrics = app[METRICS]
    try:
        receipts = await app[STORE].record_delivery(delivery)
    except StoreUnavailable as exc:
        metrics.store_up.set(0)
        logger.warning("store unavailable, answering 503 for group %s: %s", payload.group_key, exc)
        response = _error(503, "alert store unavailable; retry later")
        response.headers[hdrs.RETRY_AFTER] = RETRY_AFTER_SECONDS
        return response
    except StoreError:
        logger.exception("store failed for group %s", payload.group_key)
        return _error(500, "alert store error")
    metrics.store_up.set(1)

    duplicates = sum(r.duplicate for r in receipts)
    # One counter update per status, not per alert: label look-ups take a lock each.
    firing = sum(alert.status == "firing" for alert in delivery.alerts)
    if firing:
        metrics.alerts_received.labels(status="firing").inc(firing)
    if firing < len(delivery.alerts):
        metrics.alerts_received.labels(status="resolved").inc(len(delivery.alerts) - firing)
    metrics.alerts_duplicate.inc(duplicates)
    logger.info(
        "received group %s: %d alert(s), %d new, %d duplicate%s",
        payload.group_key,
        len(receipts),
        len(receipts) - duplicates,
        duplicates,
        f", {payload.truncated_alerts} truncated" if payload.truncated_alerts else "",
    )

    if payload.truncated_alerts:
        # Alertmanager left alerts out (max_alerts): their absence says nothing about them,
        # and the expiry sweep spares this group while it keeps arriving truncated.
        metrics.alerts_truncated.inc(payload.truncated_alerts)
        logger.warning(
            "group %s truncated: %d alert(s) not sent; they are not taken as resolved",
            payload.group_key,
            payload.truncated_alerts,
        )

    # The stages run in the background worker: answering now is safe because every receipt
    # stays unprocessed in the store until the pipeline's write marks it. A full queue makes
    # the answer wait briefly for room (backpressure); if it stays full, the recovery sweep
    # claims the receipts later.
    if not await app[WORKER].admit(Batch(delivery=delivery, receipts=receipts)):
        logger.debug("pipeline queue full: group %s left to the recovery sweep", payload.group_key)

    return web.json_response(
        {"status": "stored", "alerts": len(receipts), "duplicates": duplicates}
    )
