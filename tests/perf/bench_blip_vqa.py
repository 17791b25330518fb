"""BLIP-VQA speed: all phrases of many images batched vs one phrase at a time (how upstream loops).

    .venv/bin/python tests/perf/bench_blip_vqa.py [--images 24] [--model tiny|Salesforce/blip-vqa-capfilt-large]

Upstream asks phrase slot 1 of every image, then slot 2, ... (8 passes, the vision tower rerun
each pass). "one at a time" here is the stricter baseline of one (image, phrase) forward each;
"batched" is BlipVqaScorer.score() on the whole set (vision once per image, equal-length phrase
chunks). Prints seconds, the speed-up ratio and the largest probability difference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from standins.compbench_helpers import context, write_images  # noqa: E402

from t2ir1_eval.scorers.compbench.blip_vqa import BlipVqaScorer  # noqa: E402
from t2ir1_eval.scorers.compbench.common import load_rgb  # noqa: E402

PROMPTS = ["a green bench and a blue bowl", "a red car on the left of a big brown dog",
           "a wooden table and a metallic chair and a leather sofa", "a cat"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    data_dir = REPO.parent / "shared" / "benchmarks"
    with tempfile.TemporaryDirectory() as tmp:
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.images)]
        samples = write_images(Path(tmp), "color", prompts, size=(384, 384))
        scorer = BlipVqaScorer(context(data_dir, Path(tmp)), model_id=args.model, device=args.device)
        scorer.score(samples[:1])  # load + warm up
        t = time.perf_counter()
        batched = scorer.score(samples)
        t_batched = time.perf_counter() - t
        t = time.perf_counter()
        single = []
        for s in samples:
            _, _, questions = scorer.questions_for(s)
            img = load_rgb(s.path)
            single.append([scorer._probabilities([img], [(0, 0, q)])[0][2] for q in questions])
        t_single = time.perf_counter() - t
    n_q = sum(len(r["p"]) for r in batched)
    diff = max(abs(a - b) for r, ps in zip(batched, single) for a, b in zip(r["p"], ps))
    print(f"model={args.model} images={args.images} phrases={n_q}")
    print(f"one at a time: {t_single:.2f} s   batched: {t_batched:.2f} s   ratio: {t_single / t_batched:.1f}x")
    print(f"max |p_batched - p_single| = {diff:.2e}")


if __name__ == "__main__":
    main()
