"""The ``mmdet`` backend as a real worker process under the second venv (scripts/mmdet_venv.sh).

Skipped unless ``T2IR1_MMDET_PYTHON`` names that venv's python, e.g.

    T2IR1_MMDET_PYTHON=/work/mmdet-venv/bin/python .venv/bin/python -m pytest -q tests/test_geneval_mmdet_worker.py

mmdet's Swin-S Mask2Former runs with random weights at a reduced test scale (speed); CLIP is the
tiny one. The worker's raw outputs must decide through our rules like any other raw output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from t2ir1_eval.context import ScorerContext
from t2ir1_eval.rules import geneval as R
from t2ir1_eval.types import PromptItem, Sample

PY = os.environ.get("T2IR1_MMDET_PYTHON")
pytestmark = pytest.mark.skipif(not PY or not Path(PY).exists(),
                                reason="set T2IR1_MMDET_PYTHON to the mmdet venv's python (scripts/mmdet_venv.sh)")


def test_mmdet_worker_scores_and_decides(tmp_path, data_dir):
    from t2ir1_eval.scorers.geneval.scorer import GenEvalScorer

    files = {"object_names": data_dir / "geneval" / "object_names.txt"}
    ctx = ScorerContext("geneval", {}, lambda k: files[k], cache_dir=tmp_path / "cache")
    rows = [json.loads(line) for line in (data_dir / "geneval" / "evaluation_metadata.jsonl").read_text().splitlines()]
    picks = [rows[0], rows[300], rows[460]]  # single object, colors, color_attr
    rng = np.random.default_rng(0)
    samples = []
    for k, row in enumerate(picks):
        p = tmp_path / f"{k:04d}.png"
        Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(p)
        samples.append(Sample(PromptItem(f"{k:05d}", row["prompt"], row["tag"], row), 0, p))
    scorer = GenEvalScorer(ctx, backend="mmdet", mmdet_python=PY, model_id="random", clip_model_id="tiny",
                           test_scale=(160, 128), colour_top_k=2)
    try:
        info = scorer.describe()
        assert info["backend"] == "mmdet" and info["detector"]["mmdet"].startswith("3.")
        assert info["worker"]["python"] and info["worker"]["pid"] != os.getpid()
        raws = scorer.score(samples)
    finally:
        scorer.close()
    for sample, raw in zip(samples, raws):
        assert raw["backend"] == "mmdet" and raw["image_size"] == [128, 96]
        assert sum(len(e["scores"]) for e in raw["detections"]) == 100
        d = R.decide(sample.item, raw, {"threshold": 0.0})
        assert d["failed"] is False and isinstance(d["correct"], bool)
    colour_classes = {c["class"] for c in picks[2]["include"]}
    stored = [e for e in raws[2]["detections"] if e["class"] in colour_classes]
    for e in stored:  # colour logits exactly for the top 2 objects with a positive score
        n = sum(1 for s in sorted(e["scores"], reverse=True)[:2] if s > 0)
        assert len([v for v in e.get("colour_logits") or [] if v is not None]) == n
