"""DPG-Bench VQA speed: a tile's questions batched (tile encoded once) vs one question at a time.

The official loop asks one question per call (the tile is preprocessed and encoded again each
time). Run, from the repository root:

    .venv/bin/python tests/perf/bench_dpg_vqa.py                       # tiny BLIP, CPU
    .venv/bin/python tests/perf/bench_dpg_vqa.py --model-id Salesforce/blip-vqa-base --device cuda
    # in the ModelScope environment, on a GPU with the weights downloaded:
    ~/venvs/dpg-mplug/bin/python tests/perf/bench_dpg_vqa.py --backend mplug \
        --model-id ~/models/mplug-vqa-large --device cuda:0

Each way runs once as a warm-up, then ``--repeats`` times interleaved (the order alternating), so
machine load hits both alike. It prints seconds per tile for both ways and the speed-up (the
ratio one-at-a-time / batched of each repeat), as median and min-max, and whether the answers
agree exactly (exit status 1 if they do not: for mPLUG, that is the check that must pass before
its batched path may be used for numbers). The BLIP batch mixes question lengths (padded, the
padding masked in the decoder's cross-attention). Questions come from the small schema CSV, or
``--csv``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from t2ir1_eval.scorers.dpg.questions import load_questions  # noqa: E402


def make_backend(args: argparse.Namespace, questions: list[str], batched: bool = True) -> Any:
    if args.backend == "mplug":
        from t2ir1_eval.scorers.dpg.mplug import MplugVqa

        return MplugVqa(model_id=args.model_id, device=args.device, batch_questions=batched)
    from t2ir1_eval.scorers.dpg.vqa_hf import HfBlipVqa

    extra = {"tiny_words": questions, "tiny_image_size": args.tiny_image_size} if args.model_id == "tiny" else {}
    return HfBlipVqa(model_id=args.model_id, device=args.device, **extra)


def tiles(n: int, size: int) -> list[Any]:
    from PIL import Image

    return [Image.effect_noise((size, size), 40 + 10 * i).convert("RGB") for i in range(n)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    items = load_questions(Path(args.csv))
    # the largest item's questions: DPG items have about 7 to 20, of mixed token lengths
    questions = max(([q["question"] for q in rows] for rows in items.values()), key=len)
    if args.questions:
        questions = (questions * (args.questions // len(questions) + 1))[: args.questions]
    vqa = make_backend(args, questions)  # answer_one is always the one-question call (for mPLUG: the official pipeline call)
    work = tiles(args.tiles, args.tile_size)
    ways = {
        "batched": lambda: [vqa.answer(t, questions) for t in work],
        "one_at_a_time": lambda: [[vqa.answer_one(t, q) for q in questions] for t in work],
    }
    answers = {name: way() for name, way in ways.items()}  # warm-up of each (first-call allocations, lazy init)
    times: dict[str, list[float]] = {name: [] for name in ways}
    ratios: list[float] = []  # one-at-a-time / batched, per repeat: both under the same machine load
    names = list(ways)
    for rep in range(args.repeats):
        for name in names[rep % 2:] + names[:rep % 2]:  # alternate which goes first
            t0 = time.perf_counter()
            got = ways[name]()
            times[name].append(time.perf_counter() - t0)
            if got != answers[name]:
                raise SystemExit(f"{name}: answers changed between repeats (non-deterministic decoding?)")
        ratios.append(times["one_at_a_time"][-1] / times["batched"][-1])
    batched, single = answers["batched"], answers["one_at_a_time"]
    lengths = [len(ids) for ids in vqa.processor.tokenizer(questions)["input_ids"]] if hasattr(vqa, "processor") else []
    return {
        "backend": args.backend,
        "model": args.model_id,
        "device": args.device,
        "tiles": len(work),
        "questions_per_tile": len(questions),
        "distinct_question_lengths": len(set(lengths)) if lengths else None,
        "repeats": args.repeats,
        "s_per_tile_batched": [t / len(work) for t in times["batched"]],
        "s_per_tile_one_at_a_time": [t / len(work) for t in times["one_at_a_time"]],
        "speedup": ratios,
        "answers_agree": batched == single,
        "disagreements": sum(a != b for bt, st in zip(batched, single) for a, b in zip(bt, st)),
    }


def spread(values: list[float], fmt: str = ".4f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["transformers", "mplug"], default="transformers")
    p.add_argument("--model-id", default="tiny")
    p.add_argument("--device", default="cpu")
    p.add_argument("--csv", default=str(REPO / "tests" / "data" / "dpg_bench_small.csv"))
    p.add_argument("--tiles", type=int, default=4)
    p.add_argument("--tile-size", type=int, default=384, help="Janus-family tiles are 384 px")
    p.add_argument("--questions", type=int, default=0, help="repeat the questions up to this many per tile")
    p.add_argument("--repeats", type=int, default=5, help="interleaved timed repeats of each way, after one warm-up")
    p.add_argument("--tiny-image-size", type=int, default=192,
                   help="input size of the tiny BLIP: 192 px in 8-px patches = 576 tokens, as BLIP-base at 384 px")
    args = p.parse_args(argv)
    r = run(args)
    print(f"{r['repeats']} interleaved repeats after a warm-up; median (min-max); speed-up = one-at-a-time / batched per repeat")
    print("| backend | model | device | tiles | questions/tile (lengths) | s/tile batched | s/tile one-by-one | speed-up | answers agree |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {r['backend']} | {r['model']} | {r['device']} | {r['tiles']} | {r['questions_per_tile']} "
          f"({r['distinct_question_lengths']}) | {spread(r['s_per_tile_batched'])} | {spread(r['s_per_tile_one_at_a_time'])} | "
          f"{spread(r['speedup'], '.2f')}x | {r['answers_agree']} ({r['disagreements']} differ) |")
    return 0 if r["answers_agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
