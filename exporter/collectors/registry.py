"""The collector registry: config ``type`` → (config model, factory).

Adding a platform means writing ``exporter/collectors/<type>.py`` with a config model extending
:class:`exporter.config.CollectorConfig` (``type: Literal["<type>"]``) and a class satisfying
:class:`exporter.collectors.base.Collector`, then adding one entry to :data:`COLLECTOR_TYPES`.
Nothing else in the exporter names a platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import Field

from exporter.collectors.aws import AwsCollector, AwsConfig
from exporter.collectors.base import Collector
from exporter.collectors.github import GitHubCollector, GitHubConfig
from exporter.collectors.kong import KongCollector, KongConfig
from exporter.collectors.vulns import VulnerabilityReportsCollector, VulnerabilityReportsConfig
from exporter.config import CollectorConfig

C = TypeVar("C", bound=CollectorConfig)


@dataclass(frozen=True, slots=True)
class CollectorType(Generic[C]):
    """How to validate and build one kind of collector."""

    config_model: type[C]
    factory: Callable[[C], Collector]

    def build(self, config: CollectorConfig) -> Collector:
        if not isinstance(config, self.config_model):
            raise TypeError(f"expected {self.config_model.__name__}, got {type(config).__name__}")
        return self.factory(config)


COLLECTOR_TYPES: dict[str, CollectorType[Any]] = {
    "github": CollectorType(GitHubConfig, GitHubCollector),
    "kong": CollectorType(KongConfig, KongCollector),
    "aws": CollectorType(AwsConfig, AwsCollector),
    "vulnerability_reports": CollectorType(
        VulnerabilityReportsConfig, VulnerabilityReportsCollector
    ),
}


def collector_config_union() -> Any:
    """The discriminated union of every registered config model (pydantic picks by ``type``)."""
    models = tuple(t.config_model for t in COLLECTOR_TYPES.values())
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 - built at runtime


def build_collector(config: CollectorConfig) -> Collector:
    """Instantiate the collector a validated config entry describes."""
    return COLLECTOR_TYPES[config.type].build(config)
