"""Every GenEval rule on hand-made detections (no model): t2ir1_eval/rules/geneval.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from t2ir1_eval.rules import geneval as R
from t2ir1_eval.rules.official_math import argsort_numpy123
from t2ir1_eval.types import PromptItem

CLASSES = {"person": 0, "car": 2, "dog": 16, "cat": 15, "clock": 74, "bench": 13}


def det(box, score, colour=None):
    return (box, score, colour)


def raw_of(**by_class):
    """raw output with detections given per class as lists of (box, score, colour-name-or-None)."""
    entries = []
    for name, dets in by_class.items():
        logits = []
        for _, _, colour in dets:
            if colour is None:
                logits.append(None)
            else:
                v = [0.0] * 10
                v[R.COLORS.index(colour)] = 5.0
                logits.append(v)
        entries.append({"label": CLASSES[name], "class": name,
                        "boxes": [list(map(float, b)) for b, _, _ in dets],
                        "scores": [float(np.float32(s)) for _, s, _ in dets],
                        "colour_logits": logits})
    return {"detections": entries}


def item(tag, include, exclude=None, prompt="a photo"):
    row = {"tag": tag, "include": include}
    if exclude is not None:
        row["exclude"] = exclude
    row["prompt"] = prompt
    return PromptItem("00000", prompt, tag, row)


BOX = [10, 10, 50, 50]


# ----------------------------------------------------------------------------- thresholds
def test_threshold_is_strict_in_float32():
    it = item("single_object", [{"class": "dog", "count": 1}])
    # float32(0.3) == 0.30000001192..., but the official array comparison casts 0.3 to float32: not kept
    assert R.decide(it, raw_of(dog=[det(BOX, 0.3)]))["correct"] is False
    above = float(np.nextafter(np.float32(0.3), np.float32(1)))
    d = R.decide(it, raw_of(dog=[det(BOX, above)]))
    assert d["correct"] is True and d["reason"] == ""
    d = R.decide(it, raw_of(dog=[det(BOX, 0.29)]))
    assert d["correct"] is False and d["reason"] == "expected dog>=1, found 0"


def test_threshold_option_rescoring():
    it = item("single_object", [{"class": "dog", "count": 1}])
    raw = raw_of(dog=[det(BOX, 0.2)])
    assert R.decide(it, raw)["correct"] is False
    assert R.decide(it, raw, {"threshold": 0.1})["correct"] is True
    assert R.decide(it, raw, {"threshold": "0.1"})["correct"] is True  # --options strings


def test_counting_threshold_applies_to_every_class_on_counting_rows():
    it = item("counting", [{"class": "clock", "count": 2}], [{"class": "clock", "count": 3}])
    raw = raw_of(clock=[det(BOX, 0.95), det(BOX, 0.9), det(BOX, 0.5)])
    d = R.decide(it, raw)
    # float32(0.9) fails "> 0.9": only one clock counted
    assert d["correct"] is False and d["reason"] == "expected clock>=2, found 1"
    raw = raw_of(clock=[det(BOX, 0.95), det(BOX, 0.91), det(BOX, 0.89)])
    assert R.decide(it, raw)["correct"] is True
    assert R.decide(it, raw, {"counting_threshold": 0.8})["reason"] == "expected clock<3, found 3"
    # a non-counting row with the same detections uses 0.3
    it2 = item("two_object", [{"class": "clock", "count": 1}, {"class": "dog", "count": 1}])
    assert R.decide(it2, raw_of(clock=[det(BOX, 0.5)], dog=[det(BOX, 0.4)]))["correct"] is True


# ----------------------------------------------------------------------------- counting
@pytest.mark.parametrize("n_found,correct,reason", [
    (2, False, "expected dog>=3, found 2"),
    (3, True, ""),
    (4, False, "expected dog<4, found 4"),
    (6, False, "expected dog<4, found 6"),
])
def test_counting_exactly_n(n_found, correct, reason):
    it = item("counting", [{"class": "dog", "count": 3}], [{"class": "dog", "count": 4}])
    raw = raw_of(dog=[det([i * 60, 0, i * 60 + 50, 50], 0.99 - i * 0.001) for i in range(n_found)])
    d = R.decide(it, raw)
    assert (d["correct"], d["reason"]) == (correct, reason)
    assert d["score"] == (1.0 if correct else 0.0)


def test_max_objects_caps_what_an_exclude_counts():
    it = item("counting", [{"class": "person", "count": 16}], [{"class": "person", "count": 17}])
    raw = raw_of(person=[det([i, 0, i + 5, 5], 0.95 + i * 1e-4) for i in range(20)])
    d = R.decide(it, raw)
    assert d["correct"] is True  # 20 detections, capped at 16: the exclude (>=17) never fires
    assert len(json.loads(d["details"])["person"]) == 16
    d = R.decide(it, raw, {"max_objects": 20})
    assert (d["correct"], d["reason"]) == (False, "expected person<17, found 20")


def test_cap_keeps_the_most_confident():
    raw = raw_of(dog=[det([i, 0, i + 5, 5], 0.31 + 0.01 * i) for i in range(20)])
    kept = R.kept_detections(raw, "single_object", {})["dog"]
    assert [round(float(o.row[4]), 2) for o in kept] == [round(0.31 + 0.01 * i, 2) for i in range(19, 3, -1)]


# ----------------------------------------------------------------------------- includes / excludes
def test_includes_are_anded_and_reasons_joined():
    it = item("two_object", [{"class": "dog", "count": 1}, {"class": "cat", "count": 1}])
    assert R.decide(it, raw_of(dog=[det(BOX, 0.8)], cat=[det(BOX, 0.7)]))["correct"] is True
    d = R.decide(it, raw_of(dog=[det(BOX, 0.8)]))
    assert (d["correct"], d["reason"]) == (False, "expected cat>=1, found 0")
    d = R.decide(it, raw_of())
    assert d["reason"] == "expected dog>=1, found 0\nexpected cat>=1, found 0"


def test_extra_objects_are_never_penalised_without_exclude():
    it = item("single_object", [{"class": "dog", "count": 1}])
    raw = raw_of(dog=[det(BOX, 0.9)] * 5, cat=[det(BOX, 0.9)] * 3)
    assert R.decide(it, raw)["correct"] is True


def test_excludes_are_ored():
    it = item("counting", [{"class": "dog", "count": 1}],
              [{"class": "cat", "count": 1}, {"class": "car", "count": 2}])
    assert R.decide(it, raw_of(dog=[det(BOX, 0.95)], car=[det(BOX, 0.95)]))["correct"] is True
    d = R.decide(it, raw_of(dog=[det(BOX, 0.95)], car=[det(BOX, 0.95)] * 2))
    assert (d["correct"], d["reason"]) == (False, "expected car<2, found 2")
    d = R.decide(it, raw_of(dog=[det(BOX, 0.95)], cat=[det(BOX, 0.99)], car=[det(BOX, 0.95)] * 3))
    assert d["reason"] == "expected cat<1, found 1\nexpected car<2, found 3"


# ----------------------------------------------------------------------------- colours
def test_colour_judged_on_most_confident_object_only():
    it = item("colors", [{"class": "car", "count": 1, "color": "red"}])
    raw = raw_of(car=[det(BOX, 0.6, "blue"), det(BOX, 0.9, "red")])
    assert R.decide(it, raw)["correct"] is True
    raw = raw_of(car=[det(BOX, 0.9, "blue"), det(BOX, 0.6, "red")])
    d = R.decide(it, raw)
    assert (d["correct"], d["reason"]) == (False, "expected red car>=1, found 0 red; and 1 blue")


def test_colour_all_counted_objects_must_match_and_histogram_in_palette_order():
    it = item("colors", [{"class": "car", "count": 3, "color": "white"}])
    raw = raw_of(car=[det(BOX, 0.9, "white"), det(BOX, 0.8, "black"), det(BOX, 0.7, "white"), det(BOX, 0.6, "red")])
    d = R.decide(it, raw)
    assert d["reason"] == "expected white car>=3, found 2 white; and 1 black, 2 white"


def test_colour_argmax_of_logits():
    it = item("colors", [{"class": "car", "count": 1, "color": "green"}])
    raw = raw_of(car=[det(BOX, 0.9)])
    raw["detections"][0]["colour_logits"] = [[20.1, 0, 0, 20.3, 0, 0, 0, 0, 0, 20.2]]
    assert R.decide(it, raw)["correct"] is True


def test_color_attr_two_clauses():
    it = item("color_attr", [{"class": "dog", "count": 1, "color": "brown"}, {"class": "bench", "count": 1, "color": "yellow"}])
    assert R.decide(it, raw_of(dog=[det(BOX, 0.9, "brown")], bench=[det(BOX, 0.5, "yellow")]))["correct"] is True
    d = R.decide(it, raw_of(dog=[det(BOX, 0.9, "black")], bench=[det(BOX, 0.5, "purple")]))
    assert d["reason"] == ("expected brown dog>=1, found 0 brown; and 1 black\n"
                           "expected yellow bench>=1, found 0 yellow; and 1 purple")


def test_missing_colour_logits_is_a_failure_not_a_guess():
    it = item("colors", [{"class": "car", "count": 1, "color": "red"}])
    d = R.decide(it, raw_of(car=[det(BOX, 0.9, None)]))
    assert d["failed"] is True and d["score"] == 0.0 and "no colour logits" in d["reason"]


# ----------------------------------------------------------------------------- positions
def pos_item(rel):
    # "a photo of a dog <rel> a cat": include[0] = the reference (cat), include[1] = dog with position
    return item("position", [{"class": "cat", "count": 1}, {"class": "dog", "count": 1, "position": [rel, 0]}])


@pytest.mark.parametrize("rel,dog_box", [
    ("left of", [0, 100, 50, 150]),
    ("right of", [300, 100, 350, 150]),
    ("above", [100, 0, 150, 50]),
    ("below", [100, 300, 150, 350]),
])
def test_each_relation(rel, dog_box):
    cat_box = [100, 100, 150, 150]
    raw = raw_of(cat=[det(cat_box, 0.9)], dog=[det(dog_box, 0.9)])
    assert R.decide(pos_item(rel), raw)["correct"] is True
    for other in R.RELATIONS:
        if other != rel:
            d = R.decide(pos_item(other), raw)
            assert d["correct"] is False
            assert d["reason"] == f"expected dog {other} target, found {rel} target"


def test_position_margin_and_overlap():
    cat = [100, 100, 200, 200]  # 100 x 100, centre 150
    # dog 100 wide: margin = 0.1 * (100 + 100) = 20 px; centre offset 15 -> revised 0 -> no relation
    d = R.decide(pos_item("right of"), raw_of(cat=[det(cat, 0.9)], dog=[det([115, 100, 215, 200], 0.9)]))
    assert (d["correct"], d["reason"]) == (False, "expected dog right of target, found  target")
    # offset 25 -> revised 5 -> dx = 5 / 25 = 0.2 < 0.5: still no relation
    assert R.relative_position(np.array([125, 100, 225, 200]), np.array(cat)) == []
    # same offset with position_threshold=0 -> dx = 1
    assert R.relative_position(np.array([125, 100, 225, 200]), np.array(cat), 0.0) == ["right of"]
    d = R.decide(pos_item("right of"), raw_of(cat=[det(cat, 0.9)], dog=[det([125, 100, 225, 200], 0.9)]),
                 {"position_threshold": 0.0})
    assert d["correct"] is True


def test_margin_normalised_by_raw_offset_and_diagonals():
    a, b = np.array([0, 0, 10, 10]), np.array([100, 100, 110, 110])
    assert R.relative_position(a, b) == ["left of", "above"]
    # dx = (90 - 2) / |(-90,-90)| = 0.691 -> both; a steeper offset keeps only one
    assert R.relative_position(np.array([0, 60, 10, 70]), b) == ["left of"]


def test_position_uses_every_found_and_target_object_and_no_target():
    it = item("position", [{"class": "cat", "count": 1}, {"class": "dog", "count": 1, "position": ["below", 0]}])
    d = R.decide(it, raw_of(dog=[det([0, 300, 50, 350], 0.9)]))
    assert d["reason"] == "expected cat>=1, found 0\nno target for dog to be below"
    # only the most confident cat is the target
    raw = raw_of(cat=[det([0, 0, 50, 50], 0.9), det([0, 500, 50, 550], 0.5)], dog=[det([0, 300, 50, 350], 0.9)])
    assert R.decide(it, raw)["correct"] is True


def test_position_in_float32():
    # centres differ by 1e-3 only in float64; in float32 this is below the 1e-3 cut -> no relation
    a = np.array([0, 0, 10, 10], dtype=np.float32)
    b = np.array([0, 0, 10, 10], dtype=np.float32)
    assert R.relative_position(a, b) == []


# ----------------------------------------------------------------------------- NMS + ties
def test_nms_off_by_default_and_official_iou():
    it = item("counting", [{"class": "dog", "count": 1}], [{"class": "dog", "count": 2}])
    raw = raw_of(dog=[det([0, 0, 99, 99], 0.95), det([0, 0, 99, 89], 0.94)])
    assert R.decide(it, raw)["reason"] == "expected dog<2, found 2"
    # +1 convention: IoU = 9000 / 10000 = 0.9 -> suppressed when IoU >= max_overlap
    iou = R.compute_iou(np.array([0, 0, 99, 99, 1], np.float32), np.array([0, 0, 99, 89, 1], np.float32))
    assert iou == 0.9  # float64, as numpy 1.23 computes float32 side + Python int 1
    assert R.decide(it, raw, {"max_overlap": 0.85})["correct"] is True
    assert R.decide(it, raw, {"nms_threshold": 0.95})["correct"] is False  # alias; 0.9 < 0.95 kept
    assert R.decide(it, raw, {"max_overlap": 0.9})["correct"] is True  # 0.9 < 0.9 is False: dropped


def test_nms_iou_precision_is_the_officials_float64():
    # the smallest case where a float32 ratio (0.89999998) and the official float64 ratio (0.9) part
    it = item("counting", [{"class": "dog", "count": 2}], [{"class": "dog", "count": 3}], prompt="a photo of two dogs")
    raw = raw_of(dog=[det([0, 0, 99, 9], 0.96), det([0, 0, 89, 9], 0.95)])
    a, b = np.array([0, 0, 99, 9, 0.96], np.float32), np.array([0, 0, 89, 9, 0.95], np.float32)
    assert R.compute_iou(a, b) == 0.9 and float(np.float32(900) / np.float32(1000)) < 0.9
    d = R.decide(it, raw, {"max_overlap": 0.9, "counting_threshold": 0.9})
    assert (d["correct"], d["reason"]) == (False, "expected dog>=2, found 1")
    assert R.decide(it, raw, {"max_overlap": 0.91})["correct"] is True
    # float32 side lengths before the float64 "+ 1": 50.1 - 0.3 rounds in float32 first
    c, e = np.array([0.3, 0.7, 50.1, 20.3], np.float32), np.array([0.1, 0.2, 40.7, 25.9], np.float32)
    w = float(np.float32(50.1) - np.float32(0.3)) + 1
    assert R.compute_iou(c, c) == 1.0 and R.compute_iou(c, e) == float.fromhex("0x1.4ec3d743070d8p-1")
    assert w != float(np.float32(50.1)) - float(np.float32(0.3)) + 1


def test_tie_order_beyond_16_rows_is_numpy123_introsort():
    # 17 rows, rows 4 and 10 tied at 0.85: numpy 1.23.5's np.argsort(float32)[::-1] gives this
    # order (run there), with the EARLIER tied row first; "later row first" would put 10 before 4
    scores = [0.35, 0.55, 0.825, 0.6, 0.85, 0.25, 0.95, 0.45, 0.15, 0.875, 0.85, 0.275, 0.775, 0.8, 0.65, 0.075, 0.525]
    numpy123 = [6, 9, 4, 10, 2, 13, 12, 14, 3, 1, 16, 7, 0, 11, 5, 8, 15]
    assert argsort_numpy123([float(np.float32(s)) for s in scores])[::-1] == numpy123
    raw = raw_of(dog=[det([i, 0, i + 1, 1], s) for i, s in enumerate(scores)])
    kept = R.kept_detections(raw, "single_object", {"threshold": 0.0, "max_objects": 17})["dog"]
    assert [int(o.row[0]) for o in kept] == numpy123
    # max_objects cuts after the official order: the 16 kept rows are numpy 1.23's first 16
    kept16 = R.kept_detections(raw, "single_object", {"threshold": 0.0})["dog"]
    assert [int(o.row[0]) for o in kept16] == numpy123[:16]


def test_tie_order_later_row_first():
    raw = raw_of(dog=[det([0, 0, 1, 1], 0.5), det([5, 5, 6, 6], 0.5), det([9, 9, 10, 10], 0.7)])
    kept = R.kept_detections(raw, "single_object", {})["dog"]
    assert [float(o.row[0]) for o in kept] == [9.0, 5.0, 0.0]
    kept = R.kept_detections(raw, "single_object", {"tie_order": "stable"})["dog"]
    assert [float(o.row[0]) for o in kept] == [9.0, 0.0, 5.0]


# ----------------------------------------------------------------------------- official files
def test_details_and_official_row():
    it = item("two_object", [{"class": "dog", "count": 1}, {"class": "cat", "count": 1}],
              prompt="a photo of a dog and a cat")
    raw = raw_of(dog=[det([1, 2, 3, 4], 0.3000001)], cat=[det([5, 6, 7, 8], 0.8), det([0, 0, 1, 1], 0.1)])
    d = R.decide(it, raw)
    # classes in detector index order (cat 15 before dog 16), boxes as float32 -> Python floats
    assert d["details"] == json.dumps({"cat": [[5.0, 6.0, 7.0, 8.0, float(np.float32(0.8))]],
                                       "dog": [[1.0, 2.0, 3.0, 4.0, float(np.float32(0.3000001))]]})
    row = R.official_results_row(it, 0, "imgs/00000/samples/0000.png", d)
    assert list(row) == ["filename", "tag", "prompt", "correct", "reason", "metadata", "details"]
    assert row["metadata"] == ('{"tag": "two_object", "include": [{"class": "dog", "count": 1}, '
                               '{"class": "cat", "count": 1}], "prompt": "a photo of a dog and a cat"}')
    # key order restored even if a store sorted the keys
    sorted_item = PromptItem("00000", it.prompt, it.category, json.loads(json.dumps(it.metadata, sort_keys=True)))
    assert R.official_results_row(sorted_item, 0, "x", d)["metadata"] == row["metadata"]
    line = R.official_results_line(row)
    assert line.startswith('{"filename":"imgs\\/00000\\/samples\\/0000.png","tag":"two_object"')
    assert json.loads(line) == row


def test_real_metadata_rows_decide(geneval_rows):
    # every official row decides on an empty detection set with the official "found 0" reasons
    for n, row in enumerate(geneval_rows):
        d = R.decide(PromptItem(f"{n:05d}", row["prompt"], row["tag"], row), {"detections": []})
        assert d["correct"] is False
        assert d["reason"].split("\n")[0] == f"expected {row['include'][0]['class']}>={row['include'][0]['count']}, found 0"


@pytest.fixture
def geneval_rows(data_dir):
    path = data_dir / "geneval" / "evaluation_metadata.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scorer_error_is_failed():
    d = R.decide(item("single_object", [{"class": "dog", "count": 1}]), {"error": "boom"})
    assert d["failed"] is True and d["score"] == 0.0


# ----------------------------------------------------------------------------- summary
def test_summary_is_macro_average_over_tags_in_first_appearance_order():
    rows = []
    meta = lambda i: json.dumps({"tag": "t", "prompt": str(i)})
    for i, ok in enumerate([True, False, False, False]):  # position: 1/4
        rows.append({"tag": "position", "correct": ok, "metadata": meta(i // 2)})
    for i, ok in enumerate([True, True]):  # single_object: 2/2
        rows.append({"tag": "single_object", "correct": ok, "metadata": meta(10 + i)})
    s = R.summary(rows)
    assert list(s["tags"]) == ["position", "single_object"]
    assert s["overall"] == pytest.approx((0.25 + 1.0) / 2)
    assert s["correct_images"] == pytest.approx(3 / 6)
    assert s["total_prompts"] == 4 and s["correct_prompts"] == pytest.approx(3 / 4)
    text = R.format_summary(s)
    assert "position         = 25.00% (1 / 4)" in text and "Overall score (avg. over tasks): 0.62500" in text


def test_aggregate_rows_contract():
    rows = [{"prompt_id": "00000", "category": "counting", "file_index": 0, "decision": {"correct": True, "score": 1.0},
             "metadata": {"tag": "counting", "prompt": "a"}},
            {"prompt_id": "00000", "category": "counting", "file_index": 1, "decision": {"correct": False, "score": 0.0},
             "metadata": {"tag": "counting", "prompt": "a"}},
            {"prompt_id": "00001", "category": "colors", "file_index": 0, "decision": {"correct": False, "score": 0.0,
                                                                                       "failed": True},
             "metadata": {"tag": "colors", "prompt": "b"}}]
    out = R.aggregate(rows, {})
    assert out["counting"] == 0.5 and out["colors"] == 0.0 and out["Overall"] == 0.25
    assert out["correct_prompts"] == 0.5
