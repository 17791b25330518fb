"""Benchmark: bootstrap intervals, the fast form (one matrix product) vs calling the suite's
``aggregate`` on every resample (the exact loop), on full-size synthetic decisions.

Both compute the same numbers (checked here: equal resample by resample); the ratio is of the
time per resample, measured in the same run after a warm-up, interleaved, median and spread of
``--repeats`` rounds. The exact loop runs ``--exact-resamples`` resamples (it is slow); the fast
form runs ``--resamples`` (the default 1000).

    .venv/bin/python tests/perf/bench_bootstrap.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

import numpy as np  # noqa: E402

from t2ir1_eval.rules.bootstrap import _groups, resample_counts, resampled_scores  # noqa: E402
from t2ir1_eval.suites.spec import load_suite  # noqa: E402


class _ExactOnly:
    """The suite without a fast form: every column goes through its real ``aggregate``."""

    def __init__(self, suite):
        self.name, self._suite = "exact-only", suite

    def aggregate(self, rows, options):
        return self._suite.aggregate(rows, options)

    def display_scores(self, scores):
        return self._suite.display_scores(scores)


def rows_for(name: str, rng: np.random.Generator) -> list[dict]:
    if name == "geneval":  # 553 prompts x 4 images over the 6 tags
        tags = ["single_object", "two_object", "counting", "colors", "position", "color_attr"]
        return [{"prompt_id": f"{i:05d}", "category": tags[i % 6], "file_index": f,
                 "decision": {"correct": bool(rng.random() < 0.6)}, "metadata": {"prompt": f"p{i}", "tag": tags[i % 6]}}
                for i in range(553) for f in range(4)]
    if name == "wise":  # 1000 prompts, one image
        cats = ["culture", "time", "space", "biology", "physics", "chemistry"]
        return [{"prompt_id": str(i + 1), "category": cats[i % 6], "file_index": 0,
                 "decision": {"score": float(rng.integers(0, 11)) / 10, "failed": bool(rng.random() < 0.02)}}
                for i in range(1000)]
    l2 = ["entity - whole", "attribute - color", "relation - spatial", "global - ", "other - count"]
    return [{"prompt_id": str(i), "category": "dpg", "file_index": 0,
             "decision": {"score": float(rng.random()), "failed": False,
                          "category_values": [[l2[k % 5], float(rng.random() < 0.7)] for k in range(8)]}}
            for i in range(1065)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--exact-resamples", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {}
    for name in ("geneval", "wise", "dpg-bench"):
        suite = load_suite(name)
        rows = rows_for(name, rng)
        options = suite.resolve_options({})
        scores, _ = suite.aggregate(rows, options)
        _, _, strata, _ = _groups(rows)
        exact_suite = _ExactOnly(suite)
        small = resample_counts(strata, args.exact_resamples, seed=0)
        # same numbers first: the fast form must equal the exact loop on the same resamples
        fast_small, how = resampled_scores(suite, rows, options, small, scores)
        exact_small, _ = resampled_scores(exact_suite, rows, options, small, scores)
        assert set(how.values()) == {"fast"}, how
        for col in scores:
            np.testing.assert_allclose(fast_small[col], exact_small[col], atol=1e-9, err_msg=f"{name} {col}")
        big = resample_counts(strata, args.resamples, seed=0)
        fast_t, exact_t = [], []
        for r in range(args.repeats + 1):  # round 0 is the warm-up
            t0 = time.perf_counter()
            resampled_scores(suite, rows, options, big, scores)
            t1 = time.perf_counter()
            resampled_scores(exact_suite, rows, options, small, scores)
            t2 = time.perf_counter()
            if r:
                fast_t.append((t1 - t0) / args.resamples)
                exact_t.append((t2 - t1) / args.exact_resamples)
        ratios = [e / f for e, f in zip(exact_t, fast_t)]
        out[name] = {"rows": len(rows), "fast_ms_per_1000_resamples": round(1e6 * statistics.median(fast_t), 1),
                     "speedup_median": round(statistics.median(ratios), 1),
                     "speedup_min_max": [round(min(ratios), 1), round(max(ratios), 1)]}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
