"""Speed of our Janus image-token loop on CPU, as ratios (a benchmark, not a test).

Same random Janus (a small-but-not-tiny config), same prompt, CFG 5, full-codebook sampling:
  ours      t2ir1_eval.generators.janus_sampling.generate_image_tokens (batched, static cache)
  hf        transformers' JanusForConditionalGeneration.generate(generation_mode="image")
  deepseek  a straight port of DeepSeek's generation_inference.py loop (tests/janus_reference.py)
Each is timed at batch 1 and batch 4 (4 images of one prompt for hf/deepseek, which take one
prompt; 4 prompts for ours), best of ``--repeat`` runs.

    python tests/perf/bench_janus_loop.py [--tokens 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64, help="image tokens (a square: 16, 64, 144, 576)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    side = int(args.tokens**0.5)
    assert side * side == args.tokens, "--tokens must be a square"

    from janus_reference import deepseek_loop
    from t2ir1_eval.generators.janus_sampling import draw_uniforms, generate_image_tokens
    from t2ir1_eval.tiny.janus import BOI, build_tiny_janus

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, tok = build_tiny_janus(
        seed=0, sizes={"hidden": 256, "layers": 4, "heads": 8, "kv_heads": 8, "vision_image_size": side * 4,
                       "vision_patch_size": 4, "vq_codebook": 1024}
    )
    boi = tok.convert_tokens_to_ids(BOI)
    prompt = [tok.bos_token_id] + tok("<|User|>: a photo of a red apple\n\n<|Assistant|>:", add_special_tokens=False).input_ids + [boi]
    n = args.tokens
    pad = tok.pad_token_id

    def ours(b):
        u = torch.stack([draw_uniforms(s, n, 0)[0] for s in range(b)])
        return lambda: generate_image_tokens(model, [prompt] * b, u, pad_id=pad, cfg_weight=5, num_image_tokens=n)

    def hf(b):
        ids = torch.tensor([prompt])
        return lambda: model.generate(ids, attention_mask=torch.ones_like(ids), generation_mode="image", do_sample=True,
                                      top_k=0, temperature=1.0, guidance_scale=5.0, num_return_sequences=b)

    def deepseek(b):
        return lambda: deepseek_loop(model.model.language_model, model.get_input_embeddings(), model.model.generation_head,
                                     model.prepare_embeddings_for_image_generation, prompt, pad_id=pad, parallel_size=b,
                                     cfg_weight=5, image_token_num=n)

    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M params, {n} image tokens, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for b in (1, 4):
        t = {name: best_of(f(b), args.repeat) for name, f in (("ours", ours), ("hf", hf), ("deepseek", deepseek))}
        print(f"batch {b}: ours {t['ours']:.3f}s  hf {t['hf']:.3f}s  deepseek {t['deepseek']:.3f}s  |  "
              f"hf/ours {t['hf'] / t['ours']:.2f}x  deepseek/ours {t['deepseek'] / t['ours']:.2f}x  "
              f"(ours {b * n / t['ours']:.0f} tokens/s)")


if __name__ == "__main__":
    main()
