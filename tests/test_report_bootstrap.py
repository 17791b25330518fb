"""Bootstrap intervals over prompts: closed forms, the fast form against the exact loop, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from t2ir1_eval.rules.bootstrap import bootstrap_summary, paired_difference, resample_counts, resampled_scores
from t2ir1_eval.suites.spec import load_suite


def _geneval_rows(correct: list[list[bool]], tags: list[str]) -> list[dict]:
    """One row per image: prompt i has images correct[i], in category tags[i]."""
    return [{"prompt_id": f"{i:05d}", "category": tags[i], "file_index": f,
             "decision": {"correct": ok, "score": float(ok)}, "metadata": {"prompt": f"p{i}", "tag": tags[i]}}
            for i, images in enumerate(correct) for f, ok in enumerate(images)]


def _scores(suite, rows, options=None):
    return suite.aggregate(rows, options or suite.resolve_options({}))[0]


def test_bernoulli_mean_matches_closed_form_standard_error():
    # one image per prompt, one category: the bootstrap sd of a mean of n Bernoulli(p) draws
    # is sqrt(p_hat (1 - p_hat) / n) (the plug-in standard error), and the interval ~ +-1.96 of it
    rng = np.random.default_rng(7)
    n = 400
    hits = rng.random(n) < 0.3
    suite = load_suite("geneval")
    rows = _geneval_rows([[bool(h)] for h in hits], ["single_object"] * n)
    scores = _scores(suite, rows)
    info = bootstrap_summary(suite, rows, suite.resolve_options({}), scores, seed=1, n_resamples=4000)
    p = hits.mean()
    closed = math.sqrt(p * (1 - p) / n)
    ci = info["intervals"]["Single Object"]
    assert ci["computed"] == "fast"
    assert ci["se"] == pytest.approx(closed, rel=0.06)
    assert ci["lo"] == pytest.approx(p - 1.96 * closed, abs=0.01)
    assert ci["hi"] == pytest.approx(p + 1.96 * closed, abs=0.01)
    assert ci["lo"] < scores["Single Object"] < ci["hi"]


def test_cluster_bootstrap_resamples_prompts_not_images():
    # 4 images per prompt that always agree: the prompt is the unit, so the sd is that of n
    # prompts (sqrt(p(1-p)/n_prompts)), twice what treating 4n images as independent would give
    n = 200
    hits = (np.arange(n) % 2) == 0
    suite = load_suite("geneval")
    rows = _geneval_rows([[bool(h)] * 4 for h in hits], ["single_object"] * n)
    info = bootstrap_summary(suite, rows, suite.resolve_options({}), _scores(suite, rows), seed=3, n_resamples=4000)
    assert info["intervals"]["Single Object"]["se"] == pytest.approx(math.sqrt(0.25 / n), rel=0.06)


def test_fast_form_equals_exact_loop_for_every_suite_shape():
    suite = load_suite("geneval")
    tags = ["single_object", "two_object", "counting", "colors", "position", "color_attr"]
    rng = np.random.default_rng(0)
    correct = [[bool(x) for x in rng.random(4) < 0.5] for _ in range(18)]
    rows = _geneval_rows(correct, [tags[i % 6] for i in range(18)])
    options = suite.resolve_options({})
    scores = _scores(suite, rows)
    counts = resample_counts([tags.index(tags[i % 6]) for i in range(18)], 50, seed=5)
    fast, how = resampled_scores(suite, rows, options, counts, scores)
    assert set(how.values()) == {"fast"}
    exact, how2 = resampled_scores(type("NoFast", (), {"name": "x", "aggregate": suite.aggregate,
                                                       "display_scores": suite.display_scores})(),
                                   rows, options, counts, scores)
    assert set(how2.values()) == {"exact"}
    for col in scores:
        np.testing.assert_allclose(fast[col], exact[col], rtol=0, atol=1e-12, err_msg=col)


def test_wise_and_dpg_fast_forms_reproduce_the_official_aggregate():
    wise = load_suite("wise")
    cats = ["culture", "time", "space", "biology", "physics", "chemistry"]
    rows = [{"prompt_id": str(i + 1), "category": cats[i % 6], "file_index": 0,
             "decision": {"score": (i * 7 % 10) / 10, "failed": i % 5 == 0}} for i in range(30)]
    for policy in ("zero", "skip"):
        opts = wise.resolve_options({"failure_policy": policy})
        scores = _scores(wise, rows, opts)
        info = bootstrap_summary(wise, rows, opts, scores, n_resamples=20)
        assert {v["computed"] for v in info["intervals"].values()} == {"fast"}, policy
    dpg = load_suite("dpg-bench")
    rows = [{"prompt_id": str(i), "category": "dpg", "file_index": 0,
             "decision": {"score": 0.25 * (i % 5), "failed": i == 3,
                          "category_values": [["entity - whole", float(i % 2)], ["attribute - color", float(i % 3 == 0)]]}}
            for i in range(12)]
    scores = _scores(dpg, rows)
    info = bootstrap_summary(dpg, rows, dpg.resolve_options({}), scores, n_resamples=20)
    assert {v["computed"] for v in info["intervals"].values()} == {"fast"}
    assert set(info["intervals"]) == set(scores)


def test_seeded_and_recorded():
    suite = load_suite("geneval")
    rows = _geneval_rows([[True, False], [False, False], [True, True]], ["colors"] * 3)
    scores = _scores(suite, rows)
    a = bootstrap_summary(suite, rows, suite.resolve_options({}), scores, seed=11, n_resamples=200)
    b = bootstrap_summary(suite, rows, suite.resolve_options({}), scores, seed=11, n_resamples=200)
    c = bootstrap_summary(suite, rows, suite.resolve_options({}), scores, seed=12, n_resamples=200)
    assert a == b
    assert a["intervals"] != c["intervals"]
    assert (a["seed"], a["n_resamples"], a["level"]) == (11, 200, 0.95) and "prompts" in a["method"]


def test_stratified_counts_keep_each_category_size():
    strata = [0, 0, 0, 1, 1, 2]
    counts = resample_counts(strata, 100, seed=0)
    assert (counts[:, :3].sum(axis=1) == 3).all() and (counts[:, 3:5].sum(axis=1) == 2).all()
    assert (counts[:, 5] == 1).all()


def test_paired_difference_of_a_run_with_itself_is_exactly_zero_and_detects_a_shift():
    suite = load_suite("geneval")
    n = 120
    rng = np.random.default_rng(2)
    base = rng.random(n) < 0.5
    rows_a = _geneval_rows([[bool(h)] for h in base], ["colors"] * n)
    same = paired_difference(suite, rows_a, rows_a, suite.resolve_options({}), _scores(suite, rows_a),
                             _scores(suite, rows_a), n_resamples=200)
    assert same["columns"]["Colors"]["lo"] == same["columns"]["Colors"]["hi"] == 0.0
    better = base | (rng.random(n) < 0.3)  # B passes everything A passes, and more
    rows_b = _geneval_rows([[bool(h)] for h in better], ["colors"] * n)
    d = paired_difference(suite, rows_a, rows_b, suite.resolve_options({}), _scores(suite, rows_a),
                          _scores(suite, rows_b), n_resamples=500)["columns"]["Colors"]
    assert d["diff"] == pytest.approx(better.mean() - base.mean())
    assert 0 < d["lo"] <= d["diff"] <= d["hi"]
    # paired: tighter than the unpaired interval of the same difference
    unpaired_se = math.sqrt(base.mean() * (1 - base.mean()) / n + better.mean() * (1 - better.mean()) / n)
    assert d["se"] < unpaired_se
