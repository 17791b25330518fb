"""A run killed at random points and resumed gives the same images and table as an uninterrupted one."""

from __future__ import annotations

import json
import random
import subprocess
import time

import pytest

from tests.chat_server import ChatServer
from tests.e2e_helpers import cli, image_dependent_reply, images_of, wise_args


@pytest.fixture
def judge():
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as server:
        yield server


def _finish(args: list[str]) -> str:
    p = cli(args)
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    return out


def test_killed_and_resumed_run_equals_uninterrupted(tmp_path, data_dir, judge, monkeypatch):
    # separate judge caches, so the resumed run really asks the judge again
    monkeypatch.setenv("T2IR1_EVAL_CACHE", str(tmp_path / "cache-a"))
    t0 = time.monotonic()
    _finish(wise_args(tmp_path / "straight", data_dir, judge.base_url))
    duration = time.monotonic() - t0
    straight = json.loads((tmp_path / "straight" / "summary.json").read_text())

    monkeypatch.setenv("T2IR1_EVAL_CACHE", str(tmp_path / "cache-b"))
    rng = random.Random(7)
    kills = 0
    # kill points scale with this machine's speed, so the run is interrupted whatever the machine
    for attempt in range(4):
        with open(tmp_path / f"attempt-{attempt}.log", "w") as log:
            p = cli(wise_args(tmp_path / "killed", data_dir, judge.base_url), stdout=log)
            try:
                p.wait(timeout=duration * (0.5 if attempt == 0 else rng.uniform(0.2, 0.9)))
            except subprocess.TimeoutExpired:
                p.kill()  # SIGKILL: no cleanup handler runs, as with an OOM kill or a pre-empted node
                p.wait()
                kills += 1
                continue
        if p.returncode == 0:
            break
    else:
        _finish(wise_args(tmp_path / "killed", data_dir, judge.base_url))
    assert kills >= 1, "the run was never interrupted: raise the kill probability"
    resumed = json.loads((tmp_path / "killed" / "summary.json").read_text())

    assert images_of(tmp_path / "killed") == images_of(tmp_path / "straight")
    assert resumed["scores"] == straight["scores"]
    assert resumed["n_images"] == straight["n_images"] == 6 and resumed["n_failed"] == 0
    # nothing was generated twice: one complete manifest line per image
    from t2ir1_eval.store import RunStore

    rows = [r for r in RunStore(tmp_path / "killed").manifest() if "error" not in r]
    assert sorted(r["prompt_id"] + ".png" for r in rows) == sorted(images_of(tmp_path / "killed"))
