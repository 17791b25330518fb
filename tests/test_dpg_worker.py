"""DpgVqaScorer inside a real worker subprocess (how mPLUG runs in its ModelScope environment)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from t2ir1_eval.context import ScorerContext
from t2ir1_eval.rules import dpg_bench as rules
from t2ir1_eval.scorers.dpg.scorer import tile_boxes
from t2ir1_eval.scorers.worker import WorkerScorer
from t2ir1_eval.types import PromptItem, Sample

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "data" / "dpg_bench_small.csv"
COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "red": (220, 10, 10), "blue": (10, 10, 230)}


def grid(path: Path, tiles: list[str], r: int = 12) -> Path:
    img = Image.new("RGB", (2 * r, 2 * r))
    for box, name in zip(tile_boxes(r), tiles):
        img.paste(Image.new("RGB", (r, r), COLOURS[name]), box[:2])
    img.save(path)
    return path


def test_dpg_scorer_runs_in_a_worker_process(tmp_path):
    context = ScorerContext(suite="dpg-bench", options={"first_row_bug": True}, data_file=lambda key: SMALL, run_dir=tmp_path)
    samples = [
        Sample(PromptItem("1", "p", "dpg", {"item_id": "1"}), 0, grid(tmp_path / "1.png", ["white", "black", "red", "blue"])),
        Sample(PromptItem("partiprompts97", "p", "dpg", {"item_id": "partiprompts97"}), 0,
               grid(tmp_path / "partiprompts97.png", ["white"] * 4)),
        Sample(PromptItem("2", "p", "dpg", {"item_id": "2"}), 0, tmp_path / "2.png"),  # never written
    ]
    worker = WorkerScorer(
        context,
        python=sys.executable,
        target="t2ir1_eval.scorers.dpg.scorer:DpgVqaScorer",
        data_keys=["questions"],
        env={"PYTHONPATH": str(REPO)},
        backend="tests.standins.dpg_vqa_standin:ColourVqa",
    )
    try:
        info = worker.describe()
        raws = worker.score(samples)
    finally:
        worker.close()
    assert worker._proc.returncode == 0
    assert info["pid"] != os.getpid() and info["worker"]["python"] == sys.executable
    assert info["scorer"] == "dpg-vqa" and info["questions_csv"] == str(SMALL) and info["comparable"] is False

    first, bug_item, missing = raws
    assert first["tiles"][3]["answers"] == ["yes", "no", "no", "no", "yes", "no"]
    assert rules.decide(samples[0].item, first, {})["score"] == pytest.approx((1 + 0 + 0 + 2 / 6) / 4)
    assert rules.decide(samples[1].item, bug_item, {})["failed"]
    assert rules.decide(samples[1].item, bug_item, {"first_row_bug": False})["score"] == 1.0
    assert "2.png" in missing["error"]
    summary = rules.aggregate(
        [{"prompt_id": s.item.prompt_id, "category": "dpg", "file_index": 0, "metadata": {},
          "decision": rules.decide(s.item, r, {})} for s, r in zip(samples, raws)], {})
    assert summary["n_images"] == 1 and summary["n_failed"] == 2
    assert summary["overall"] == pytest.approx(100 * (1 + 2 / 6) / 4)
