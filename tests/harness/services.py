"""Reaching the real services the tests need, and failing loudly in CI when one is missing.

Outside CI a missing PostgreSQL, Redis or Prometheus binary skips the tests that need it, so a
developer can run what their laptop supports. With ``CI=true`` the same situation is a failure:
CI must never pass by silently skipping the tests that talk to real things.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(what: str) -> NoReturn:
    """Fail (in CI) or skip (elsewhere) because ``what`` is not available."""
    message = f"required service unavailable: {what}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_binary(name: str, *alternatives: str) -> str:
    """Path of the first of ``name``/``alternatives`` found on PATH, or fail/skip."""
    for candidate in (name, *alternatives):
        path = shutil.which(candidate)
        if path:
            return path
    service_missing(f"binary {name!r} not on PATH (make test installs it)")


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
