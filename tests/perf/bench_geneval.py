"""Benchmark: GenEval scoring throughput, batched vs one image at a time, same scorer, same images.

Both passes score the same images (colour prompts, so CLIP runs too) with the same loaded
models; the batched pass hands ``score`` ``--batch-size`` images at once (detector batches of
images that share a padded size, one CLIP batch of all crops), the baseline calls ``score``
with one image each time. A warm-up pass over all images runs first, so neither side pays for lazy init (kernel
selection, the per-class CLIP text weights). With random weights (``--model-id random``) the
number of colour crops depends on the random masks, so compare both sides of one run only.

    .venv/bin/python tests/perf/bench_geneval.py                      # tiny models, CPU (smoke)
    python tests/perf/bench_geneval.py --model-id /path/to/converted --clip-model-id openai/clip-vit-large-patch14 \\
        --device cuda --size 512 --n-images 64 --batch-size 16         # the real thing on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from t2ir1_eval.context import ScorerContext  # noqa: E402
from t2ir1_eval.scorers.geneval.scorer import GenEvalScorer  # noqa: E402
from t2ir1_eval.types import PromptItem, Sample  # noqa: E402

DATA = Path(os.environ.get("T2IR1_EVAL_DATA") or TESTS.parents[1] / "shared" / "benchmarks") / "geneval"


def agreement(a: list[dict], b: list[dict]) -> dict:
    """How far batched raw outputs are from one-at-a-time ones (float rounding only, we expect)."""
    boxes = same = 0
    worst = 0.0
    for ra, rb in zip(a, b):
        for ea, eb in zip(ra["detections"], rb["detections"]):
            if ea["label"] != eb["label"] or len(ea["scores"]) != len(eb["scores"]):
                return {"identical_structure": False}
            worst = max(worst, max(abs(x - y) for x, y in zip(ea["scores"], eb["scores"])))
            boxes += len(ea["boxes"])
            same += sum(x == y for x, y in zip(ea["boxes"], eb["boxes"]))
    return {"identical_structure": True, "max_score_diff": worst, "identical_boxes": f"{same}/{boxes}"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-id", default="tiny")
    ap.add_argument("--clip-model-id", default=None, help="e.g. openai/clip-vit-large-patch14 or random:vit-large-patch14")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n-images", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--size", type=int, default=64, help="square image side in pixels")
    ap.add_argument("--test-scale", type=int, nargs=2, default=None,
                    help="override the official (1333, 800) resize (tiny CPU smoke runs use (128, 96))")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()

    rows = [json.loads(line) for line in (DATA / "evaluation_metadata.jsonl").read_text().splitlines()]
    colour_rows = [(n, r) for n, r in enumerate(rows) if r["tag"] in ("colors", "color_attr")]
    scale = tuple(args.test_scale) if args.test_scale else ((128, 96) if args.model_id == "tiny" else (1333, 800))
    ctx = ScorerContext("geneval", {}, lambda k: DATA / "object_names.txt", device=args.device)
    scorer = GenEvalScorer(ctx, model_id=args.model_id, clip_model_id=args.clip_model_id, device=args.device,
                           batch_size=args.batch_size, test_scale=scale)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        samples = []
        for k in range(args.n_images):
            n, row = colour_rows[k % len(colour_rows)]
            path = Path(tmp) / f"{k:05d}.png"
            Image.fromarray(rng.integers(0, 255, (args.size, args.size, 3), dtype=np.uint8)).save(path)
            samples.append(Sample(PromptItem(f"{n:05d}", row["prompt"], row["tag"], row), 0, path))
        # warm-up: every image once (kernels for every shape, CLIP text weights of every class), untimed
        for start in range(0, len(samples), args.batch_size):
            scorer.score(samples[start:start + args.batch_size])
        scorer.timings.clear()
        t0 = time.perf_counter()
        raw_batched = []
        for start in range(0, len(samples), args.batch_size):
            raw_batched += scorer.score(samples[start:start + args.batch_size])
        batched = time.perf_counter() - t0
        timings_batched = {k: round(v, 3) for k, v in scorer.timings.items()}
        scorer.timings.clear()
        t0 = time.perf_counter()
        raw_single = [scorer.score([s])[0] for s in samples]
        single = time.perf_counter() - t0
        timings_single = {k: round(v, 3) for k, v in scorer.timings.items()}
    figures = {
        "device": args.device, "model_id": args.model_id, "clip_model_id": scorer.clip.model_id,
        "n_images": args.n_images, "image_size": args.size, "test_scale": list(scale), "batch_size": args.batch_size,
        "batched_images_per_s": args.n_images / batched, "one_at_a_time_images_per_s": args.n_images / single,
        "speedup": single / batched,
        "same_outputs": agreement(raw_batched, raw_single),
        "seconds_by_stage": {"batched": timings_batched, "one_at_a_time": timings_single},
    }
    print(f"GenEval scorer on {args.device} ({args.model_id}, {args.n_images} images {args.size}px, "
          f"test scale {scale}):")
    print(f"  batched (batch {args.batch_size}): {figures['batched_images_per_s']:.2f} images/s")
    print(f"  one at a time:        {figures['one_at_a_time_images_per_s']:.2f} images/s")
    print(f"  ratio: {figures['speedup']:.2f}x")
    print(f"  batched vs one at a time outputs: {figures['same_outputs']}")
    print(f"  seconds by stage: {figures['seconds_by_stage']}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    scorer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
