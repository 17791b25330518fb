"""A stand-in for UniDet that speaks the same worker protocol: the real ``UniDetScorer`` input
pipeline (479/480 resize, BGR, class ids -> the 722 names), with the network replaced by
detections read from a JSON file keyed by image file name:

    {"<image name>.png": [[class_id, score, [x0, y0, x1, y1]], ...], ...}   (boxes in input space)

It also reports what the "network" received, so a test can check the input quirks end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from t2ir1_eval.scorers.compbench.unidet import UniDetScorer


class UniDetStandIn(UniDetScorer):
    name = "unidet-standin"

    def __init__(self, context: Any, detections_file: str, **options: Any) -> None:
        self.detections_file = Path(detections_file)
        self._seen: dict[str, dict[str, Any]] = {}
        super().__init__(context, **options)

    def _load_model(self) -> Any:  # no detectron2: the "model" is the JSON file
        return json.loads(self.detections_file.read_text(encoding="utf-8"))

    def _predict(self, batch):
        out = []
        for sample, arr, h, w in batch:
            name = Path(sample.path).name
            self._seen[name] = {"shape": list(arr.shape), "height": h, "width": w,
                                "first_pixel": [float(v) for v in arr[:, 0, 0]], "dtype": str(arr.dtype)}
            out.append([(box, cls, score) for cls, score, box in self._model.get(name, [])])
        return out

    def score(self, samples):
        raws = super().score(samples)
        for s, raw in zip(samples, raws):
            if "error" not in raw:
                raw["standin_input"] = self._seen[Path(s.path).name]
        return raws

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "checkpoint": self.checkpoint, "comparable": False,
                "note": "test stand-in: detections from a JSON file"}
