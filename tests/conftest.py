"""Shared fixtures: the benchmark data folder CI provides beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# the same variable the tool reads (read once here, then removed from each test's environment below)
SHARED_DATA = Path(os.environ.get("T2IR1_EVAL_DATA") or REPO.parent / "shared" / "benchmarks")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"benchmark data expected at {SHARED_DATA} (set T2IR1_EVAL_DATA): CI provides ../shared beside the checkout")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's cache or the network from tests."""
    cache = tmp_path_factory.getbasetemp() / "t2ir1-cache"
    monkeypatch.setenv("T2IR1_EVAL_CACHE", str(cache))
    monkeypatch.setenv("T2IR1_EVAL_OFFLINE", "1")
    monkeypatch.delenv("T2IR1_EVAL_DATA", raising=False)


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory, data_dir):
    """The demo's GenEval (seeds 0 and 1, synthetic detections) and WISE (smoke judge) runs,
    made by the real CLI in subprocesses exactly as the Makefile makes them."""
    from smoke_runs import make_smoke_runs

    return make_smoke_runs(tmp_path_factory.mktemp("smoke-runs"), data_dir)
