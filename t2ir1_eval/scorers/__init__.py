"""Scorer registry: names used in the suite YAMLs and on the command line."""

from __future__ import annotations

from ..registry import Registry
from .base import Scorer

SCORERS: Registry[type[Scorer]] = Registry("scorer")
SCORERS.register("worker", "t2ir1_eval.scorers.worker:WorkerScorer",
                 "any scorer run in another Python environment (mmdet, detectron2, ModelScope)")
