"""Janus-Pro-7B image generation speed on one GPU, with random weights (no download).

Builds ``JanusForConditionalGeneration`` from Janus-Pro-7B's shapes (Llama 4096/11008/30
layers/102400 vocab, SigLIP-L/16 at 384, VQ-16 with 16384 codes, 576 image tokens), in bf16 on
the GPU, and times ``JanusGenerator`` (recipe janus-pro: CFG 5, 576 tokens, VQ decode, PNG-ready
uint8) at several batch sizes, plus transformers' own ``generate(generation_mode="image")`` at
one batch size and the T2I-R1 CoT stage's tokens/s. Random weights give the speed of the real
model (same shapes, same kernels), not its images.

    python scripts/gpu_janus_bench.py [--batch-sizes 1,4,16] [--hf-batch 4] [--cot-tokens 64]

Runs in about 2-4 minutes on one H100/H200 (most of it the three timed batches).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def janus_pro_7b_config(tokenizer):
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig, LlamaConfig

    text = LlamaConfig(
        vocab_size=102400, hidden_size=4096, intermediate_size=11008, num_hidden_layers=30,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=16384,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    vision = JanusVisionConfig(projection_dim=4096)  # SigLIP-L/16 @ 384 defaults
    vq = JanusVQVAEConfig(projection_dim=4096, image_token_embed_dim=4096)  # VQ-16 defaults
    return JanusConfig(text_config=text, vision_config=vision, vq_config=vq, image_token_id=100581, tie_word_embeddings=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-sizes", default="1,4,16")
    ap.add_argument("--hf-batch", type=int, default=4, help="0 skips transformers' generate()")
    ap.add_argument("--cot-tokens", type=int, default=64, help="0 skips the CoT timing")
    ap.add_argument("--dynamic-batch", type=int, default=16, help="also time the dynamic KV cache at this batch (0 skips)")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU"

    import transformers
    from transformers import JanusForConditionalGeneration

    from t2ir1_eval.generators.janus import JanusGenerator, set_image_generation_config
    from t2ir1_eval.generators.janus_sampling import draw_uniforms, generate_text
    from t2ir1_eval.tiny.janus import build_tiny_tokenizer
    from t2ir1_eval.types import GenRequest, PromptItem

    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "transformers": transformers.__version__}
    tok = build_tiny_tokenizer()  # ids < 400 are valid in the 102400 vocab
    t0 = time.time()
    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = JanusForConditionalGeneration(janus_pro_7b_config(tok)).eval()
    torch.set_default_dtype(prev)
    set_image_generation_config(model, tok)
    report["params_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
    report["build_s"] = round(time.time() - t0, 1)
    print(json.dumps(report), flush=True)

    prompts = ["a photo of a red apple and a blue bench", "three cats on a sofa", "a green clock above a dog",
               "an astronaut riding a horse on the moon"]

    def reqs(n):
        return [GenRequest(PromptItem(f"p{i}", prompts[i % len(prompts)], "x"), 0, 1000 + i) for i in range(n)]

    # warm-up: kernels, allocator, cuBLAS handles
    gen = JanusGenerator.from_components(model, tok, recipe="janus-pro", batch_size=2)
    gen.generate(reqs(2))
    torch.cuda.synchronize()

    images = {}
    rows = []
    for b in [int(x) for x in args.batch_sizes.split(",") if x]:
        gen = JanusGenerator.from_components(model, tok, recipe="janus-pro", batch_size=b)
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t = time.time()
        res = gen.generate(reqs(b))
        torch.cuda.synchronize()
        dt = time.time() - t
        images[b] = [r.image.tobytes() for r in res]
        row = {"batch": b, "seconds": round(dt, 2), "images_per_s": round(b / dt, 3),
               "ms_per_step": round(1000 * dt / 576, 2), "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.dynamic_batch:
        b = args.dynamic_batch
        gen = JanusGenerator.from_components(model, tok, recipe="janus-pro", batch_size=b, cache="dynamic")
        torch.cuda.synchronize()
        t = time.time()
        gen.generate(reqs(b))
        torch.cuda.synchronize()
        dt = time.time() - t
        rows.append({"batch": b, "cache": "dynamic", "seconds": round(dt, 2), "images_per_s": round(b / dt, 3)})
        print(json.dumps(rows[-1]), flush=True)
    report["ours"] = rows
    sizes = sorted(images)
    # bf16 batch invariance: the image of seed 1000 (first request) across batch sizes
    report["same_image_as_batch1"] = {b: images[b][0] == images[sizes[0]][0] for b in sizes[1:]}

    if args.hf_batch:
        b = args.hf_batch
        texts = [gen.recipe.image_text(p, None) for p in (prompts * 8)[:b]]
        ids = [gen.encode(x) + [gen.boi_id] for x in texts]
        width = max(map(len, ids))
        inp = torch.tensor([[tok.pad_token_id] * (width - len(r)) + r for r in ids], device="cuda")
        att = (torch.arange(width, device="cuda")[None] >= torch.tensor([width - len(r) for r in ids], device="cuda")[:, None]).long()
        torch.cuda.synchronize()
        t = time.time()
        try:
            out = model.generate(inp, attention_mask=att, generation_mode="image", do_sample=True, top_k=0, temperature=1.0, guidance_scale=5.0)
            model.decode_image_tokens(out)
            torch.cuda.synchronize()
            dt = time.time() - t
            report["transformers_generate"] = {"batch": b, "seconds": round(dt, 2), "images_per_s": round(b / dt, 3)}
        except Exception as e:  # e.g. transformers 5.17's image generate: _prepare_static_cache() signature bug
            report["transformers_generate"] = {"batch": b, "error": f"{type(e).__name__}: {e}"[:300]}
        print(json.dumps(report["transformers_generate"]), flush=True)

    if args.cot_tokens:
        b = 16
        gen = JanusGenerator.from_components(model, tok, recipe="t2i-r1", batch_size=b)
        rows_ = [gen.encode(gen.recipe.cot_input(p)) for p in (prompts * 4)[:b]]
        u = torch.stack([draw_uniforms(1000 + i, 0, args.cot_tokens)[1] for i in range(b)])
        torch.cuda.synchronize()
        t = time.time()
        out = generate_text(model, rows_, u, pad_id=gen.pad_id, eos_id=gen.eos_id, max_new_tokens=args.cot_tokens)
        torch.cuda.synchronize()
        dt = time.time() - t
        n = sum(len(o) for o in out)
        report["cot"] = {"batch": b, "new_tokens": n, "seconds": round(dt, 2), "tokens_per_s": round(n / dt, 1),
                         "ms_per_step": round(1000 * dt / max(len(o) for o in out), 2)}
        print(json.dumps(report["cot"]), flush=True)

    print("REPORT " + json.dumps(report), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
