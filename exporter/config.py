"""Exporter configuration: one YAML file, validated by pydantic, overridable from the environment.

Precedence, highest first: command-line flags (only ``--listen``), environment variables, the
YAML file, defaults. Every top-level field has an environment variable ``SECMON_EXPORTER_<FIELD>``
with ``__`` for nesting (``SECMON_EXPORTER_LISTEN``, ``SECMON_EXPORTER_RULES__PATHS='["rules"]'``,
``SECMON_EXPORTER_COLLECTORS='[...]'`` as JSON). Because collectors form a list, a single
collector's field is addressed by the collector's *name* rather than its position:
``SECMON_EXPORTER_COLLECTORS__EDGE__TOKEN`` sets ``token`` on the collector named ``edge``
(names compare case-insensitively, with ``-`` and ``.`` read as ``_``). That is how tokens
reach a container without ever being written to the file.

Each collector type's model lives beside its code (``exporter/collectors/<type>.py``) and
extends :class:`CollectorConfig`; ``exporter.collectors.registry`` maps ``type`` to the model.
:func:`load_config` reports every problem at once, each with the file and the field path, and
never echoes a submitted value (it could be a secret).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    ValidationError,
    field_validator,
)
from pydantic_core import core_schema
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from exporter.inventory.model import InventoryConfig

ENV_PREFIX = "SECMON_EXPORTER_"
DEFAULT_LISTEN = "127.0.0.1:9188"
_COLLECTOR_ENV_PREFIX = f"{ENV_PREFIX}COLLECTORS__"
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_listen(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6) and check both halves."""
    match = re.fullmatch(
        r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<port>\d+)|(?P<host>[^:\[\]]+):(?P<p>\d+)", value
    )
    if match is None:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9188 or [::1]:9188")
    host = match["v6"] or match["host"]
    port = int(match["port"] or match["p"])
    if match["v6"]:
        ipaddress.IPv6Address(host)  # raises ValueError with a readable message
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is outside 1-65535")
    return host, port


class CollectorConfig(BaseModel):
    """Fields every collector shares; each type's model adds its own and narrows ``type``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: Annotated[str, Field(pattern=_NAME_PATTERN)]
    enabled: bool = True
    interval: Annotated[float, Field(gt=0, le=86400)] = 30.0
    timeout: Annotated[float, Field(gt=0, le=3600)] = 10.0
    environment: Annotated[str, Field(min_length=1)] = "production"


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[str] = Field(default_factory=lambda: ["rules"])


def _collector_list_schema(source: Any, handler: Any) -> core_schema.CoreSchema:
    # Imported when the schema is first built, not at import time: collector modules import
    # CollectorConfig from here, so a top-level import would be circular.
    from exporter.collectors.registry import collector_config_union

    schema: core_schema.CoreSchema = handler(list[collector_config_union()])  # type: ignore[misc]
    return schema


CollectorConfigs = Annotated[list[CollectorConfig], GetPydanticSchema(_collector_list_schema)]


class _EnvWithoutCollectorFields(EnvSettingsSource):
    """The stock env source, minus per-collector variables (applied by name in load_config)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        loaded = super()._load_env_vars()
        prefix = _COLLECTOR_ENV_PREFIX.lower()
        return {k: v for k, v in loaded.items() if not k.lower().startswith(prefix)}


class ExporterConfig(BaseSettings):
    """The whole exporter configuration (see the module docstring for precedence)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        defer_build=True,
    )

    listen: str = DEFAULT_LISTEN
    rules: RulesConfig = Field(default_factory=RulesConfig)
    collectors: CollectorConfigs = Field(default_factory=list)
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; listing env first makes env beat the file.
        return (_EnvWithoutCollectorFields(settings_cls), init_settings)

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def enabled_collectors(self) -> list[CollectorConfig]:
        return [c for c in self.collectors if c.enabled]


def _env_key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _apply_collector_env(
    raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> None:
    """Overlay ``SECMON_EXPORTER_COLLECTORS__<NAME>__<FIELD>`` onto the named collector."""
    collectors = raw.get("collectors")
    by_key: dict[str, dict[str, Any]] = {}
    if isinstance(collectors, list):
        for item in collectors:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                by_key[_env_key(item["name"])] = item
    for var in sorted(environ):
        if not var.upper().startswith(_COLLECTOR_ENV_PREFIX):
            continue
        rest = var[len(_COLLECTOR_ENV_PREFIX) :]
        name, sep, field = rest.partition("__")
        target = by_key.get(name.upper())
        if not sep or not field or "__" in field:
            problems.append(f"env {var}: expected {_COLLECTOR_ENV_PREFIX}<NAME>__<FIELD>")
        elif target is None:
            problems.append(f"env {var}: no collector named {name.lower()!r} in the config")
        else:
            target[field.lower()] = environ[var]


def format_error_location(loc: tuple[int | str, ...]) -> str:
    """``('collectors', 0, 'kong', 'admin_url')`` → ``collectors[0].admin_url``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _collector_type_tags():
            continue  # the discriminated-union tag adds nothing a reader needs
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _collector_type_tags() -> frozenset[str]:
    from exporter.collectors.registry import COLLECTOR_TYPES

    return frozenset(COLLECTOR_TYPES)


def _duplicate_names(raw: dict[str, Any]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    items = raw.get("collectors")
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(
                f"collectors[{index}].name: duplicate collector name {name!r} "
                f"(first used by collectors[{seen[name]}])"
            )
        else:
            seen[name] = index
    return problems


def load_config(path: str | Path | None) -> ExporterConfig:
    """Read the file, overlay the environment, validate; raise :class:`ConfigError` listing all."""
    where = str(path) if path is not None else "(no config file)"
    raw: Any = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError([f"{where}: cannot read: {exc.strerror}"]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([f"{where}: not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: top level must be a mapping"])
    problems: list[str] = []
    _apply_collector_env(raw, os.environ, problems)
    problems.extend(_duplicate_names(raw))
    config: ExporterConfig | None = None
    try:
        config = ExporterConfig(**raw)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            problems.append(f"{format_error_location(error['loc'])}: {error['msg']}")
    if problems or config is None:
        raise ConfigError([f"{where}: {p}" for p in problems])
    return config
