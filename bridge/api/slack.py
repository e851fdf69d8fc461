"""``POST /api/v1/slack/interactions``: Acknowledge and Resolve buttons clicked in Slack.

Order matters: the signature over the raw body is checked first (401 and nothing else happens
when it fails or is replayed), then the payload is parsed, then the action goes through the
same store transition as the lifecycle API. Acknowledged and resolved alerts are no longer
open, so escalation stops; the ``chat.update`` of the message runs in the background, so Slack
gets its answer well within its 3-second limit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web
from redis.exceptions import RedisError

from bridge.api.common import error, store_unavailable
from bridge.escalation.runtime import HUB
from bridge.keys import CONFIG, METRICS, REDIS, STORE
from bridge.notify.slack_interactions import (
    RedisReplayGuard,
    Replays,
    SlackPayloadError,
    SlackSignatureError,
    parse_block_action,
    verify_slack_signature,
)
from bridge.store import StoreUnavailable
from bridge.store.records import AlertNotFound, InvalidTransition, Transition

logger = logging.getLogger(__name__)


def _ephemeral(text: str) -> web.Response:
    # Slack shows nothing for a 200 to block_actions; the text is for logs and tests.
    return web.json_response({"text": text})


async def slack_interactions(request: web.Request) -> web.Response:
    config, hub = request.app[CONFIG], request.app[HUB]
    body = await request.read()
    if config.slack is None or config.slack.signing_secret is None:
        return error(401, "Slack interactivity is not configured (slack.signing_secret)")
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    signature = request.headers.get("X-Slack-Signature")
    now = hub.wall_clock()
    try:
        verify_slack_signature(
            signing_secret=config.slack.signing_secret.get_secret_value(),
            timestamp=timestamp,
            signature=signature,
            body=body,
            now=now,
        )
        # verify_slack_signature refused missing headers above.
        assert signature is not None
        assert timestamp is not None
        # With replicas behind one Slack app, a replay may reach another replica: share the memory.
        redis = request.app[REDIS]
        guard: Replays = hub.replay_guard if redis is None else RedisReplayGuard(redis)
        await guard.check(signature=signature, timestamp=timestamp, now=now)
    except SlackSignatureError as exc:
        logger.warning("Slack interaction refused: %s", exc)
        return error(401, f"invalid Slack request: {exc}")
    except RedisError as exc:
        logger.warning(
            "Slack interaction refused: replay check unavailable: %s", type(exc).__name__
        )
        return error(503, "replay check unavailable (Redis); Slack will show the click failed")
    try:
        action = parse_block_action(body)
    except SlackPayloadError as exc:
        return error(400, str(exc))
    if not action.alert_id.isdigit():
        return _ephemeral(f"unknown alert {action.alert_id}")
    alert_id = int(action.alert_id)
    change = Transition(
        alert_id=alert_id,
        action=action.action,
        by=f"slack:{action.user_name}",
        at=datetime.now(UTC),
        comment="via Slack",
    )
    try:
        alert = await request.app[STORE].transition(change)
    except AlertNotFound:
        return _ephemeral(f"alert {alert_id} does not exist")
    except InvalidTransition as exc:
        return _ephemeral(str(exc))
    except StoreUnavailable:
        return store_unavailable()
    logger.info("alert %d %s by slack:%s", alert_id, alert.status, action.user_name)
    metrics = request.app[METRICS]
    if alert.status == "acknowledged" and alert.acknowledged_at is not None:
        metrics.observe_acknowledged(
            alert.severity, (alert.acknowledged_at - alert.created_at).total_seconds()
        )
    elif alert.status == "resolved" and alert.resolved_at is not None:
        metrics.observe_resolved(
            alert.severity, (alert.resolved_at - alert.created_at).total_seconds()
        )
    if hub.dispatcher is not None:
        hub.dispatcher.update(alert_id)
    return _ephemeral(f"alert {alert_id} {alert.status} by {action.user_name}")
