"""The official evaluators' float orders: numpy 1.23 argsort, numpy pairwise mean, left-to-right sums.

Reference tables were made with numpy 1.23.5 (tests/data/numpy123/generate.py).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from t2ir1_eval.rules.official_math import argsort_numpy123, left_mean, left_sum, np_mean, np_sum

DATA = Path(__file__).parent / "data" / "numpy123"


def test_argsort_matches_numpy_1_23_table():
    table = json.loads((DATA / "argsort.json").read_text())
    assert table["numpy"] == "1.23.5"
    sizes = set()
    for case in table["cases"]:
        values = [math.nan if k is None else float(np.float32(k / 8)) for k in case["k"]]
        assert argsort_numpy123(values) == case["argsort"], case["k"]
        sizes.add(len(values))
    assert set(range(1, 101)) <= sizes and max(sizes) >= 400  # insertion sort, quicksort and deep partitions


def test_argsort_table_reaches_every_branch(monkeypatch):
    # the table is only a check of the port if it drives the heapsort fallback too
    import t2ir1_eval.rules.official_math as om

    calls = []
    real = om._aheapsort
    monkeypatch.setattr(om, "_aheapsort", lambda *a: calls.append(a[3]) or real(*a))
    for case in json.loads((DATA / "argsort.json").read_text())["cases"]:
        om.argsort_numpy123([math.nan if k is None else k / 8 for k in case["k"]])
    assert calls, "no table case reaches numpy's heapsort fallback"


def test_argsort_small_ties_later_row_first_and_nan_last():
    assert argsort_numpy123([0.5, 0.5, 0.7])[::-1] == [2, 1, 0]  # insertion sort keeps ties in order
    assert argsort_numpy123([math.nan, 0.1, 0.3]) == [1, 2, 0]
    assert argsort_numpy123([]) == [] and argsort_numpy123([3.0]) == [0]


def _mean_values(case: dict) -> list[float]:
    rng = random.Random(case["seed"])
    if case["ints"]:
        return [0 if rng.random() < 0.3 else rng.random() for _ in range(case["n"])]
    return [rng.random() for _ in range(case["n"])]


def test_np_mean_matches_numpy_1_23_table():
    table = json.loads((DATA / "mean.json").read_text())
    assert table["numpy"] == "1.23.5"
    differs_from_left = 0
    for case in table["cases"]:
        values = _mean_values(case)
        assert np_sum(values).hex() == case["sum"], case["n"]
        assert np_mean(values).hex() == case["mean"], case["n"]
        differs_from_left += left_mean(values) != np_mean(values)
    assert differs_from_left > 0  # the table separates the two orders


def test_hand_made_sums_where_the_orders_part():
    # 1 + fifteen 1e-16: left to right each 1e-16 is lost; pairwise accumulates them in 8 lanes
    values = [1.0] + [1e-16] * 15
    assert left_sum(values) == 1.0
    r0, r = 1.0 + 1e-16, 1e-16 + 1e-16  # numpy's 8 lanes: a[0]+a[8], a[j]+a[j+8]
    assert np_sum(values) == ((r0 + r) + (r + r)) + ((r + r) + (r + r)) == 1.0000000000000016
    assert math.fsum(values) == np_sum(values) != left_sum(values)
    # fewer than 8 values: numpy adds left to right too
    short = [1.0, 1e-16, 1e-16, 1e-16]
    assert np_sum(short) == left_sum(short) == 1.0 != math.fsum(short)
    # left_sum starts from int 0 as Python's sum(): -0.0 becomes 0.0
    assert math.copysign(1.0, left_sum([-0.0])) == 1.0
    # 100 * sum / n (ours before) vs np.mean(x) * 100 (DPG): the last bit differs
    x = [0.1, 0.2, 0.3]
    assert 100.0 * math.fsum(x) / 3 == 20.0 != np_mean(x) * 100 == 20.000000000000004


def test_np_mean_of_empty_is_nan():
    assert math.isnan(np_mean([]))
    with pytest.raises(ZeroDivisionError):
        left_mean([])
