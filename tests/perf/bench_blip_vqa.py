"""BLIP-VQA speed: mixed-length question batches vs one question at a time, same answers.

    .venv/bin/python tests/perf/bench_blip_vqa.py [--images 24] [--repeats 5] [--model tiny|original|PATH]

Three ways over the same images and phrases, each timed ``--repeats`` times in rotating order
(interleaved, after one warm-up of each), reported as median and min-max:

* ``batched``   - ``BlipVqaScorer.score()``: vision once per image, all questions of the set in
  padded chunks of ``question_batch`` (the question mask routed into the decoder's cross-attention);
* ``per-question text`` - the same with ``question_batch=1``: vision still once per image, each
  question through the text encoder and decoder alone (isolates what mixed-length batching buys);
* ``one at a time`` - one (image, question) forward each, vision rerun every time (how upstream loops).

Speed-ups are ratios against the batched median of the same run. Exit status 1 if any P(yes)
differs by more than 1e-6 or any '{:.4f}' string differs between batched and one at a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from standins.compbench_helpers import context, write_images  # noqa: E402

from t2ir1_eval.scorers.compbench.blip_vqa import BlipVqaScorer  # noqa: E402
from t2ir1_eval.scorers.compbench.common import load_rgb  # noqa: E402

PROMPTS = ["a green bench and a blue bowl", "a red car on the left of a big brown dog",
           "a wooden table and a metallic chair and a leather sofa", "a cat"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    data_dir = REPO.parent / "shared" / "benchmarks"
    with tempfile.TemporaryDirectory() as tmp:
        prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.images)]
        samples = write_images(Path(tmp), "color", prompts, size=(384, 384))
        scorer = BlipVqaScorer(context(data_dir, Path(tmp)), model_id=args.model, device=args.device)
        scorer.score(samples[:1])  # load
        qb = scorer.question_batch

        def batched() -> list[list[tuple[float, float]]]:
            return [list(zip(r["p_yes"], r["p"])) for r in scorer.score(samples)]

        def per_question_text() -> list[list[tuple[float, float]]]:
            scorer.question_batch = 1
            try:
                return [list(zip(r["p_yes"], r["p"])) for r in scorer.score(samples)]
            finally:
                scorer.question_batch = qb

        def one_at_a_time() -> list[list[tuple[float, float]]]:
            out = []
            for s in samples:
                _, _, questions = scorer.questions_for(s)
                img = load_rgb(s.path)
                out.append([scorer._probabilities([img], [(0, 0, q)])[0][::2] for q in questions])
            return out

        ways: dict[str, Callable[[], Any]] = {"batched": batched, "per-question text": per_question_text,
                                              "one at a time": one_at_a_time}
        results = {name: fn() for name, fn in ways.items()}  # warm-up, and the answers compared below
        times: dict[str, list[float]] = {name: [] for name in ways}
        names = list(ways)
        for rep in range(args.repeats):
            for name in names[rep % len(names):] + names[:rep % len(names)]:  # rotate the order each repeat
                t = time.perf_counter()
                ways[name]()
                times[name].append(time.perf_counter() - t)
    n_q = sum(len(r) for r in results["batched"])
    base = statistics.median(times["batched"])
    print(f"model={args.model} device={args.device} images={args.images} questions={n_q} repeats={args.repeats} "
          f"question_batch={qb}")
    print("| way | median s | min-max s | time / batched |")
    print("|---|---|---|---|")
    for name in names:
        med = statistics.median(times[name])
        print(f"| {name} | {med:.3f} | {min(times[name]):.3f}-{max(times[name]):.3f} | {med / base:.2f}x |")
    ok = True
    for name in names[1:]:
        pairs = [(a, b) for ra, rb in zip(results["batched"], results[name]) for a, b in zip(ra, rb)]
        d_yes = max(abs(a[0] - b[0]) for a, b in pairs)
        d_p = max(abs(a[1] - b[1]) for a, b in pairs)
        strings = sum("{:.4f}".format(a[1]) != "{:.4f}".format(b[1]) for a, b in pairs)
        print(f"batched vs {name}: max |dP(yes)| = {d_yes:.1e}, max |dp| = {d_p:.1e}, '{{:.4f}}' strings differing: "
              f"{strings}/{len(pairs)}")
        ok = ok and d_yes <= 1e-6 and d_p <= 1e-6 and strings == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
