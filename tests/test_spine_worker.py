"""The worker protocol through a real subprocess."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from t2ir1_eval.context import ScorerContext
from t2ir1_eval.errors import BackendUnavailable
from t2ir1_eval.scorers.worker import WorkerError, WorkerScorer
from t2ir1_eval.types import PromptItem, Sample

TARGET = "tests.standins.pixel_scorer:PixelScorer"


def _ctx(tmp_path: Path) -> ScorerContext:
    note = tmp_path / "note.txt"
    note.write_text("hello")
    return ScorerContext(suite="wise", options={"protocol": "legacy"}, data_file=lambda k: note, run_dir=tmp_path)


def _samples(tmp_path: Path, n: int = 3) -> list[Sample]:
    out = []
    for i in range(n):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 6), (10 * i, 20, 30)).save(p)
        out.append(Sample(PromptItem(str(i), f"prompt {i}", "culture"), 0, p))
    return out


@pytest.fixture
def env():
    # the stand-in lives in tests/, so the worker needs the repo root on its path
    return {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_worker_scores_in_another_process(tmp_path, env):
    w = WorkerScorer(_ctx(tmp_path), python=sys.executable, target=TARGET, data_keys=["x"], env=env)
    try:
        raws = w.score(_samples(tmp_path))
        assert [r["mean_rgb"][0] for r in raws] == [0, 10, 20]
        assert all(r["size"] == [8, 6] and r["suite"] == "wise" for r in raws)
        assert raws[0]["pid"] != os.getpid() == os.getpid()
        d = w.describe()
        assert d["name"] == "pixel-standin" and d["worker"]["python"] == sys.executable
    finally:
        w.close()
    assert w._proc.returncode == 0


def test_worker_error_is_reported_not_swallowed(tmp_path, env):
    w = WorkerScorer(_ctx(tmp_path), python=sys.executable, target=TARGET, env=env, fail_on="1")
    try:
        with pytest.raises(WorkerError, match="cannot score"):
            w.score(_samples(tmp_path))
        # the worker survives a failed request
        assert len(w.score(_samples(tmp_path, 1))) == 1
    finally:
        w.close()


def test_worker_that_dies_is_detected(tmp_path, env):
    w = WorkerScorer(_ctx(tmp_path), python=sys.executable, target=TARGET, env=env, crash_on="2")
    with pytest.raises(WorkerError, match="exit code 3"):
        w.score(_samples(tmp_path))
    w.close()


def test_missing_interpreter_and_target(tmp_path, env):
    with pytest.raises(BackendUnavailable, match="does not exist"):
        WorkerScorer(_ctx(tmp_path), python="/nonexistent/python", target=TARGET)
    with pytest.raises(WorkerError, match="ModuleNotFoundError"):
        WorkerScorer(_ctx(tmp_path), python=sys.executable, target="no_such_module:X", env=env)
