"""DPG-Bench scorer: one 2x2 grid per prompt -> the raw VQA answers of every question per tile.

The grid is split as compute_dpg_bench.py does (tile side R, boxes TL, TR, BL, BR); every
question of the item is asked on each tile, all of a tile's questions in one batch where the
backend allows (the tile is encoded once). Decisions are made by ``rules/dpg_bench.py`` from the
raw output alone: it carries the item's question rows (ids, parents, tuples, CSV rows), so a
run can be re-scored in either first-row-bug mode without the CSV or any model.

Backends (option ``backend``; default ``"auto"`` = the official ``"mplug"``, or
``"transformers"`` when ``model_id="tiny"``):

* ``"transformers"``: BLIP VQA in-process (``model_id="tiny"`` for a random tiny model);
  not comparable to published numbers.
* ``"mplug"``: the official mPLUG-large via ModelScope; run this scorer inside a worker under a
  ModelScope environment (see docs/dpg_bench.md).
* ``"package.module:Class"``: any class ``Class(model_id=..., device=..., **backend_options)``
  with ``answer(tile, questions) -> answers`` and ``describe()`` (tests use a stand-in).
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from ...context import ScorerContext
from ...errors import ConfigError, ImageError
from ...io import git_blob_sha1
from ...rules.dpg_bench import question_graph
from ...types import Sample
from ..base import Scorer
from .questions import first_row_item, load_questions

log = logging.getLogger(__name__)

#: the official tile order (compute_dpg_bench.py ``crop_tuples_list``)
TILE_ORDER = ("top-left", "top-right", "bottom-left", "bottom-right")


def tile_boxes(resolution: int) -> list[tuple[int, int, int, int]]:
    r = resolution
    return [(0, 0, r, r), (r, 0, 2 * r, r), (0, r, r, 2 * r), (r, r, 2 * r, 2 * r)]


def grid_resolution(path: Path, size: tuple[int, int], resolution: int | None) -> int:
    """The tile side R: given, or read from a square 2R x 2R grid."""
    w, h = size
    if resolution is None:
        if w != h or w % 2:
            raise ImageError(f"{path}: expected a square 2x2 grid of equal tiles (2R x 2R pixels), found {w}x{h}; "
                             f"pass the scorer option resolution=R if the tiles are R x R")
        return w // 2
    if w < 2 * resolution or h < 2 * resolution:
        raise ImageError(f"{path}: expected a 2x2 grid of {resolution}-px tiles, at least "
                         f"{2 * resolution}x{2 * resolution} pixels, found {w}x{h}")
    return resolution


def build_backend(backend: str, model_id: str | None, device: str, dtype: str, options: dict[str, Any]) -> Any:
    if backend == "transformers":
        from .vqa_hf import HfBlipVqa

        return HfBlipVqa(model_id=model_id, device=device, dtype=dtype, **options)
    if backend == "mplug":
        from .mplug import MplugVqa

        return MplugVqa(model_id=model_id, device=device, **options)
    if ":" in backend:
        module_name, _, attr = backend.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        return cls(model_id=model_id, device=device, **options)
    raise ConfigError(f"dpg-vqa: unknown backend {backend!r}; expected 'transformers', 'mplug' or 'package.module:Class'")


class DpgVqaScorer(Scorer):
    name = "dpg-vqa"
    version = "1"
    batch_size = 4

    def __init__(
        self,
        context: ScorerContext,
        backend: str = "auto",
        model_id: str | None = None,
        resolution: int | None = None,
        seed: int = 0,
        **backend_options: Any,
    ) -> None:
        self.context = context
        if backend == "auto":
            # the official model unless a tiny smoke run asked for random weights
            backend = "transformers" if model_id == "tiny" else "mplug"
        self.backend_name = backend
        self.resolution = int(resolution) if resolution is not None else None
        self.csv_path = Path(context.data_file("questions"))
        self.questions = load_questions(self.csv_path)
        row0 = first_row_item(self.questions)
        if row0 is not None:
            log.info("DPG-Bench: CSV row 0 is item %s; the first-row bug (default rule mode) drops that question", row0)
        options = dict(backend_options)
        if backend == "transformers" and model_id == "tiny":
            # a word-level vocabulary for the tiny tokenizer, so questions are not spelt out letter by letter
            options.setdefault("tiny_words", sorted({q["question"] for rows in self.questions.values() for q in rows}))
            options.setdefault("seed", seed)
        self.vqa = build_backend(backend, model_id, context.device, context.dtype, options)

    def describe(self) -> dict[str, Any]:
        backend = self.vqa.describe()
        return {
            "scorer": self.name,
            "version": self.version,
            "backend": self.backend_name,
            **backend,
            "comparable": bool(backend.get("comparable", False)),
            "questions_csv": str(self.csv_path),
            "questions_git_blob": git_blob_sha1(self.csv_path),
            "items_with_questions": len(self.questions),
            "tiles": list(TILE_ORDER),
            "resolution": self.resolution if self.resolution is not None else "from image (width / 2)",
            "answer_rule": "exactly 'yes' (rules/dpg_bench.py)",
        }

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        return [self._score_one(s) for s in samples]

    def _score_one(self, sample: Sample) -> dict[str, Any]:
        from PIL import Image

        item_id = str(sample.item.metadata.get("item_id", sample.item.prompt_id))
        rows = self.questions.get(item_id)
        if not rows:
            return {"error": f"item {item_id}: no questions in {self.csv_path} (the official script skips such images)"}
        try:
            with Image.open(sample.path) as img:
                img.load()
                grid = img.convert("RGB")
            r = grid_resolution(Path(sample.path), grid.size, self.resolution)
        except (OSError, ImageError) as exc:
            return {"error": f"{sample.path}: {exc}"}
        asked = question_graph(rows, skip_first_row=False)
        qids = [int(q["qid"]) for q in asked]
        texts = [str(q["question"]) for q in asked]
        tiles = []
        for box in tile_boxes(r):
            answers = self.vqa.answer(grid.crop(box), texts)
            if len(answers) != len(texts):
                raise RuntimeError(f"VQA backend {self.backend_name} returned {len(answers)} answers for {len(texts)} questions")
            tiles.append({"box": list(box), "answers": [str(a) for a in answers]})
        return {"item_id": item_id, "resolution": r, "questions": rows, "qids": qids, "tiles": tiles}

    def close(self) -> None:
        close = getattr(self.vqa, "close", None)
        if close:
            close()
