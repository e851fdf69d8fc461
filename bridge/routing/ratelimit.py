"""Per-channel token buckets: in-process by default, in Redis when replicas share the limit.

``acquire(channel)`` returns how many seconds the caller must wait before sending (0 when a
token was free); the token is taken either way, so waiting callers queue up fairly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from bridge.routing.config import RateLimit

# Tokens may go negative: a negative balance is the queue of callers already promised a slot.
_LUA = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class RateLimiter(Protocol):
    async def acquire(self, channel: str) -> float: ...


@dataclass
class MemoryRateLimiter:
    limits: Mapping[str, RateLimit]
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)

    async def acquire(self, channel: str) -> float:
        limit = self.limits.get(channel)
        if limit is None:
            return 0.0
        rate, now = limit.per_minute / 60.0, self.clock()
        tokens, at = self._state.get(channel, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - at) * rate) - 1
        self._state[channel] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate


@dataclass
class RedisRateLimiter:
    """The same bucket as a Lua script, so every replica draws from one budget per channel."""

    redis: Redis
    limits: Mapping[str, RateLimit]
    prefix: str = "secmon:ratelimit:"
    clock: Callable[[], float] = time.time

    async def acquire(self, channel: str) -> float:
        limit = self.limits.get(channel)
        if limit is None:
            return 0.0
        args = (limit.per_minute / 60.0, limit.burst, self.clock())
        wait = await self.redis.eval(_LUA, 1, self.prefix + channel, *args)
        return float(wait)
