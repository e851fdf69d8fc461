"""Creating Alertmanager silences through its v2 API (``POST /api/v2/silences``).

"Suppress" in the bridge stops the bridge from bothering anyone; a silence also stops
Alertmanager from notifying its other receivers. Matchers are the alert's labels, matched
exactly, so the silence covers this alert and nothing broader.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiohttp

from bridge.api.render import time_json


class SilenceError(Exception):
    """Alertmanager did not create the silence; the message says what it answered."""


def silence_body(
    labels: Mapping[str, str],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
) -> dict[str, Any]:
    return {
        "matchers": [
            {"name": name, "value": value, "isRegex": False, "isEqual": True}
            for name, value in sorted(labels.items())
        ],
        "startsAt": time_json(starts_at),
        "endsAt": time_json(ends_at),
        "createdBy": created_by,
        "comment": comment,
    }


async def create_silence(
    session: aiohttp.ClientSession, alertmanager_url: str, body: Mapping[str, Any]
) -> str:
    """POST the silence; returns its id."""
    url = f"{alertmanager_url}/api/v2/silences"
    try:
        async with session.post(url, json=body) as response:
            text = await response.text()
            if response.status != 200:
                raise SilenceError(f"Alertmanager answered {response.status}: {text[:300]}")
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SilenceError(f"Alertmanager unreachable: {type(exc).__name__}: {exc}") from exc
    silence_id = data.get("silenceID") if isinstance(data, dict) else None
    if not isinstance(silence_id, str):
        raise SilenceError(f"Alertmanager answered without a silenceID: {text[:300]}")
    return silence_id
