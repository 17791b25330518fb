"""The in-process transformers judge: a tiny random LLaVA through the same parse/retry/failure path."""

from __future__ import annotations

import pytest

from test_wise_judge import make_context, make_samples
from t2ir1_eval.errors import ConfigError
from t2ir1_eval.rules import wise
from t2ir1_eval.scorers.wise.scorer import WiseJudgeScorer


def test_tiny_judge_gibberish_is_counted_as_failures(tmp_path):
    samples = make_samples(tmp_path, n=1)
    sc = WiseJudgeScorer(make_context(tmp_path), backend="transformers", model_id="tiny")
    raws = sc.score(samples)
    desc = sc.describe()
    assert desc["comparable"] is False and desc["judge"]["class"] == "LlavaForConditionalGeneration"
    assert desc["metric"] == "WiScore[judge=tiny-random-llava]"
    for raw in raws:
        assert raw["judge"]["tiny"] and raw["judge"]["backend"] == "transformers"
        assert isinstance(raw["reply"], str)
        assert [a["outcome"] for a in raw["attempts"]] == ["unparseable"] * 3
        assert raw["parse_failed"]
        # greedy decoding at temperature 0: every attempt gives the same reply
        assert len({a["text"] for a in raw["attempts"]}) == 1 and raw["reply"].startswith(raw["attempts"][0]["text"])
    decisions = [wise.decide(s.item, r, {"protocol": "legacy"}) for s, r in zip(samples, raws)]
    assert all(d["failed"] and d["score"] == 0.0 for d in decisions)
    assert decisions[0]["metric"] == "WiScore[judge=tiny-random-llava]"
    sc.close()
    assert not list((tmp_path / "cache").rglob("*.json"))  # failures are not cached


def test_tiny_judge_verified_protocol_passes_chat_template_kwargs(tmp_path):
    samples = make_samples(tmp_path, "verified", n=1)
    sc = WiseJudgeScorer(make_context(tmp_path, "verified"), backend="transformers", model_id="tiny", max_retries=1)
    raw = sc.score(samples)[0]
    sc.close()
    assert len(raw["attempts"]) == 1 and raw["attempts"][0]["outcome"] in ("unparseable", "ok")
    d = wise.decide(samples[0].item, raw, {"protocol": "verified"})
    assert d["metric"] == "WISE-Verified[judge=tiny-random-llava]" and d["score"] in (0.0, 1.0)


def test_legacy_in_process_needs_a_named_judge(tmp_path):
    with pytest.raises(ConfigError, match="GPT-4o has no weights"):
        WiseJudgeScorer(make_context(tmp_path), backend="transformers")
