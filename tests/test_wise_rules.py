"""WISE rules: the official parsers' quirks, WiScore, categories, aggregation, judge labels."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from t2ir1_eval.errors import DataError
from t2ir1_eval.rules import wise
from t2ir1_eval.types import PromptItem

WISE_DIR = Path(os.environ.get("T2IR1_EVAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "benchmarks") / "wise"
LEGACY_FILES = ["legacy/cultural_common_sense.json", "legacy/spatio-temporal_reasoning.json", "legacy/natural_science.json"]
VERIFIED_FILES = ["verified/cultural_common_sense_verified.json", "verified/spatio-temporal_reasoning_verified.json",
                  "verified/natural_science_verified.json"]
PINNED = {"backend": "openai", "model": "gpt-4o-2024-05-13", "model_returned": "gpt-4o-2024-05-13"}


def rows(files: list[str]) -> list[dict]:
    return [r for f in files for r in json.loads((WISE_DIR / f).read_text(encoding="utf-8"))]


def legacy(text: str, parser: str = "official") -> dict:
    return wise.parse_legacy(text, parser)


# -- legacy parser, official mode -----------------------------------------------------------

def test_official_parser_reads_the_requested_format_and_bold():
    assert legacy("Consistency: 2\nRealism: 1\nAesthetic Quality: 0")["scores"] == {
        "consistency": 2.0, "realism": 1.0, "aesthetic_quality": 0.0}
    assert legacy("**Consistency**: 1\n**Realism**: 1\n**aesthetic quality** 2")["scores"] == {
        "consistency": 1.0, "realism": 1.0, "aesthetic_quality": 2.0}
    # quirk: bold closing after the colon ("**Realism:** 1") is not matched by the official regex
    assert legacy("**Consistency:** 1\n**Realism:** 1\n**Aesthetic Quality:** 2")["scores"] == {}


def test_official_parser_quirks_are_reproduced():
    # full-width colon: the current code accepts only ':' -> no key matches
    assert not legacy("Consistency：2\nRealism：1\nAesthetic Quality：0")["ok"]
    # \d is any Unicode digit and float() converts it
    assert legacy("Consistency: ２\nRealism: ٢\nAesthetic Quality: 0")["scores"]["consistency"] == 2.0
    assert legacy("Consistency: ２\nRealism: ٢\nAesthetic Quality: 0")["scores"]["realism"] == 2.0
    # one digit captured: 10 reads 1; 5 reads 5 and the WiScore leaves [0, 1]
    assert legacy("Consistency: 10\nRealism: 1\nAesthetic Quality: 1")["scores"]["consistency"] == 1.0
    five = legacy("Consistency: 2\nRealism: 5\nAesthetic Quality: 2")
    assert five["ok"] and five["out_of_range"] and five["scores"]["realism"] == 5.0
    assert wise.wiscore(**five["scores"]) > 1
    # the rubric's own "(0-2)" label defeats the regex
    assert not legacy("Consistency (0-2): 2\nRealism (0-2): 1\nAesthetic Quality (0-2): 1")["ok"]
    # repeated keys: the last one wins
    assert legacy("Consistency: 0\nRealism: 1\nAesthetic Quality: 1\nConsistency: 2")["scores"]["consistency"] == 2.0


def test_official_bare_line_fallback_only_when_no_key_matched():
    assert legacy("2\n1\n0")["scores"] == {"consistency": 2.0, "realism": 1.0, "aesthetic_quality": 0.0}
    assert legacy("2\n1\n0")["route"] == "bare_lines"
    assert legacy(" 1 \n\n0\n2\n1")["scores"] == {"consistency": 1.0, "realism": 0.0, "aesthetic_quality": 2.0}
    assert not legacy("2\n1")["ok"]
    partial = legacy("Consistency: 2\n1\n0\n1")  # a key matched: no fallback, two keys missing
    assert not partial["ok"] and "realism" in partial["problem"]


def test_missing_keys_fail():
    assert not legacy("The image is great.")["ok"]
    assert not legacy("")["ok"]


# -- legacy parser, strict (corrected) mode -------------------------------------------------

def test_strict_parser_corrects_the_quirks():
    ok = legacy("Consistency：2\nRealism：1\nAesthetic Quality：0", "strict")
    assert ok["ok"] and ok["scores"]["consistency"] == 2.0
    assert legacy("Consistency (0-2): 2\nRealism (0-2): 1\nAesthetic Quality (0-2): 1", "strict")["ok"]
    assert legacy("**Consistency:** **2**\n**Realism:** 1\n**Aesthetic Quality:** 0", "strict")["scores"]["consistency"] == 2.0
    assert not legacy("Consistency: 10\nRealism: 1\nAesthetic Quality: 1", "strict")["ok"]
    bad = legacy("Consistency: 2\nRealism: 5\nAesthetic Quality: 2", "strict")
    assert not bad["ok"] and "out of range" in bad["problem"]
    assert not legacy("Consistency: 1.5\nRealism: 1\nAesthetic Quality: 1", "strict")["ok"]


# -- verified parser ------------------------------------------------------------------------

def test_verified_parser_follows_vllm_eval():
    assert wise.parse_verified("Score: 1")["scores"] == {"score": 1.0}
    assert wise.parse_verified("**Score**: 0")["scores"] == {"score": 0.0}
    assert wise.parse_verified("<think>Score: 0 maybe</think>\nScore: 1")["scores"] == {"score": 1.0}
    assert wise.parse_verified("</think>\n1")["scores"] == {"score": 1.0}  # stray closing tag, bare line
    assert wise.parse_verified("Score: 1\nScore: 0")["scores"] == {"score": 1.0}  # first match (re.search)
    assert not wise.parse_verified("Score: 10")["ok"]  # \b after one digit
    assert not wise.parse_verified("1\n0")["ok"]  # bare fallback needs exactly one line
    assert not wise.parse_verified("Score：1")["ok"]  # ASCII colon only
    assert wise.parse_verified("Score：1", "strict")["scores"] == {"score": 1.0}
    assert not wise.parse_verified("Score: 2", "strict")["ok"]
    # quirk: bold closing after the colon is missed by the official regex, read by strict
    assert not wise.parse_verified("**Score:** 1")["ok"]
    assert wise.parse_verified("**Score:** 1", "strict")["scores"] == {"score": 1.0}


def test_wiscore_formula():
    assert wise.wiscore(2, 2, 2) == pytest.approx(1.0)
    assert wise.wiscore(2, 1, 0) == pytest.approx((1.4 + 0.2) / 2)
    assert wise.wiscore(0, 0, 0) == 0.0


# -- categories -----------------------------------------------------------------------------

@pytest.mark.parametrize("protocol,files,sizes", [
    ("legacy", LEGACY_FILES, {"culture": 400, "time": 167, "space": 133, "biology": 100, "physics": 100, "chemistry": 100}),
    ("verified", VERIFIED_FILES, {"culture": 400, "time": 120, "space": 120, "biology": 120, "physics": 120, "chemistry": 120}),
])
def test_category_of_agrees_with_every_data_row(protocol, files, sizes):
    data = rows(files)
    assert sorted(int(r["prompt_id"]) for r in data) == list(range(1, 1001))
    counts: dict[str, int] = {}
    for r in data:
        cat = wise.category_of(r, protocol)
        counts[cat] = counts.get(cat, 0) + 1
    assert counts == sizes
    # official weights are exactly n/1000
    assert all(wise.OFFICIAL_WEIGHTS[protocol][c] == pytest.approx(n / 1000) for c, n in sizes.items())


def test_category_of_refuses_rows_of_the_other_protocol():
    verified_row = next(r for r in rows(VERIFIED_FILES) if r["prompt_id"] == 530)  # Space in Verified, time in legacy
    with pytest.raises(DataError, match="does not belong to the legacy protocol"):
        wise.category_of(verified_row, "legacy")
    with pytest.raises(DataError, match="expected prompt_id in 1..1000"):
        wise.category_of({"prompt_id": 1001}, "legacy")


# -- decide / aggregate ---------------------------------------------------------------------

def _item(pid: int, cat: str = "culture") -> PromptItem:
    return PromptItem(str(pid), "p", cat, {"prompt_id": pid})


def test_decide_scores_and_labels():
    raw = {"protocol": "legacy", "judge": PINNED, "reply": "Consistency: 2\nRealism: 1\nAesthetic Quality: 0", "attempts": [{}]}
    d = wise.decide(_item(1), raw, {"protocol": "legacy"})
    assert d["score"] == pytest.approx(0.8) and not d["failed"]
    assert d["metric"] == "WiScore" and d["pinned_judge"] and d["judge"] == "gpt-4o-2024-05-13"
    alias = dict(PINNED, model="gpt-4o", model_returned="gpt-4o-2024-08-06")
    d2 = wise.decide(_item(1), dict(raw, judge=alias), {"protocol": "legacy"})
    assert d2["metric"] == "WiScore[judge=gpt-4o-2024-08-06]" and not d2["pinned_judge"]
    open_judge = {"backend": "openai", "model": "Qwen/Qwen2.5-VL-72B-Instruct"}
    assert wise.decide(_item(1), dict(raw, judge=open_judge), {"protocol": "legacy"})["metric"] == \
        "WiScore[judge=Qwen/Qwen2.5-VL-72B-Instruct]"
    qwen35 = {"backend": "openai", "model": "Qwen/Qwen3.5-35B-A3B", "model_returned": "Qwen/Qwen3.5-35B-A3B"}
    v = wise.decide(_item(1), {"protocol": "verified", "judge": qwen35, "reply": "Score: 1"}, {"protocol": "verified"})
    assert v["score"] == 1.0 and v["metric"] == "WISE-Verified"
    tiny = {"backend": "transformers", "model": "tiny-random-llava", "tiny": True}
    assert wise.decide(_item(1), dict(raw, judge=tiny), {"protocol": "legacy"})["metric"] == "WiScore[judge=tiny-random-llava]"


def test_decide_failures_score_zero_and_parser_option_rescores():
    fullwidth = {"protocol": "legacy", "judge": PINNED, "reply": "Consistency：2\nRealism：2\nAesthetic Quality：2", "parse_failed": True}
    d = wise.decide(_item(7), fullwidth, {"protocol": "legacy"})
    assert d["failed"] and d["score"] == 0.0 and "no score" in d["reason"]
    assert wise.decide(_item(7), fullwidth, {"protocol": "legacy", "parser": "strict"})["score"] == pytest.approx(1.0)
    err = wise.decide(_item(8), {"error": "no reply after 3 attempt(s)", "reply": None, "judge": PINNED}, {"protocol": "legacy"})
    assert err["failed"] and err["score"] == 0.0
    with pytest.raises(DataError, match="judged under protocol"):
        wise.decide(_item(8), {"protocol": "verified", "reply": "Score: 1"}, {"protocol": "legacy"})


def _rows_for(protocol: str, score_of) -> list[dict]:
    out = []
    for r in rows(LEGACY_FILES if protocol == "legacy" else VERIFIED_FILES):
        pid = int(r["prompt_id"])
        reply = score_of(pid)
        raw = {"protocol": protocol, "judge": PINNED if protocol == "legacy" else
               {"model": "Qwen/Qwen3.5-35B-A3B"}, "reply": reply, **({} if reply else {"error": "x"})}
        item = PromptItem(str(pid), r["Prompt"], wise.category_of(r, protocol), r)
        out.append({"prompt_id": str(pid), "category": item.category, "file_index": 0, "metadata": r,
                    "decision": wise.decide(item, raw, {"protocol": protocol})})
    return out


def test_aggregate_full_legacy_run_matches_official_weights():
    def reply(pid: int) -> str:
        if pid <= 400:  # a strong Culture makes the naive mean of means visibly wrong
            return "Consistency: 2\nRealism: 2\nAesthetic Quality: 2"
        return f"Consistency: {pid % 3}\nRealism: {(pid // 3) % 3}\nAesthetic Quality: {(pid // 9) % 3}"
    data = _rows_for("legacy", reply)
    agg = wise.aggregate(data, {"protocol": "legacy"})
    plain = sum(r["decision"]["score"] for r in data) / 1000
    assert agg["overall"] == pytest.approx(plain)
    assert agg["overall_official_weights"] == pytest.approx(plain)  # weights = n/1000
    time_mean = sum(r["decision"]["score"] for r in data if 401 <= int(r["prompt_id"]) <= 567) / 167
    assert agg["time"] == pytest.approx(time_mean)
    assert agg["n_time"] == 167 and agg["n_failed"] == 0 and agg["complete"] == 1.0
    assert agg["metric"] == "WiScore"
    # the Bagel bug: a plain mean of the six category means is NOT the official Overall
    naive = sum(agg[c] for c in wise.CATEGORIES) / 6
    assert abs(naive - agg["overall"]) > 1e-3


def test_aggregate_failure_policies():
    failing = {5, 450, 999}
    data = _rows_for("verified", lambda pid: None if pid in failing else "Score: 1")
    zero = wise.aggregate(data, {"protocol": "verified"})
    assert zero["n_failed"] == 3 and zero["overall"] == pytest.approx(997 / 1000)
    assert zero["culture"] == pytest.approx(399 / 400)
    assert wise.failed_ids(data) == ["5", "450", "999"]
    skip = wise.aggregate(data, {"protocol": "verified", "failure_policy": "skip"})
    assert skip["culture"] == 1.0 and "overall" not in skip and skip["overall_refused_missing_ids"] == 3
    assert skip["metric"] == "WISE-Verified"


def test_aggregate_labels_mixed_judges():
    data = _rows_for("legacy", lambda pid: "Consistency: 1\nRealism: 1\nAesthetic Quality: 1")[:10]
    other = {"backend": "openai", "model": "gpt-4o"}
    data[0]["decision"] = wise.decide(_item(1), {"judge": other, "reply": "Consistency: 1\nRealism: 1\nAesthetic Quality: 1"},
                                      {"protocol": "legacy"})
    agg = wise.aggregate(data, {"protocol": "legacy"})
    assert agg["metric"].startswith("WiScore[judge=mixed:") and agg["complete"] == 0.0


def _official_calculate(scores_by_id: dict[int, float], protocol: str) -> tuple[dict[str, float], float]:
    """Calculate.py's arithmetic, transcribed: per category sum(list) / len(list) in file (id) order,
    then the fixed-weight Overall written left to right."""
    per: dict[str, list[float]] = {c: [] for c in wise.CATEGORIES}
    for pid in sorted(scores_by_id):
        for c, (lo, hi) in wise.ID_RANGES[protocol].items():
            if lo <= pid <= hi:
                per[c].append(scores_by_id[pid])
    avg = {}
    for c, v in per.items():
        total = 0
        for x in v:
            total += x
        avg[c] = total / len(v)
    if protocol == "legacy":
        overall = (0.4 * avg["culture"] + 0.167 * avg["time"] + 0.133 * avg["space"] +
                   0.1 * avg["biology"] + 0.1 * avg["physics"] + 0.1 * avg["chemistry"])
    else:
        overall = (0.4 * avg["culture"] + 0.12 * avg["time"] + 0.12 * avg["space"] +
                   0.12 * avg["biology"] + 0.12 * avg["physics"] + 0.12 * avg["chemistry"])
    return avg, overall


@pytest.mark.parametrize("protocol", ["legacy", "verified"])
def test_full_run_equals_the_official_calculator_bit_for_bit(protocol):
    def reply(pid: int) -> str:
        if protocol == "verified":
            return f"Score: {1 if pid % 7 in (0, 3, 5) else 0}"
        return f"Consistency: {pid % 3}\nRealism: {(pid // 3) % 3}\nAesthetic Quality: {(pid // 7) % 3}"
    data = _rows_for(protocol, reply)
    agg = wise.aggregate(list(reversed(data)), {"protocol": protocol})  # row order must not matter
    avg, overall = _official_calculate({int(r["prompt_id"]): r["decision"]["score"] for r in data}, protocol)
    assert {c: agg[c] for c in wise.CATEGORIES} == avg  # exact, not approx
    assert agg["overall"] == agg["overall_official_weights"] == overall
    assert f"{agg['overall']:.2f}" == f"{overall:.2f}"  # the printed "Overall WiScore: x.xx"
    # the count-weighted mean (our number before) parts from the official expression in the last bits
    if protocol == "legacy":
        count_weighted = math.fsum(r["decision"]["score"] for r in data) / 1000
        assert count_weighted != overall


def test_category_mean_is_left_to_right_not_fsum():
    # three Culture scores 0.1, 0.2, 0.3 (WiScores 0.2/2 etc. are not needed: feed decisions directly)
    rows_ = [{"prompt_id": str(i + 1), "category": "culture", "decision": {"score": s, "failed": False}}
             for i, s in enumerate([0.1, 0.2, 0.3])]
    agg = wise.aggregate(rows_, {"protocol": "legacy"})
    assert agg["culture"] == (0.1 + 0.2 + 0.3) / 3 == 0.20000000000000004 != math.fsum([0.1, 0.2, 0.3]) / 3
    assert agg["overall"] == agg["culture"]  # partial run: count-weighted mean, no fixed weights
