"""T2I-CompBench complex: the "3-in-1" composite of BLIP-VQA, UniDet-2D and CLIP.

Upstream (3_in_1_eval/3_in_1.py) averages, per image, the BLIP-VQA score (normal mode) with the
2D-spatial score computed with ``--complex True`` (objects around the prepositions) and/or the
CLIP score with ``--complex True`` (adjectives removed), choosing by the prompt's sub-list:
spatial -> mean(2D, BLIP); action -> mean(CLIP, BLIP); spatialaction -> mean(BLIP, 2D, CLIP).
This scorer runs the three and keeps their raw outputs side by side; the rules do the rest.
All three run on every image, as upstream (its 2D and CLIP passes cover the whole folder).
"""

from __future__ import annotations

from typing import Any

from ...context import ScorerContext
from ...types import Sample
from ..base import Scorer
from .blip_vqa import BlipVqaScorer
from .clipscore import ClipScoreScorer
from .unidet import CompBenchDetectionScorer


class ThreeInOneScorer(Scorer):
    """Registry "compbench-3in1". Options: ``model_id`` ("tiny" for smoke runs) and one dict of
    options per part: ``blip``, ``unidet`` (RS200 upstream), ``clip``."""

    name = "compbench-3in1"
    version = "1"
    batch_size = 16

    def __init__(self, context: ScorerContext, model_id: str | None = None, blip: dict[str, Any] | None = None,
                 unidet: dict[str, Any] | None = None, clip: dict[str, Any] | None = None,
                 batch_size: int | None = None) -> None:
        tiny = {"model_id": "tiny"} if model_id == "tiny" else {}
        self.parts: dict[str, Scorer] = {
            "blip": BlipVqaScorer(context, **{**tiny, **(blip or {})}),
            "spatial": CompBenchDetectionScorer(context, **{**tiny, "checkpoint": "RS200", **(unidet or {})}),
            "clip": ClipScoreScorer(context, **{**tiny, **(clip or {}), "complex": True}),
        }
        if batch_size:
            self.batch_size = int(batch_size)

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        parts = {key: scorer.score(samples) for key, scorer in self.parts.items()}
        return [{key: parts[key][i] for key in self.parts} for i in range(len(samples))]

    def describe(self) -> dict[str, Any]:
        parts = {key: scorer.describe() for key, scorer in self.parts.items()}
        return {"name": self.name, "version": self.version, "parts": parts,
                "comparable": all(bool(p.get("comparable")) for p in parts.values()),
                "rule": "spatial: (2D+BLIP)/2; action: (CLIP+BLIP)/2; spatialaction: (BLIP+2D+CLIP)/3"}

    def close(self) -> None:
        for scorer in self.parts.values():
            scorer.close()
