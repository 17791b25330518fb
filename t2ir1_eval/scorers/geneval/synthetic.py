"""NOT A DETECTOR: seeded pseudo-detections in GenEval's raw schema, for offline smoke runs.

``backend=synthetic``. A tiny random Mask2Former finds nothing above the 0.3 threshold, so a
smoke run scored 0.0 everywhere and could not catch a rule change. These detections are drawn
from the prompt's own include/exclude clauses (count off by at most one, confidence around
the thresholds, a colour right most of the time, random boxes), seeded by the image bytes and
``seed``, so every rule branch (count, colour, position, exclude, thresholds) decides some
images each way. The scores mean nothing; ``describe()`` says so and the run is not comparable.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

from ...context import ScorerContext
from ...rules.geneval import COLORS
from ...types import Sample
from ..base import Scorer


class SyntheticGenEvalDetector(Scorer):
    name = "geneval-synthetic"
    version = "1"
    batch_size = 64

    def __init__(self, context: ScorerContext, class_names: list[str], seed: int = 0) -> None:
        self.class_names = class_names
        self.class_index = {n: i for i, n in enumerate(class_names)}
        self.seed = int(seed)

    def _one(self, sample: Sample) -> dict[str, Any]:
        data = Path(sample.path).read_bytes()
        rng = random.Random(int.from_bytes(hashlib.sha256(data).digest()[:8], "big") ^ self.seed)
        meta = sample.item.metadata or {}
        wanted: dict[str, list[str | None]] = {}
        for clause in meta.get("include", []):
            n = max(0, int(clause["count"]) + rng.choice((-1, 0, 0, 1)))
            colour = clause.get("color")
            wanted.setdefault(clause["class"], []).extend(
                [colour if colour and rng.random() < 0.7 else rng.choice(COLORS) if colour else None for _ in range(n)])
        for clause in meta.get("exclude", []):
            if rng.random() < 0.3:
                wanted.setdefault(clause["class"], []).append(None)
        size = 512
        detections = []
        for cls, colours in wanted.items():
            if cls not in self.class_index or not colours:
                continue
            boxes, scores = [], []
            for _ in colours:
                x0, y0 = rng.uniform(0, size * 0.7), rng.uniform(0, size * 0.7)
                boxes.append([x0, y0, min(size, x0 + rng.uniform(30, size * 0.3)), min(size, y0 + rng.uniform(30, size * 0.3))])
                scores.append(rng.uniform(0.2, 1.0))
            entry: dict[str, Any] = {"label": self.class_index[cls], "class": cls, "boxes": boxes, "scores": scores}
            if any(c is not None for c in colours):
                # one-hot-ish logits: the drawn colour wins
                entry["colour_logits"] = [[10.0 if c == name else 0.0 for name in COLORS] if c else [0.0] * len(COLORS)
                                          for c in colours]
            detections.append(entry)
        return {"backend": "synthetic", "image_size": [size, size], "max_per_image": 100, "colour_top_k": 16,
                "colour_min_score": 0.0, "detections": detections}

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        out = []
        for s in samples:
            try:
                out.append(self._one(s))
            except OSError as exc:
                out.append({"error": f"cannot read image {s.path}: {exc.strerror or exc}"})
        return out

    def describe(self) -> dict[str, Any]:
        return {"scorer": "geneval", "backend": "synthetic", "version": self.version, "seed": self.seed,
                "comparable": False, "note": "synthetic detections for smoke runs (seeded by image bytes), not a detector"}

    def close(self) -> None:
        pass
