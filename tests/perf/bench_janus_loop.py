"""Speed of the Janus image-token loop on CPU, as ratios measured in one run (a benchmark, not a test).

Same random Janus (a small-but-not-tiny config), same prompts, CFG 5, full-codebook sampling:
  eager     t2ir1_eval.generators.janus_sampling.generate_image_tokens (the reference loop)
  static    janus_static.StaticDecoder, compile=none (the static-shape step, run eagerly)
  compiled  janus_static.StaticDecoder, compile=inductor (torch.compile(fullgraph=True) of that step)
  hf        transformers' JanusForConditionalGeneration.generate(generation_mode="image")
  deepseek  a straight port of DeepSeek's generation_inference.py loop (tests/janus_reference.py)
hf and deepseek take one prompt, so at batch B they make B images of one prompt; ours take B prompts.

Before timing, the methods must agree: greedy tokens of eager/static/compiled/hf/deepseek are
equal (one prompt), and under sampling eager, static and compiled give identical tokens for the
same per-row uniforms. Then every method is warmed up and timed ``--repeat`` times interleaved
(A B C ... A B C ...), so machine load hits all alike; the table shows the median, the spread
(min-max) and ratios of medians against eager.

    python tests/perf/bench_janus_loop.py [--tokens 64] [--repeat 9] [--batches 4] [--methods ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64, help="image tokens (a square: 16, 64, 144, 576)")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--batches", default="4", help="timed batch sizes (each costs one more compile)")
    ap.add_argument("--methods", default="eager,static,compiled,hf,deepseek")
    args = ap.parse_args()
    side = int(args.tokens**0.5)
    if side * side != args.tokens:
        sys.exit("--tokens must be a square (16, 64, 144, 576)")
    methods = [m for m in args.methods.split(",") if m]

    from janus_reference import deepseek_loop
    from t2ir1_eval.generators.janus_sampling import draw_uniforms, generate_image_tokens
    from t2ir1_eval.generators.janus_static import StaticDecoder
    from t2ir1_eval.tiny.janus import BOI, build_tiny_janus

    model, tok = build_tiny_janus(
        seed=0, sizes={"hidden": 256, "layers": 4, "heads": 8, "kv_heads": 8, "vision_image_size": side * 4,
                       "vision_patch_size": 4, "vq_codebook": 1024}
    )
    boi = tok.convert_tokens_to_ids(BOI)
    texts = ["a photo of a red apple", "three cats on a blue sofa in the sun", "a clock", "a green dog left of a bench"]
    prompts = [[tok.bos_token_id] + tok(f"<|User|>: {t}\n\n<|Assistant|>:", add_special_tokens=False).input_ids + [boi]
               for t in texts]
    n, pad = args.tokens, tok.pad_token_id
    static = StaticDecoder(model, compile="none")
    compiled = StaticDecoder(model, compile="inductor") if "compiled" in methods else None
    kw = dict(pad_id=pad, cfg_weight=5, num_image_tokens=n)

    def uniforms(b):
        return torch.stack([draw_uniforms(s, n, 0)[0] for s in range(b)])

    def ours(loop, b, temperature=1.0):
        rows, u = [prompts[i % len(prompts)] for i in range(b)], uniforms(b)
        return lambda: loop(rows, u, temperature=temperature, **kw)

    runners = {
        "eager": lambda b, t=1.0: ours(lambda *a, **k: generate_image_tokens(model, *a, **k), b, t),
        "static": lambda b, t=1.0: ours(static.image_tokens, b, t),
        "compiled": lambda b, t=1.0: ours(compiled.image_tokens, b, t),  # type: ignore[union-attr]
    }

    def hf(b, t=1.0):
        ids = torch.tensor([prompts[0]])
        sampling = dict(do_sample=True, top_k=0, temperature=t) if t > 0 else dict(do_sample=False)
        return lambda: model.generate(ids, attention_mask=torch.ones_like(ids), generation_mode="image", guidance_scale=5.0,
                                      num_return_sequences=b, **sampling)[:, -n:]

    def deepseek(b, t=1.0):
        return lambda: deepseek_loop(model.model.language_model, model.get_input_embeddings(), model.model.generation_head,
                                     model.prepare_embeddings_for_image_generation, prompts[0], pad_id=pad, parallel_size=b,
                                     cfg_weight=5, image_token_num=n, greedy=t == 0)

    runners.update(hf=hf, deepseek=deepseek)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M params, {n} image tokens, CFG 5, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    # 1. agreement before timing. The compiled step is checked under sampling at the timed batch
    # size (identical tokens from the same uniforms, stronger than greedy agreement) so that it
    # compiles once; its greedy equality is a unit test (tests/test_janus_static.py).
    t0 = time.perf_counter()
    batches = [int(x) for x in args.batches.split(",") if x]
    greedy = {m: runners[m](1, 0.0)() for m in methods if m != "compiled"}
    ref = greedy["eager"] if "eager" in greedy else next(iter(greedy.values()))
    bad = [m for m, g in greedy.items() if not torch.equal(g.reshape(ref.shape), ref)]
    sampled = {m: runners[m](batches[-1])() for m in methods if m in ("eager", "static", "compiled")}
    bad += [f"{m} (sampled)" for m, s in sampled.items() if not torch.equal(s, next(iter(sampled.values())))]
    if bad:
        sys.exit(f"methods disagree with eager before timing: {bad}; fix that first, timing them means nothing")
    print(f"agreement: greedy tokens equal for {', '.join(greedy)}; sampled tokens equal for {', '.join(sampled)} "
          f"({time.perf_counter() - t0:.0f}s incl. compiling)")

    # 2. interleaved repeats per batch size, after one warm-up run of each
    for b in batches:
        fns = {m: runners[m](b) for m in methods}
        for f in fns.values():
            f()
        times: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.repeat):
            for m, f in fns.items():
                times[m].append(timed(f))
        med = {m: statistics.median(v) for m, v in times.items()}
        base = med.get("eager", next(iter(med.values())))
        print(f"batch {b} ({args.repeat} interleaved repeats):")
        for m in methods:
            v = times[m]
            print(f"  {m:9s} median {med[m]:.3f}s  spread {min(v):.3f}-{max(v):.3f}s  "
                  f"{b * n / med[m]:7.0f} tokens/s  {1000 * med[m] / n:6.2f} ms/step  eager/{m} {base / med[m]:.2f}x")


if __name__ == "__main__":
    main()
