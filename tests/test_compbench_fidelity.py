"""T2I-CompBench to the last bit: category means in the official float order, and the rules on
detections scored between UniDet's effective threshold 0.1 and 0.5."""

from __future__ import annotations

import math

import numpy as np
import pytest

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.types import PromptItem


def _official_left(values: list[float]) -> float:
    # BLIP_vqa.py / 2D_spatial_eval.py / numeracy_eval.py, transcribed: total = 0; total += x; total / n
    total = 0
    for v in values:
        total += float(v)
    return total / len(values)


# ------------------------------------------------------------------------------------- category means
def test_blip_2d_numeracy_complex_means_add_left_to_right():
    x = [0.1, 0.2, 0.3]
    for cat in ("color", "shape", "texture", "spatial", "numeracy", "complex", "non_spatial"):
        assert R.category_mean(cat, x) == _official_left(x) == 0.20000000000000004
    assert math.fsum(x) / 3 == 0.19999999999999998  # what an fsum mean would print instead
    assert str(R.category_mean("color", x)) == "0.20000000000000004"  # the official print: str(float)


def test_3d_mean_is_np_mean_pairwise():
    x = [0.3549, 0.1383, 0.1251, 0.2591, 0.8289, 0.3978, 0.4011, 0.6124, 0.2335]
    assert R.category_mean("3d_spatial", x) == float(np.mean(x)) == 0.37234444444444437
    assert _official_left(x) == 0.3723444444444444 and math.fsum(x) / 9 == 0.3723444444444445
    # 3D's list mixes int 0 (score = 0) with floats, as upstream's does
    assert R.category_mean("3d_spatial", [0, 0.5, 0.25]) == 0.25


def _row(category: str, row: int, k: int, score: float) -> dict:
    return {"prompt_id": f"{category}/{row:03d}", "category": category, "file_index": k,
            "decision": {"score": score, "failed": False}, "metadata": {"row": row, "category": category}}


def test_suite_aggregate_sums_in_image_index_order():
    # index order is 0.1, 0.2, 0.3 (row*10 + k); given shuffled, the sum must still run in that order
    rows = [_row("color", 1, 0, 0.3), _row("color", 0, 1, 0.2), _row("color", 0, 0, 0.1)]
    out = R.aggregate(rows, {})
    assert out["color"] == 0.20000000000000004
    assert _official_left([0.3, 0.2, 0.1]) == 0.19999999999999998  # the shuffled order would differ
    rows3d = [_row("3d_spatial", i // 10, i % 10, v) for i, v in
              enumerate([0.3549, 0.1383, 0.1251, 0.2591, 0.8289, 0.3978, 0.4011, 0.6124, 0.2335])]
    assert R.aggregate(rows3d, {})["3d_spatial"] == 0.37234444444444437


def test_average6_is_a_left_to_right_mean_of_the_six():
    vals = {"color": 0.1, "shape": 0.2, "texture": 0.3, "spatial": 0.4, "non_spatial": 0.5, "complex": 0.6}
    rows = [_row(c, 0, 0, v) for c, v in vals.items()]
    out = R.aggregate(rows, {})
    assert out["Average6"] == _official_left(list(vals.values()))


# ------------------------------------------------------------------------------------- low-score detections
def toks(*pairs: str) -> list[list[str]]:
    return [[p.rsplit("/", 1)[0], p.rsplit("/", 1)[1], " "] for p in pairs]


def item(category: str) -> PromptItem:
    return PromptItem(f"{category}/000", "p", category, {"row": 0, "category": category})


def test_2d_rule_on_detections_between_0_1_and_0_5():
    tokens = toks("a/DET", "dog/NOUN", "next/ADV", "to/ADP", "a/DET", "cat/NOUN")
    dets = [["dog", 0.3, [0, 0, 50, 50]], ["cat", 0.2, [60, 0, 110, 50]]]
    d = R.decide(item("spatial"), {"prompt": "a dog next to a cat", "tokens": tokens, "detections": dets}, {})
    assert d["matched"] == [0, 1] and d["position"] == 1
    assert d["score"] == 0.25 * 0.3 + 0.25 * 0.2 + 1 / 2 == 0.625  # kept: the image score is >= 0.5
    # one low-confidence object alone: 0.25 * 0.4 = 0.1 < 0.5 -> 0 (the 2D rule's own threshold)
    d = R.decide(item("spatial"), {"prompt": "a dog next to a cat", "tokens": tokens, "detections": dets[:1]}, {})
    assert d["score_before_threshold"] == 0.25 * 0.3 and d["score"] == 0.0
    # a 0.15 detection listed first (score-sorted input) is still the one the rule matches
    dets2 = [["dog", 0.45, [0, 0, 50, 50]], ["cat", 0.15, [60, 0, 110, 50]], ["cat", 0.12, [400, 400, 420, 420]]]
    d = R.decide(item("spatial"), {"prompt": "a dog next to a cat", "tokens": tokens, "detections": dets2}, {})
    assert d["matched"] == [0, 1] and d["score"] == 0.25 * 0.45 + 0.25 * 0.15 + 1 / 2


def test_3d_rule_on_detections_between_0_1_and_0_5():
    tokens = toks("a/DET", "dog/NOUN", "in/ADP", "front/ADP", "of/ADP", "a/DET", "desk/NOUN")
    dets = [["dog", 0.35, [0, 0, 100, 100]], ["desk", 0.12, [10, 0, 110, 100]]]
    raw = {"prompt": "a dog in front of a desk", "tokens": tokens, "detections": dets,
           "depth": {"box_means": [{"transposed": 0.8, "row_col": 0.8}, {"transposed": 0.2, "row_col": 0.2}]}}
    d = R.decide(item("3d_spatial"), raw, {})
    assert d["matched"] == [0, 1] and d["position"] == 1.0
    assert d["score"] == 0.25 * 0.35 + 0.25 * 0.12 + 1.0 / 2
    # no zeroing in 3D: one object at 0.35 alone scores 0.0875
    raw1 = dict(raw, detections=dets[:1], depth={"box_means": raw["depth"]["box_means"][:1]})
    assert R.decide(item("3d_spatial"), raw1, {})["score"] == 0.25 * 0.35


def test_numeracy_counts_detections_between_0_1_and_0_5():
    raw = {"numeracy": {"objects": ["dog", "cat"], "counts": [2, 1], "notes": []},
           "detections": [["dog", 0.48, [0, 0, 50, 50]], ["dog", 0.11, [100, 0, 150, 50]],
                          ["cat", 0.3, [200, 200, 260, 260]], ["cat", 0.2, [300, 300, 360, 360]]]}
    d = R.decide(item("numeracy"), raw, {})
    # two dogs counted (0.48 and 0.11): exact; two cats where one was asked: found, wrong count
    assert d["detected_counts"] == [2, 2]
    assert d["score"] == pytest.approx(0.5 + 0.25)


def test_official_score_text_per_script():
    x = [0.1, 0.2, 0.3]
    assert R.official_score_text("color", x) == "BLIP-VQA score:0.20000000000000004"
    assert R.official_score_text("spatial", x) == "score avg:0.20000000000000004"
    assert R.official_score_text("complex", x) == "score avg:0.20000000000000004"
    assert R.official_score_text("numeracy", x) == "total:0.6000000000000001 num:3 avg:0.20000000000000004"
    assert R.official_score_text("numeracy", [0.0, 0.0]) == "total:0 num:2 avg:0.0"  # upstream's int 0 total
    y = [0.3549, 0.1383, 0.1251, 0.2591, 0.8289, 0.3978, 0.4011, 0.6124, 0.2335]
    assert R.official_score_text("3d_spatial", y) == "avg score is {}".format(np.mean(y)) == "avg score is 0.37234444444444437"
    assert R.official_score_text("non_spatial", x) is None
    rows = [_row("color", 1, 0, 0.3), _row("color", 0, 1, 0.2), _row("color", 0, 0, 0.1)]
    assert R.aggregate(rows, {})["official_text"] == {"color": "BLIP-VQA score:0.20000000000000004"}
