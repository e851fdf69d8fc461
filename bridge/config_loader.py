"""Loading the YAML config file and reporting every problem at once, with file and field.

``check-config`` and ``serve`` share this, so an operator sees the same messages from both.
Messages name the field and the environment variable that overrides it; they never repeat the
offending value, because that value may be a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bridge.config import MAX_WORKERS, BridgeConfig, build_config, env_name, workers_problem
from bridge.frozen import frozen
from bridge.netaddr import split_host_port


@frozen
class ConfigProblem:
    """One thing wrong with the configuration: where (field path) and what."""

    field: str
    message: str


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists everything found, not just the first."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.source}: {len(self.problems)} configuration error(s)"]
        lines += [f"  {self.source}: {p.field}: {p.message}" for p in self.problems]
        return "\n".join(lines)


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping (an empty file is an empty mapping)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(source, [ConfigProblem("(file)", f"cannot read: {reason}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}: "
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(source, [ConfigProblem("(file)", f"{where}{problem}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            [ConfigProblem("(file)", f"top level must be a mapping, not {type(data).__name__}")],
        )
    return data


def load_config(
    path: Path | None, *, listen: str | None = None, workers: int | None = None
) -> BridgeConfig:
    """Validate the file (if any), the ``SECMON_BRIDGE_*`` environment and the command line's
    overrides: ``listen`` (``--listen``) and ``workers`` (``--workers``) beat both the file
    and the environment.
    """
    source = str(path) if path is not None else "(environment and defaults)"
    data = read_yaml(path) if path is not None else {}
    problems: list[ConfigProblem] = []
    if listen is not None:
        try:
            split_host_port(listen)
        except ValueError as exc:
            problems.append(ConfigProblem("--listen", str(exc)))
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        problems.append(ConfigProblem("--workers", f"must be from 1 to {MAX_WORKERS}"))
        workers = None
    try:
        config = build_config(data)
    except ValidationError as exc:
        problems += problems_from(exc)
    else:
        if workers is not None and (problem := workers_problem(config, workers)) is not None:
            problems.append(ConfigProblem("--workers", problem))
    if problems:
        raise ConfigError(source, problems)
    # The command line wins over SECMON_BRIDGE_* as well, so it is applied after the sources
    # merge.
    overrides: dict[str, Any] = {}
    if listen is not None:
        overrides["listen"] = listen
    if workers is not None:
        overrides["workers"] = workers
    return config.model_copy(update=overrides) if overrides else config


def problems_from(exc: ValidationError) -> list[ConfigProblem]:
    """One problem per pydantic error, located by dotted field path and its env variable."""
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "(config)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif loc:
            message += f" (environment: {env_name(loc)})"
        problems.append(ConfigProblem(field, message))
    return problems
