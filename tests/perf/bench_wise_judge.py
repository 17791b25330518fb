"""Benchmark: judge 1000 WISE images against a local chat-completions server at 2 s per call.

Concurrent (all 1000 images, ``--concurrency`` workers) vs sequential. Sequential would take
1000 x 2 s = 2000 s, so it is measured on ``--sequential-n`` images (default 20) and
extrapolated linearly to 1000; the report says so. The reply cache is off, so every image is a
real HTTP call carrying its base64 PNG and the exact legacy judge prompt.

    .venv/bin/python tests/perf/bench_wise_judge.py [--latency 2] [--concurrency 128] [--out result.json]
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

from PIL import Image  # noqa: E402

from chat_server import ChatServer  # noqa: E402
from t2ir1_eval.context import ScorerContext  # noqa: E402
from t2ir1_eval.rules import wise  # noqa: E402
from t2ir1_eval.scorers.wise.scorer import WiseJudgeScorer  # noqa: E402
from t2ir1_eval.types import PromptItem, Sample  # noqa: E402

WISE_DIR = Path(os.environ.get("T2IR1_EVAL_DATA") or TESTS.parents[1] / "shared" / "benchmarks") / "wise"
FILES = ["legacy/cultural_common_sense.json", "legacy/spatio-temporal_reasoning.json", "legacy/natural_science.json"]
KEY_ENV = "T2IR1_BENCH_JUDGE_KEY"


def samples_for(root: Path) -> list[Sample]:
    out = []
    for f in FILES:
        for r in json.loads((WISE_DIR / f).read_text(encoding="utf-8")):
            path = root / f"{r['prompt_id']}.png"
            Image.new("RGB", (32, 32), (r["prompt_id"] % 256, r["prompt_id"] // 256, 128)).save(path)
            out.append(Sample(PromptItem(str(r["prompt_id"]), r["Prompt"], wise.category_of(r, "legacy"), r), 0, path))
    return out


def run(server: ChatServer, root: Path, samples: list[Sample], concurrency: int) -> tuple[float, list[dict]]:
    ctx = ScorerContext(suite="wise", options={"protocol": "legacy"},
                        data_file=lambda k: WISE_DIR / "judge_prompts.json", cache_dir=root / "cache")
    scorer = WiseJudgeScorer(ctx, base_url=server.base_url, api_key_env=KEY_ENV, concurrency=concurrency,
                             timeout=60.0, cache=False)
    start = time.monotonic()
    raws = scorer.score(samples)
    elapsed = time.monotonic() - start
    scorer.close()
    return elapsed, raws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=2.0)
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--sequential-n", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault(KEY_ENV, "bench-key")
    with tempfile.TemporaryDirectory() as tmp, ChatServer(latency=args.latency) as server:
        root = Path(tmp)
        samples = samples_for(root)[: args.n]
        conc_s, raws = run(server, root, samples, args.concurrency)
        decisions = [wise.decide(s.item, r, {"protocol": "legacy"}) for s, r in zip(samples, raws)]
        failed = sum(d["failed"] for d in decisions)
        calls = server.count()
        peak = server.max_in_flight
        seq_s, _ = run(server, root, samples[: args.sequential_n], 1)
    seq_extrapolated = seq_s / args.sequential_n * len(samples)
    result = {
        "images": len(samples),
        "latency_s_per_call": args.latency,
        "concurrency": args.concurrency,
        "concurrent_s": round(conc_s, 2),
        "concurrent_calls": calls,
        "concurrent_peak_in_flight": peak,
        "concurrent_failed": failed,
        "sequential_measured_images": args.sequential_n,
        "sequential_measured_s": round(seq_s, 2),
        "sequential_extrapolated_s": round(seq_extrapolated, 1),
        "speedup": round(seq_extrapolated / conc_s, 1),
        "ideal_speedup": round(min(args.concurrency, len(samples)) * len(samples) / (len(samples) + (-len(samples)) % args.concurrency), 1),
    }
    print(json.dumps(result, indent=2))
    print(f"\nconcurrent: {len(samples)} images in {conc_s:.1f} s at {args.concurrency} workers; sequential: "
          f"{args.sequential_n} images in {seq_s:.1f} s -> {seq_extrapolated:.0f} s for {len(samples)} (extrapolated); "
          f"speedup x{result['speedup']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
