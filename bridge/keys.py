"""Typed keys for what the aiohttp application carries (``app[STORE]`` and friends)."""

from __future__ import annotations

from aiohttp import ClientSession, web
from redis.asyncio import Redis

from bridge.auth import Authenticator
from bridge.config import BridgeConfig
from bridge.metrics import BridgeMetrics
from bridge.pipeline import Pipeline
from bridge.store import AlertStore

CONFIG = web.AppKey("secmon_config", BridgeConfig)
METRICS = web.AppKey("secmon_metrics", BridgeMetrics)
PIPELINE = web.AppKey("secmon_pipeline", Pipeline)
WEBHOOK_AUTH = web.AppKey("secmon_webhook_auth", Authenticator)
API_AUTH = web.AppKey("secmon_api_auth", Authenticator)
# Set by the cleanup contexts in bridge.app while the application runs.
STORE: web.AppKey[AlertStore] = web.AppKey("secmon_store")
REDIS: web.AppKey[Redis | None] = web.AppKey("secmon_redis")
# Outgoing HTTP (Alertmanager silences); one session for the app's lifetime.
HTTP_CLIENT: web.AppKey[ClientSession] = web.AppKey("secmon_http_client")
