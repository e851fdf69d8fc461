"""Checking ``Authorization`` headers: bearer tokens and HTTP basic credentials.

Comparisons are constant-time (``hmac.compare_digest``) and evaluate every configured
credential, so response timing says nothing about how much of a guess was right.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from bridge.config import BridgeConfig
from bridge.frozen import frozen

REALM = "secmon-bridge"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@frozen
class BasicCredentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"BasicCredentials(username={self.username!r}, password='**********')"


@frozen
class Authenticator:
    """Accepts a request carrying any one of the configured credentials.

    With nothing configured it accepts everyone; config validation only allows that with an
    explicit ``insecure_no_auth: true``.
    """

    bearer_token: str | None = None
    basic: BasicCredentials | None = None

    def __repr__(self) -> str:
        kinds = [k for k, v in (("bearer", self.bearer_token), ("basic", self.basic)) if v]
        return f"Authenticator({'+'.join(kinds) or 'open'})"

    @property
    def open(self) -> bool:
        return self.bearer_token is None and self.basic is None

    def allows(self, header: str | None) -> bool:
        if self.open:
            return True
        if not header:
            return False
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()
        if scheme == "bearer" and self.bearer_token is not None:
            return _same(credentials, self.bearer_token)
        if scheme == "basic" and self.basic is not None:
            return self._basic_allows(credentials, self.basic)
        return False

    @staticmethod
    def _basic_allows(encoded: str, expected: BasicCredentials) -> bool:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, sep, password = decoded.partition(":")
        if not sep:
            return False
        # Both compared, always: no early exit on a wrong username.
        user_ok = _same(username, expected.username)
        password_ok = _same(password, expected.password)
        return user_ok & password_ok

    def challenge(self) -> web.Response:
        """A 401 with one ``WWW-Authenticate`` challenge per accepted scheme."""
        response = web.json_response({"error": "missing or invalid credentials"}, status=401)
        if self.bearer_token is not None:
            response.headers.add("WWW-Authenticate", f'Bearer realm="{REALM}"')
        if self.basic is not None:
            response.headers.add("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
        return response


def webhook_authenticator(config: BridgeConfig) -> Authenticator:
    basic = None
    if config.webhook_basic_auth is not None and config.webhook_basic_auth.password is not None:
        basic = BasicCredentials(
            config.webhook_basic_auth.username,
            config.webhook_basic_auth.password.get_secret_value(),
        )
    token = config.webhook_token.get_secret_value() if config.webhook_token else None
    return Authenticator(bearer_token=token, basic=basic)


def api_authenticator(config: BridgeConfig) -> Authenticator:
    return Authenticator(
        bearer_token=config.api_token.get_secret_value() if config.api_token else None
    )
