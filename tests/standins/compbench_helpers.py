"""Shared helpers for the T2I-CompBench tests: images named as the official evaluators read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from t2ir1_eval.context import ScorerContext
from t2ir1_eval.types import PromptItem, Sample

DATA_KEYS = {
    "new_objects": "t2i_compbench/dataset/new_objects.txt",
    "unidet_labels": "t2i_compbench/unidet/unidet_label_names_722.json",
}


def context(data_dir: Path, tmp_path: Path, **options) -> ScorerContext:
    def data_file(key: str) -> Path:
        if key not in DATA_KEYS:
            raise KeyError(key)
        return data_dir / DATA_KEYS[key]

    return ScorerContext(suite="t2i-compbench", options=options, data_file=data_file, cache_dir=tmp_path / "cache",
                         run_dir=tmp_path)


def write_images(folder: Path, category: str, prompts: list[str], per_prompt: int = 1, size=(64, 64),
                 seed: int = 0, **meta) -> list[Sample]:
    """Random RGB PNGs at ``<folder>/<category>/samples/{prompt}_{row*10+k:06d}.png``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = folder / category / "samples"
    out.mkdir(parents=True, exist_ok=True)
    samples = []
    for row, prompt in enumerate(prompts):
        item = PromptItem(f"{category}/{row:03d}", prompt, category, {"row": row, "category": category, **meta})
        for k in range(per_prompt):
            path = out / f"{prompt}_{row * 10 + k:06d}.png"
            Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)).save(path)
            samples.append(Sample(item, k, path))
    return samples
