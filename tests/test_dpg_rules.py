"""DPG-Bench rules on hand-made answers (the official compute_dpg_bench.py behaviour)."""

from __future__ import annotations

import math

import pytest

from t2ir1_eval.errors import ConfigError
from t2ir1_eval.rules import dpg_bench as rules
from t2ir1_eval.types import PromptItem

ITEM = PromptItem("x", "a prompt", "dpg", {"item_id": "x"})


def q(row: int, qid: int, deps: list[int], tup: str = "entity - whole (thing)") -> dict:
    return {"row": row, "qid": qid, "dependency": deps, "tuple": tup, "question": f"question {qid}?"}


def raw_for(questions: list[dict], tiles: list[list[str]], qids: list[int] | None = None) -> dict:
    qids = qids if qids is not None else list(dict.fromkeys(x["qid"] for x in questions))
    return {
        "item_id": "x",
        "questions": questions,
        "qids": qids,
        "tiles": [{"box": [0, 0, 1, 1], "answers": a} for a in tiles],
    }


CHAIN = [q(5, 1, [0]), q(6, 2, [1], "attribute - color (thing, red)"), q(7, 3, [2], "relation - spatial (a, b, on)")]


def same4(answers: list[str]) -> list[list[str]]:
    return [answers] * 4


def test_a_parent_no_zeroes_its_children_down_the_chain():
    d = rules.decide(ITEM, raw_for(CHAIN, same4(["no", "yes", "yes"])), {})
    assert d["tile_scores"] == [0.0] * 4 and d["score"] == 0.0 and not d["failed"]
    d = rules.decide(ITEM, raw_for(CHAIN, same4(["yes", "no", "yes"])), {})
    assert d["score"] == pytest.approx(1 / 3)  # q3 is zeroed through q2
    d = rules.decide(ITEM, raw_for(CHAIN, same4(["yes", "yes", "yes"])), {})
    assert d["score"] == 1.0


@pytest.mark.parametrize("answer", ["Yes", "yes.", " yes", "yes ", "YES", "yes yes", "y"])
def test_only_exact_lowercase_yes_counts(answer):
    d = rules.decide(ITEM, raw_for([q(3, 1, [0])], same4([answer])), {})
    assert d["score"] == 0.0
    assert d["category_values"] == [["entity - whole", 0.0]]


def test_dependency_rule_follows_csv_order_on_updated_scores():
    # the child comes first: its parent is still at its raw "yes" when the child is checked
    rows = [q(1, 3, [2]), q(2, 2, [1]), q(3, 1, [0])]
    d = rules.decide(ITEM, raw_for(rows, same4(["yes", "yes", "no"])), {})
    # q3 keeps 1 (q2 not yet zeroed), q2 -> 0 (q1 said no), q1 = 0: 1/3, not a topological 0
    assert d["score"] == pytest.approx(1 / 3)


def test_tile_mean_then_image_mean_over_four_tiles():
    tiles = [["yes", "yes", "yes"], ["yes", "no", "yes"], ["no", "yes", "yes"], ["yes", "yes", "no"]]
    d = rules.decide(ITEM, raw_for(CHAIN, tiles), {})
    assert d["tile_scores"] == pytest.approx([1.0, 1 / 3, 0.0, 2 / 3])
    assert d["score"] == pytest.approx((1 + 1 / 3 + 0 + 2 / 3) / 4)


def test_categories_use_raw_answers_of_the_last_tile_only():
    tiles = [["yes", "yes", "yes"]] * 3 + [["no", "yes", "no"]]
    d = rules.decide(ITEM, raw_for(CHAIN, tiles), {})
    # pre-dependency: q2 "yes" counts 1 for its category even though q1 said no on that tile
    assert d["category_values"] == [["entity - whole", 0.0], ["attribute - color", 1.0], ["relation - spatial", 0.0]]
    d1 = rules.decide(ITEM, raw_for(CHAIN, tiles), {"pic_num": 1})
    assert d1["score"] == 1.0 and d1["pic_num"] == 1
    assert [v for _, v in d1["category_values"]] == [1.0, 1.0, 1.0]


def test_category_names_from_the_tuple_text():
    assert rules.l2_category("entity - whole (cabbage)") == "entity - whole"
    assert rules.l2_category("global - (morning, misty)") == "global -"
    assert rules.l1_category("global -") == "global"
    assert rules.l1_category("relation - non-spatial") == "relation"
    assert rules.l2_category("other - text (sign, \"A (b)\")") == "other - text"


FIRST_ROW = [q(0, 1, [0]), q(1, 2, [1]), q(2, 3, [0])]


def test_first_row_bug_drops_row_zero_and_fails_the_image_whose_child_needs_it():
    raw = raw_for(FIRST_ROW, same4(["yes", "yes", "no"]))
    bug = rules.decide(ITEM, raw, {})  # default = official
    assert bug["failed"] and bug["first_row_bug"] is True
    assert "ELLA #61" in bug["reason"] and "proposition 1" in bug["reason"]
    fixed = rules.decide(ITEM, raw, {"first_row_bug": False})
    assert not fixed["failed"] and fixed["first_row_bug"] is False
    assert fixed["score"] == pytest.approx(2 / 3)


def test_first_row_bug_without_dependents_scores_one_question_fewer():
    rows = [q(0, 1, [0]), q(1, 2, [0]), q(2, 3, [0])]
    raw = raw_for(rows, same4(["no", "yes", "yes"]))
    bug = rules.decide(ITEM, raw, {"first_row_bug": True})
    assert not bug["failed"] and bug["n_questions"] == 2 and bug["score"] == 1.0
    fixed = rules.decide(ITEM, raw, {"first_row_bug": "false"})
    assert fixed["n_questions"] == 3 and fixed["score"] == pytest.approx(2 / 3)


def test_missing_parent_fails_the_image_in_either_mode():
    rows = [q(4, 1, [0]), q(5, 2, [9])]
    for mode in (True, False):
        d = rules.decide(ITEM, raw_for(rows, same4(["yes", "yes"])), {"first_row_bug": mode})
        assert d["failed"] and "proposition 9" in d["reason"] and "ELLA #61" not in d["reason"]


def test_parent_already_zero_short_circuits_before_a_missing_parent():
    # official: `break` on the first zero parent, so the missing id 9 is never looked up
    rows = [q(4, 1, [0]), q(5, 2, [1, 9])]
    d = rules.decide(ITEM, raw_for(rows, same4(["no", "yes"])), {})
    assert not d["failed"] and d["score"] == 0.0
    d = rules.decide(ITEM, raw_for(rows, [["no", "yes"]] * 3 + [["yes", "yes"]]), {})
    assert d["failed"]


def test_repeated_proposition_id_behaves_like_a_dict():
    rows = [q(3, 1, [0]), q(4, 2, [1]), q(5, 1, [0], "global - (night)")]
    graph = rules.question_graph(rows, skip_first_row=True)
    assert [x["qid"] for x in graph] == [1, 2] and graph[0]["tuple"] == "global - (night)"


def test_scorer_error_is_a_failed_decision():
    d = rules.decide(ITEM, {"error": "missing image"}, {})
    assert d["failed"] and d["reason"] == "missing image" and d["score"] == 0.0


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="pic_num"):
        rules.decide(ITEM, raw_for(CHAIN, same4(["yes"] * 3)), {"pic_num": 5})
    with pytest.raises(ConfigError, match="first_row_bug"):
        rules.decide(ITEM, raw_for(CHAIN, same4(["yes"] * 3)), {"first_row_bug": "maybe"})


def _row(decision: dict) -> dict:
    return {"prompt_id": "x", "category": "dpg", "file_index": 0, "decision": decision, "metadata": {}}


def test_aggregate_overall_l1_question_weighted_and_failed_left_out():
    a = rules.decide(ITEM, raw_for(CHAIN, same4(["yes", "no", "no"])), {})
    b = rules.decide(ITEM, raw_for([q(9, 1, [0]), q(10, 2, [0], "entity - part (a)")], same4(["yes", "no"])), {})
    c = rules.decide(ITEM, raw_for(FIRST_ROW, same4(["yes"] * 3)), {})  # fails (first-row bug)
    out = rules.aggregate([_row(a), _row(b), _row(c)], {})
    assert out["overall"] == pytest.approx(100 * (1 / 3 + 1 / 2) / 2)
    assert out["n_images"] == 2 and out["n_failed"] == 1
    # entity: whole yes, whole yes, part no -> 2/3 (question-weighted), not mean(L2)=(100+0)/2
    assert out["entity"] == pytest.approx(200 / 3)
    assert out["L2 entity - whole"] == 100.0 and out["L2 entity - part"] == 0.0
    assert out["attribute"] == 0.0 and out["relation"] == 0.0
    assert "global" not in out


def test_aggregate_of_nothing_scored_has_no_overall():
    out = rules.aggregate([_row(rules.decide(ITEM, {"error": "x"}, {}))], {})
    assert "overall" not in out and out["n_failed"] == 1 and not any(math.isnan(v) for v in out.values())


def _ten_questions_tiles(yes_per_tile: list[int]) -> dict:
    questions = [q(20 + i, i + 1, [0]) for i in range(10)]
    return raw_for(questions, [["yes"] * k + ["no"] * (10 - k) for k in yes_per_tile])


def test_image_score_is_the_officials_left_to_right_mean_of_tiles():
    # tiles 0.0, 0.1, 0.2, 0.3: sum(...)/4 = 0.15000000000000002, fsum gives 0.15
    d = rules.decide(ITEM, _ten_questions_tiles([0, 1, 2, 3]), {})
    assert d["tile_scores"] == [0.0, 0.1, 0.2, 0.3]
    assert d["score"] == (((0.0 + 0.1) + 0.2) + 0.3) / 4 == 0.15000000000000002  # official sum(scores) / len(scores)
    assert d["score"] != math.fsum(d["tile_scores"]) / 4


def test_overall_and_categories_are_np_mean_times_100():
    # image scores 0, 0, 0.5: np.mean(x) * 100 = 16.666666666666664; 100 * fsum / n = 16.666666666666668
    rows = [_row(rules.decide(ITEM, _ten_questions_tiles([k] * 4), {})) for k in (0, 0, 5)]
    out = rules.aggregate(rows, {})
    assert out["overall"] == (0.0 + 0.0 + 0.5) / 3 * 100 == 16.666666666666664
    assert out["overall"] != 100.0 * math.fsum([0.0, 0.0, 0.5]) / 3
    # 30 entity-whole answers, 5 yes: np.mean(x) * 100 = (5 / 30) * 100, not 100 * 5 / 30
    assert out["entity"] == out["L2 entity - whole"] == (5 / 30) * 100 == 16.666666666666664
    assert 100 * 5 / 30 == 16.666666666666668
