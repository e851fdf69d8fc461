"""The bridge's configuration: a YAML file, overridden field by field by ``SECMON_BRIDGE_*``.

Precedence, strongest first: environment variables (``SECMON_BRIDGE_<FIELD>``, nested fields
joined with ``__``, e.g. ``SECMON_BRIDGE_STORE__TIMEOUT_SECONDS``), then the YAML file, then the
defaults below. Secrets (tokens, passwords, and URLs that may carry passwords) are ``SecretStr``
and can also be read from ``*_file`` paths; they never appear in reprs, logs or errors.

Example::

    listen: 127.0.0.1:9189
    database_url: postgresql://secmon@db/secmon
    webhook_token_file: /run/secrets/bridge-webhook-token
    api_token_file: /run/secrets/bridge-api-token
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bridge.anomaly.config import AnomalyConfig
from bridge.assets_sync import AssetSyncConfig
from bridge.classify import ClassificationConfig
from bridge.dedupe import DedupeConfig
from bridge.escalation.policy import EscalationConfig
from bridge.netaddr import split_host_port
from bridge.notify.registry import NotifierConfigError, parse_channel_configs
from bridge.routing.config import RoutingConfig
from bridge.secretfile import read_secret_file

ENV_PREFIX = "SECMON_BRIDGE_"
DEFAULT_LISTEN = "127.0.0.1:9189"
DEFAULT_DATABASE_URL = "sqlite:///secmon-bridge.db"
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


MAX_WORKERS = 64


def workers_problem(config: BridgeConfig, workers: int) -> str | None:
    """Why ``config`` cannot run ``workers`` server processes, or None if it can."""
    if workers == 1:
        return None
    if config.database_url.get_secret_value().startswith("sqlite:"):
        return "more than one worker needs a PostgreSQL database_url (SQLite has one writer)"
    if config.redis_url is None:
        return "more than one worker needs redis_url, where the workers share dedupe state"
    return None


def _problem(loc: tuple[str, ...], message: str) -> InitErrorDetails:
    # input is deliberately None: the offending value may be a secret.
    return InitErrorDetails(type=PydanticCustomError("config_error", message), loc=loc, input=None)


class BasicAuthConfig(BaseModel):
    """HTTP basic credentials Alertmanager may send instead of (or besides) a bearer token."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1)
    password: SecretStr | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _resolve_password(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set either password or password_file, not both")
        if self.password_file is not None:
            self.password = SecretStr(read_secret_file(self.password_file))
        if self.password is None or not self.password.get_secret_value():
            raise ValueError("a password (or password_file) is required")
        return self


class StoreOptions(BaseModel):
    """Tuning for the alert store; the defaults suit one bridge on one box."""

    model_config = ConfigDict(extra="forbid")

    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    # Bounds every store call, so a hung database turns into a 503 instead of a hung webhook.
    timeout_seconds: float = Field(default=5.0, gt=0)
    probe_interval_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self


class LifecycleOptions(BaseModel):
    """When alerts that stopped arriving are closed, and how often lifecycle chores run.

    Alertmanager re-sends every firing alert once per ``repeat_interval``; one that has not
    arrived for two of those is gone (a silenced alert that resolves is never sent), so
    ``expire_after_seconds`` defaults to twice the repeat interval configured here.
    """

    model_config = ConfigDict(extra="forbid")

    # Alertmanager's own default repeat_interval is 4h; set this to the route's value.
    alertmanager_repeat_interval_seconds: float = Field(default=4 * 3600.0, gt=0)
    expire_after_seconds: float | None = Field(default=None, gt=0)
    sweep_interval_seconds: float = Field(default=60.0, gt=0)
    # The open-alerts gauge is a cached count refreshed this often, never a query per scrape.
    open_alerts_refresh_seconds: float = Field(default=15.0, gt=0)
    # How long a silence created by "suppress" lasts when the request gives no duration.
    default_silence_seconds: float = Field(default=24 * 3600.0, gt=0)
    # Raw webhook bodies older than this are emptied (alerts, receipts and the timeline stay);
    # null keeps them forever.
    payload_retention_days: float | None = Field(default=30.0, gt=0)
    # Finished alerts (resolved or suppressed) untouched and not re-sent for this long are
    # deleted with their timeline, occurrences, receipts, escalations and notifications, and
    # security events older than this too; active alerts are never deleted. null keeps all.
    history_retention_days: float | None = Field(default=365.0, ge=1)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    @property
    def expire_after(self) -> float:
        if self.expire_after_seconds is not None:
            return self.expire_after_seconds
        return 2 * self.alertmanager_repeat_interval_seconds


class SlackAppConfig(BaseModel):
    """The Slack app whose button clicks ``POST /api/v1/slack/interactions`` verifies."""

    model_config = ConfigDict(extra="forbid")

    signing_secret: SecretStr | None = None
    signing_secret_file: Path | None = None

    @model_validator(mode="after")
    def _resolve(self) -> Self:
        if self.signing_secret is not None and self.signing_secret_file is not None:
            raise ValueError("set either signing_secret or signing_secret_file, not both")
        if self.signing_secret_file is not None:
            self.signing_secret = SecretStr(read_secret_file(self.signing_secret_file))
        if self.signing_secret is None or not self.signing_secret.get_secret_value():
            raise ValueError("a signing_secret (or signing_secret_file) is required")
        return self


class BridgeConfig(BaseSettings):
    """Everything ``secmon-bridge serve`` needs; see the module docstring for precedence."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    listen: str = DEFAULT_LISTEN
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    redis_url: SecretStr | None = None
    webhook_token: SecretStr | None = None
    webhook_token_file: Path | None = None
    webhook_basic_auth: BasicAuthConfig | None = None
    api_token: SecretStr | None = None
    api_token_file: Path | None = None
    insecure_no_auth: bool = False
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Server processes sharing the listen socket (bridge/workers.py); more than one needs
    # PostgreSQL and Redis, the state every worker shares.
    workers: int = Field(default=1, ge=1, le=MAX_WORKERS)
    store: StoreOptions = Field(default_factory=StoreOptions)
    # Where "suppress" with create_silence creates silences (Alertmanager's v2 API).
    alertmanager_url: str | None = None
    lifecycle: LifecycleOptions = Field(default_factory=LifecycleOptions)
    classification: ClassificationConfig = Field(default_factory=ClassificationConfig)
    dedupe: DedupeConfig = Field(default_factory=DedupeConfig)
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)
    asset_sync: AssetSyncConfig = Field(default_factory=AssetSyncConfig)
    # Notification channels by name (docs/notifications.md), escalation and routing.
    channels: dict[str, Any] = Field(default_factory=dict)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    slack: SlackAppConfig | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment must win over it.
        return env_settings, init_settings

    @field_validator("listen")
    @classmethod
    def _valid_listen(cls, value: str) -> str:
        split_host_port(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                "must be sqlite:///relative/path, sqlite:////absolute/path or postgresql://…"
            )
        if scheme == "sqlite" and (not rest.startswith("/") or rest in {"/", "/:memory:"}):
            raise ValueError("a SQLite URL needs a file path: sqlite:///file.db")
        return value

    @field_validator("alertmanager_url")
    @classmethod
    def _valid_alertmanager_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if value is None else value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _valid_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _resolve_secrets_and_require_auth(self) -> Self:
        problems: list[InitErrorDetails] = []
        for name in ("webhook_token", "api_token"):
            path: Path | None = getattr(self, f"{name}_file")
            if path is None:
                continue
            if getattr(self, name) is not None:
                problems.append(_problem((name,), f"set either {name} or {name}_file, not both"))
                continue
            try:
                setattr(self, name, SecretStr(read_secret_file(path)))
            except ValueError as exc:
                problems.append(_problem((f"{name}_file",), str(exc)))
        if not problems and not self.insecure_no_auth:
            if self.webhook_token is None and self.webhook_basic_auth is None:
                problems.append(
                    _problem(
                        ("webhook_token",),
                        "no webhook authentication configured: set webhook_token(_file) or "
                        "webhook_basic_auth, or insecure_no_auth: true to accept anyone",
                    )
                )
            if self.api_token is None:
                problems.append(
                    _problem(
                        ("api_token",),
                        "no API token configured: set api_token(_file), "
                        "or insecure_no_auth: true to serve the API to anyone",
                    )
                )
        problems.extend(self._channel_problems())
        problems.extend(self._retention_problems())
        problem = workers_problem(self, self.workers)
        if problem is not None:
            problems.append(_problem(("workers",), problem))
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def _retention_problems(self) -> list[InitErrorDetails]:
        """History must outlive the dedupe window: a new alert may merge into any primary of
        the window, which must still exist."""
        days = self.lifecycle.history_retention_days
        if days is None or timedelta(days=days) > self.dedupe.window:
            return []
        return [
            _problem(
                ("lifecycle", "history_retention_days"),
                f"must be longer than dedupe.window ({self.dedupe.window})",
            )
        ]

    def _channel_problems(self) -> list[InitErrorDetails]:
        """Every channel config error, and channels named by escalation or routing but absent."""
        try:
            self.channels = dict(parse_channel_configs(self.channels))
        except NotifierConfigError as exc:
            return [
                _problem(("channels", p.channel, *filter(None, [p.field])), p.message)
                for p in exc.problems
            ]
        named: list[tuple[tuple[str, ...], str]] = [
            (("escalation", "recipients", who), c)
            for who, channels in self.escalation.recipients.items()
            for c in channels
        ]
        named += [
            (("routing", "routes", str(i), "channels"), c)
            for i, route in enumerate(self.routing.routes)
            for c in route.channels
        ]
        named += [(("routing", "channels", c), c) for c in self.routing.channels]
        return [
            _problem(loc, f"channel {name!r} is not defined under channels")
            for loc, name in named
            if name not in self.channels
        ]

    @property
    def listen_host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_host_port(self.listen)[1]


def env_name(loc: tuple[str | int, ...]) -> str:
    """The environment variable that overrides the field at ``loc``."""
    return ENV_PREFIX + "__".join(str(part) for part in loc).upper()


def build_config(data: dict[str, Any]) -> BridgeConfig:
    """Validate file data plus the environment; raises pydantic's ``ValidationError``."""
    return BridgeConfig(**data)
