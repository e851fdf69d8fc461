"""Opaque pagination cursors: clients pass back ``next_cursor`` and never parse it.

Opaque so the ordering behind it can change (time, severity) without breaking clients.
"""

from __future__ import annotations

import base64
import binascii

_PREFIX = "id:"


class BadCursor(ValueError):
    """The cursor was not one this API issued."""


def encode_cursor(before_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadCursor("cursor: not a cursor this API issued") from None
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise BadCursor("cursor: not a cursor this API issued")
    return int(text[len(_PREFIX) :])
