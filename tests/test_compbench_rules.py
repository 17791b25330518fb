"""T2I-CompBench rules on hand-made detections, depths and probabilities (no models, no spaCy)."""

from __future__ import annotations

import numpy as np
import pytest

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.types import PromptItem


def toks(*pairs: str) -> list[list[str]]:
    """'word/POS' strings -> stored tokens, single spaces between them."""
    out = []
    for i, p in enumerate(pairs):
        w, pos = p.rsplit("/", 1)
        out.append([w, pos, "" if i == len(pairs) - 1 else " "])
    return out


def item(category: str, prompt: str = "p", **meta) -> PromptItem:
    return PromptItem(f"{category}/000", prompt, category, {"row": 0, "category": category, **meta})


SIMPLE = toks("a/DET", "dog/NOUN", "on/ADP", "the/DET", "left/NOUN", "of/ADP", "a/DET", "cat/NOUN")


def raw2d(prompt: str, dets, tokens=SIMPLE) -> dict:
    return {"prompt": prompt, "tokens": tokens, "detections": dets}


# ------------------------------------------------------------------------------------------- 2D
def test_relation_words_first_substring_in_official_order():
    assert R.relation("a cat near a dog next to a tree", R.RELATIONS_2D) == "next to"  # 'next to' precedes 'near'
    assert R.relation("a cat on the top of a dog", R.RELATIONS_2D) == "on the top of"
    assert R.relation("a cat on top of a dog", R.RELATIONS_2D) == "on top of"
    assert R.relation("a cat and a dog", R.RELATIONS_2D) is None
    assert R.relation("a box hidden behind a tree", R.RELATIONS_3D) == "behind"  # order: in front of, behind, hidden


@pytest.mark.parametrize("b2, expected", [
    ([200, 0, 300, 100], 1.0),        # |dy| = 0 < 150
    ([400, 400, 500, 500], 150 / 400),  # both >= 150: 150 / max
    ([0, 160, 100, 260], 1.0),        # |dx| = 0
])
def test_next_to_150px_rule(b2, expected):
    assert R.position_2d("next to", [0, 0, 100, 100], b2) == pytest.approx(expected)
    assert R.position_2d("near", [0, 0, 100, 100], b2) == pytest.approx(expected)


def test_directional_rules_with_iou_threshold():
    left = [0, 0, 100, 100]
    assert R.position_2d("on the left of", left, [300, 10, 400, 110]) == 1.0  # dx > 0, no overlap
    # overlapping: IoU 1/3 >= 0.1 -> 0.1 / IoU
    b2 = [50, 0, 150, 100]
    iou = R.iou_plain(left, b2)
    assert iou == pytest.approx(50 * 100 / (2 * 100 * 100 - 50 * 100))
    assert R.position_2d("on the left of", left, b2) == pytest.approx(0.1 / iou)
    assert R.position_2d("on the left of", left, [-300, 0, -200, 100]) == 0.0  # wrong side
    assert R.position_2d("on the left of", left, [50, 300, 150, 400]) == 0.0  # dx > 0 but |dy| dominates
    assert R.position_2d("on the right of", [300, 0, 400, 100], left) == 1.0
    assert R.position_2d("on the top of", [0, 0, 100, 100], [0, 300, 100, 400]) == 1.0  # y grows downwards
    assert R.position_2d("on the bottom of", [0, 300, 100, 400], [0, 0, 100, 100]) == 1.0
    assert R.position_2d("on the bottom of", [0, 0, 100, 100], [0, 300, 100, 400]) == 0.0


def test_on_top_of_scores_zero_unless_corrected():
    dets = [["dog", 1.0, [0, 0, 100, 100]], ["cat", 1.0, [0, 300, 100, 400]]]
    raw = raw2d("a dog on top of a cat", dets)
    d = R.decide(item("spatial"), raw, {})
    assert d["relation"] == "on top of" and d["position"] == 0.0
    assert d["score"] == 0.5  # 0.25 + 0.25 + 0 survives the < 0.5 rule exactly
    d2 = R.decide(item("spatial"), raw, {"on_top_of": "as_top"})
    assert d2["position"] == 1.0 and d2["score"] == 1.0 and d2["mode"]["on_top_of"] == "as_top"


def test_2d_score_formula_and_zeroing():
    dets = [["cat", 0.9, [300, 0, 400, 100]], ["dog", 0.8, [0, 0, 100, 100]], ["dog", 0.7, [500, 0, 600, 100]]]
    d = R.decide(item("spatial"), raw2d("a dog on the left of a cat", dets), {})
    assert d["matched"] == [1, 0]  # the first (highest-scoring) 'dog'
    assert d["score"] == pytest.approx(0.25 * 0.8 + 0.25 * 0.9 + 1.0 / 2)
    # wrong side: 0.25*0.8 + 0.25*0.9 = 0.425 < 0.5 -> 0
    dets_wrong = [["cat", 0.9, [0, 0, 100, 100]], ["dog", 0.8, [300, 0, 400, 100]]]
    d = R.decide(item("spatial"), raw2d("a dog on the left of a cat", dets_wrong), {})
    assert d["score_before_threshold"] == pytest.approx(0.425) and d["score"] == 0.0
    # one object only: 0.25 * conf < 0.5 -> 0
    d = R.decide(item("spatial"), raw2d("a dog on the left of a cat", [["dog", 0.99, [0, 0, 9, 9]]]), {})
    assert d["matched"] == [0, None] and d["score"] == 0.0


def test_2d_exact_label_match_and_person_mapping():
    tokens = toks("a/DET", "girl/NOUN", "next/ADV", "to/ADP", "a/DET", "table/NOUN")
    dets = [["person", 1.0, [0, 0, 100, 100]], ["table, desk", 1.0, [120, 0, 200, 100]]]
    d = R.decide(item("spatial"), raw2d("a girl next to a table", dets, tokens), {})
    assert d["objects"] == ["person", "table"]
    assert d["matched"] == [0, None] and d["score"] == 0.0  # compound label never matches exactly
    dets[1][0] = "table"
    d = R.decide(item("spatial"), raw2d("a girl next to a table", dets, tokens), {})
    assert d["score"] == 1.0


def test_2d_crashes_are_scored_zero_and_recorded():
    d = R.decide(item("spatial"), raw2d("on the left of", [], toks("on/ADP", "the/DET", "left/ADJ")), {})
    assert d["official_would_crash"] and d["score"] == 0.0 and "NOUN" in d["reason"]
    zero = [["dog", 1.0, [5, 5, 5, 5]], ["cat", 1.0, [7, 7, 7, 7]]]
    d = R.decide(item("spatial"), raw2d("a dog on the left of a cat", zero), {})
    assert d["official_would_crash"] and "zero area" in d["reason"]


def test_complex_objects_around_prepositions():
    t = toks("The/DET", "red/ADJ", "hat/NOUN", "was/AUX", "on/ADP", "top/NOUN", "of/ADP", "the/DET",
             "brown/ADJ", "coat/NOUN", "rack/NOUN", "./PUNCT")
    assert R.complex_objects(t) == ["hat", "coat"]  # first following NOUN
    # PROPN before the preposition; forward search hits the end without a NOUN -> PROPN fallback
    t = toks("Bob/PROPN", "stood/VERB", "next/ADV", "to/ADP", "Big/PROPN", "Ben/PROPN", "today/ADV")
    assert R.complex_objects(t) == ["Bob", "Ben"]
    # two prepositions -> 4 objects -> no pair: 2D complex score 0
    t = toks("a/DET", "cat/NOUN", "near/ADP", "a/DET", "dog/NOUN", "next/ADV", "to/ADP", "a/DET", "car/NOUN")
    objs = R.complex_objects(t)
    assert objs == ["cat", "dog", "dog", "car"]
    d = R.decide_2d({"prompt": "a cat near a dog next to a car", "tokens": t,
                     "detections": [["cat", 1, [0, 0, 1, 1]], ["dog", 1, [0, 0, 2, 2]]]}, {}, complex_mode=True)
    assert d["objects"] == [None, None] and d["score"] == 0.0


def test_span_text_rebuilds_spacy_slices():
    t = toks("on/ADP", "the/DET", "left/NOUN")
    assert R.span_text(t, 0, 3) == "on the left" and R.span_text(t, 1, 9) == "the left" and R.span_text(t, 3, 5) == ""


# ------------------------------------------------------------------------------------------- 3D
def raw3d(prompt, tokens, dets, means):
    return {"prompt": prompt, "tokens": tokens, "detections": dets,
            "depth": {"box_means": [{"transposed": a, "row_col": b} for a, b in means]}}


T3 = toks("a/DET", "dog/NOUN", "in/ADP", "front/NOUN", "of/ADP", "a/DET", "desk/NOUN")


@pytest.mark.parametrize("rel, iou_boxes, d1, d2, pos", [
    ("in front of", ([0, 0, 100, 100], [10, 0, 110, 100]), 0.8, 0.2, 1.0),          # IoU 0.82 > 0.5, nearer
    ("in front of", ([0, 0, 100, 100], [10, 0, 110, 100]), 0.2, 0.8, 0.0),          # farther
    ("in front of", ([0, 0, 100, 100], [60, 0, 160, 100]), 0.8, 0.2, None),         # 0 < IoU < 0.5 -> IoU/0.5
    ("in front of", ([0, 0, 100, 100], [200, 0, 300, 100]), 0.8, 0.2, 0.0),         # no overlap -> 0
    ("behind", ([0, 0, 100, 100], [10, 0, 110, 100]), 0.2, 0.8, 1.0),
    ("hidden", ([0, 0, 100, 100], [10, 0, 110, 100]), 0.2, 0.8, 1.0),               # hidden == behind
    ("behind", ([0, 0, 100, 100], [10, 0, 110, 100]), None, 0.8, 0.0),              # empty slice (NaN)
])
def test_3d_position(rel, iou_boxes, d1, d2, pos):
    iou = R.iou_plain(*iou_boxes)
    expected = iou / 0.5 if pos is None else pos
    assert R.position_3d(rel, iou, d1, d2) == pytest.approx(expected)


def test_3d_iou_exactly_half_scores_zero():
    b1, b2 = [0, 0, 90, 100], [30, 0, 120, 100]  # inter 60x100, union 120x100 -> 0.5
    assert R.iou_plain(b1, b2) == 0.5
    assert R.position_3d("in front of", 0.5, 0.9, 0.1) == 0.0


def test_3d_substring_match_moving_index_and_no_zeroing():
    dets = [["dog", 0.6, [0, 0, 100, 100]], ["dog", 0.9, [10, 0, 110, 100]], ["desk, table", 0.7, [20, 0, 120, 100]],
            ["dog", 0.5, [300, 300, 310, 310]]]
    means = [(0.1, 0.9), (0.8, 0.1), (0.3, 0.3), (0.0, 0.0)]
    d = R.decide(item("3d_spatial"), raw3d("a dog in front of a desk", T3, dets, means), {})
    assert d["matched"] == [1, 2]  # obj1 index moved to the 2nd 'dog' before 'desk' was found; substring match
    assert d["depth"] == [0.8, 0.3] and d["position"] == 1.0
    assert d["score"] == pytest.approx(0.25 * 0.9 + 0.25 * 0.7 + 0.5)
    d = R.decide(item("3d_spatial"), raw3d("a dog in front of a desk", T3, dets, means), {"depth_indexing": "row_col"})
    assert d["depth"] == [0.1, 0.3] and d["position"] == 0.0 and d["mode"]["depth_indexing"] == "row_col"
    # one object: 0.25 * conf, kept although < 0.5 (no zeroing in 3D)
    d = R.decide(item("3d_spatial"), raw3d("a dog in front of a desk", T3, dets[:1], means[:1]), {})
    assert d["score"] == pytest.approx(0.15)


# ------------------------------------------------------------------------------------------- numeracy
@pytest.fixture(scope="module")
def new_objects(data_dir):
    return R.read_new_objects((data_dir / "t2i_compbench" / "dataset" / "new_objects.txt").read_text())


def words(s: str) -> list[list[str]]:
    return [[w, "X", " "] for w in s.split()]


def test_numeracy_targets_from_new_objects(new_objects):
    t = R.numeracy_targets(words("two boys and one turtle"), *new_objects)
    assert t == {"objects": ["boy", "turtle"], "counts": [2, 1], "notes": []}
    assert R.numeracy_targets(words("three fish"), *new_objects)["objects"] == ["fish"]  # identical plural
    assert R.numeracy_targets(words("three fish"), *new_objects)["counts"] == [3]
    assert R.numeracy_targets(words("five mice"), *new_objects) == {"objects": ["mouse"], "counts": [5], "notes": []}
    # a/an + plural: object kept, count missing (lists misalign as upstream)
    t = R.numeracy_targets(words("a cats and two dogs"), *new_objects)
    assert t["objects"] == ["cat", "dog"] and t["counts"] == [2] and "word_to_num" in t["notes"][0]
    # number + singular: upstream ValueError
    assert "ValueError" in R.numeracy_targets(words("two cat"), *new_objects)["notes"][0]
    # case-sensitive number words, as upstream
    assert R.numeracy_targets(words("One cat"), *new_objects)["objects"] == []


def test_numeracy_two_word_objects():
    singular, plural = ["ice cream", "cat"], ["ice creams", "cats"]
    assert R.numeracy_targets(words("three ice creams"), singular, plural) == {
        "objects": ["ice cream"], "counts": [3], "notes": []}
    # a/an/one + plural two-word: count 1, the plural text as the object
    assert R.numeracy_targets(words("one ice creams"), singular, plural)["objects"] == ["ice creams"]


def test_numeracy_dedup_rules():
    labels, boxes = R.dedup_detections(["cat", "cat", "cat", "dog"],
                                       [[0, 0, 100, 100], [1, 1, 100, 100], [10, 10, 50, 50], [0, 0, 100, 100]])
    assert labels == ["cat", "dog"]  # IoU > 0.9; then a box > 0.9 inside a kept one; other label kept
    labels, _ = R.dedup_detections(["cat", "cat"], [[0, 0, 100, 100], [50, 0, 150, 100]])
    assert labels == ["cat", "cat"]
    # +1-pixel areas: two 1-px boxes side by side overlap by 0 px -> both kept
    assert R.overlaps_09([0, 0, 0, 0], [0, 0, 0, 0]) and not R.overlaps_09([0, 0, 0, 0], [1, 0, 1, 0])


def test_numeracy_score_split_remaps_and_renaming():
    raw = {"numeracy": {"objects": ["boy", "painting", "dog"], "counts": [2, 1, 3], "notes": []},
           "detections": [["person", 0.9, [0, 0, 50, 50]], ["person", 0.9, [100, 0, 150, 50]],
                          ["picture, frame", 0.8, [200, 200, 300, 300]], ["dog", 0.7, [0, 200, 50, 250]]]}
    d = R.decide(item("numeracy"), raw, {})
    # boy->person (2 == 2): 1/3; painting->picture, 'picture, frame' renamed (1 == 1): 1/3; dog 1 != 3: 1/6
    assert d["detected_counts"] == [2, 1, 1]
    assert d["score"] == pytest.approx(1 / 3 + 1 / 3 + 1 / 6)


def test_numeracy_crashes():
    d = R.decide(item("numeracy"), {"numeracy": {"objects": [], "counts": [], "notes": []}, "detections": []}, {})
    assert d["official_would_crash"] and d["score"] == 0.0
    raw = {"numeracy": {"objects": ["cat", "dog"], "counts": [2], "notes": ["word_to_num('a') fails"]},
           "detections": [["dog", 0.9, [0, 0, 9, 9]]]}
    d = R.decide(item("numeracy"), raw, {})
    assert d["official_would_crash"] and "IndexError" in d["reason"]


# ------------------------------------------------------------------------------------------- BLIP / CLIP
def test_blip_rounding_and_float32_product():
    raw = {"p": [0.123456, 0.98765, 0.5], "np_num": 8}
    d = R.decide(item("color"), raw, {})
    expected = np.float32(1)
    for v in (0.1235, 0.9877, 0.5):
        expected = np.float32(expected * np.float32(v))
    assert d["per_phrase"] == [float(np.float32(0.1235)), float(np.float32(0.9877)), 0.5]
    assert d["score"] == float(f"{float(expected):.4f}") == 0.061
    assert R.decide(item("color"), {"p": [], "np_num": 8}, {})["score"] == 1.0  # no phrase: all slots 1
    unrounded = R.decide(item("texture"), raw, {"blip_rounding": False})
    assert unrounded["score"] == pytest.approx(0.123456 * 0.98765 * 0.5, rel=1e-6)


def test_blip_only_np_num_phrases_count():
    assert R.decide(item("shape"), {"p": [0.5] * 10, "np_num": 8}, {})["score"] == float(f"{0.5 ** 8:.4f}")


def test_clip_is_raw_cosine_and_errors_fail():
    assert R.decide(item("non_spatial"), {"cosine": 0.3125, "text": "x"}, {})["score"] == 0.3125
    d = R.decide(item("non_spatial"), {"error": "ImageError: broken"}, {})
    assert d["failed"] and d["score"] == 0.0
    with pytest.raises(ValueError, match="category"):
        R.decide(item("colour"), {"p": []}, {})


# ------------------------------------------------------------------------------------------- 3-in-1
def test_three_in_one_sublist_rule():
    spatial_raw = {"prompt": "The dog was on the left of the cat.",
                   "tokens": toks("The/DET", "dog/NOUN", "was/AUX", "on/ADP", "the/DET", "left/NOUN", "of/ADP",
                                  "the/DET", "cat/NOUN"),
                   "detections": [["dog", 1.0, [0, 0, 100, 100]], ["cat", 1.0, [300, 0, 400, 100]]]}
    raw = {"blip": {"p": [0.5], "np_num": 8}, "spatial": spatial_raw, "clip": {"cosine": 0.3}}
    two_d = R.decide_2d(spatial_raw, {}, complex_mode=True)
    assert two_d["objects"] == ["dog", "cat"] and two_d["score"] == 1.0
    s = R.decide(item("complex", complex_sublist="spatial"), raw, {})
    assert s["score"] == pytest.approx((1.0 + 0.5) * 0.5)
    a = R.decide(item("complex", complex_sublist="action"), raw, {})
    assert a["score"] == pytest.approx((0.3 + 0.5) * 0.5) and a["spatial"] is None
    sa = R.decide(item("complex", complex_sublist="spatialaction"), raw, {})
    assert sa["score"] == pytest.approx((0.5 + 1.0 + 0.3) / 3)
    # a failed part fails only the sub-lists that need it
    broken = {**raw, "spatial": {"error": "WorkerError: boom"}}
    assert R.decide(item("complex", complex_sublist="action"), broken, {})["failed"] is False
    assert R.decide(item("complex", complex_sublist="spatial"), broken, {})["failed"] is True
    with pytest.raises(ValueError, match="complex_sublist"):
        R.decide(item("complex"), raw, {})
