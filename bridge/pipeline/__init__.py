"""Processing after persistence: stages that each take and return a :class:`Batch`."""

from bridge.pipeline.assemble import build_pipeline
from bridge.pipeline.base import Batch, Pipeline, Stage, StageFailed

__all__ = ["Batch", "Pipeline", "Stage", "StageFailed", "build_pipeline"]
