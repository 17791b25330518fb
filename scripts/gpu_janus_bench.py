"""Janus-Pro-7B image generation speed on one GPU, with random weights (no download).

Builds ``JanusForConditionalGeneration`` from Janus-Pro-7B's shapes (Llama 4096/11008/30
layers/102400 vocab, SigLIP-L/16 at 384, VQ-16 with 16384 codes, 576 image tokens) in bf16 on
the GPU and times ``JanusGenerator`` (recipe janus-pro: CFG 5, 576 tokens, VQ decode, uint8
images) per batch size, eager reference loop vs the static-shape step replayed from CUDA graphs
(``--gen-option compile=graphs``, the default on CUDA), plus ``--batch-size auto`` and the T2I-R1
CoT stage's tokens/s. Random weights give the speed of the real model (same shapes, same
kernels), not its images.

    python scripts/gpu_janus_bench.py [--batch-sizes 1,16,32,64,auto] [--eager-batches 1,16,64]
                                      [--cot-tokens 128] [--json out.json]

Per row: images/s of the whole generator call (prefill, 576 steps, VQ decode, uint8), ms/step
of the token loop ((call - VQ decode) / 576), peak GPU memory, and for graphs the first call
(capture included) apart from the steady-state one. Target (issue #14): >= 8 images/s on one
H200 and ms/step growing with the batch. About 5-7 minutes on one H200; untested on a GPU so far.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_IMAGES_PER_S = 8.0


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


def sync_time(fn):
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-sizes", default="1,16,32,64,auto", help="graphs mode at these batch sizes ('auto' allowed)")
    ap.add_argument("--eager-batches", default="1,16,64", help="eager reference loop at these (empty skips)")
    ap.add_argument("--cot-tokens", type=int, default=128, help="CoT new tokens at batch 16 (0 skips)")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("this benchmark needs a CUDA GPU (none visible); the CPU figures are in tests/perf/bench_janus_loop.py")

    import transformers
    from transformers import JanusForConditionalGeneration

    from t2ir1_eval.generators.janus import JanusGenerator, set_image_generation_config
    from t2ir1_eval.generators.janus_sampling import draw_uniforms
    from t2ir1_eval.tiny.janus import build_tiny_tokenizer
    from t2ir1_eval.types import GenRequest, PromptItem

    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "transformers": transformers.__version__,
                    "command": " ".join(sys.argv)}
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
    report["weights_gib"] = round(torch.cuda.memory_allocated() / 2**30, 1)
    report["build_s"] = round(time.time() - t0, 1)
    print(json.dumps(report), flush=True)

    prompts = ["a photo of a red apple and a blue bench", "three cats on a sofa", "a green clock above a dog",
               "an astronaut riding a horse on the moon"]

    def reqs(n):
        return [GenRequest(PromptItem(f"p{i}", prompts[i % len(prompts)], "x"), 0, 1000 + i) for i in range(n)]

    def free():
        gc.collect()
        torch.cuda.empty_cache()

    # warm-up: kernels, allocator, cuBLAS handles
    JanusGenerator.from_components(model, tok, recipe="janus-pro", batch_size=2, loop="eager").generate(reqs(2))
    torch.cuda.synchronize()

    def run(mode: str, b: int | str) -> dict:
        free()
        knobs = {"loop": "eager"} if mode == "eager" else {"compile": mode}
        gen = JanusGenerator.from_components(model, tok, recipe="janus-pro", batch_size=b, **knobs)
        n = gen.batch_size
        row: dict = {"mode": mode, "batch": n}
        if b == "auto":
            row["auto"] = gen.batch_size_auto
        torch.cuda.reset_peak_memory_stats()
        if mode != "eager":  # the first call of a shape captures its graph
            _, row["first_call_s"] = sync_time(lambda: gen.generate(reqs(n)))
        res, dt = sync_time(lambda: gen.generate(reqs(n)))
        if gen._decoder is not None:
            row["graphs_captured"], row["capture_failures"] = gen._decoder.captures, gen._decoder.capture_failures
        tokens = torch.randint(0, 16384, (n, 576), device="cuda")
        _, vq = sync_time(lambda: gen.decode_images(tokens))
        row.update(seconds=round(dt, 2), images_per_s=round(n / dt, 3), ms_per_step=round(1000 * (dt - vq) / 576, 2),
                   vq_decode_s=round(vq, 2), peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 1))
        row["first_image_sha"] = __import__("hashlib").sha256(res[0].image.tobytes()).hexdigest()[:16]
        if "first_call_s" in row:
            row["first_call_s"] = round(row["first_call_s"], 2)
        print(json.dumps(row), flush=True)
        del gen, res
        return row

    rows = []
    for b in [x for x in args.eager_batches.split(",") if x]:
        rows.append(run("eager", int(b)))
    for b in [x for x in args.batch_sizes.split(",") if x]:
        try:
            rows.append(run("graphs", b if b == "auto" else int(b)))
        except torch.cuda.OutOfMemoryError as e:
            rows.append({"mode": "graphs", "batch": b, "error": f"OOM: {e}"[:300]})
            print(json.dumps(rows[-1]), flush=True)
    report["image"] = rows
    eager_sha = {r["batch"]: r.get("first_image_sha") for r in rows if r["mode"] == "eager"}
    report["graphs_same_first_image_as_eager"] = {r["batch"]: r.get("first_image_sha") == eager_sha[r["batch"]]
                                                  for r in rows if r["mode"] == "graphs" and r["batch"] in eager_sha}
    best = max((r.get("images_per_s", 0) for r in rows if r["mode"] == "graphs"), default=0)
    report["target"] = {"images_per_s": TARGET_IMAGES_PER_S, "best_graphs": best, "met": best >= TARGET_IMAGES_PER_S}

    if args.cot_tokens:
        cot = []
        for mode in ("eager", "graphs"):
            free()
            knobs = {"loop": "eager"} if mode == "eager" else {"compile": "graphs"}
            gen = JanusGenerator.from_components(model, tok, recipe="t2i-r1", batch_size=16, **knobs)
            text_loop, _ = gen._loops()
            rows_ = [gen.encode(gen.recipe.cot_input(p)) for p in (prompts * 4)[:16]]
            u = torch.stack([draw_uniforms(1000 + i, 0, args.cot_tokens)[1] for i in range(16)])
            kw = dict(pad_id=gen.pad_id, eos_id=gen.eos_id, max_new_tokens=args.cot_tokens, top_k=gen.recipe.cot_top_k,
                      temperature=gen.recipe.cot_temperature, top_p=gen.recipe.cot_top_p)
            if mode != "eager":
                sync_time(lambda: text_loop(rows_, u, **kw))  # capture
            out, dt = sync_time(lambda: text_loop(rows_, u, **kw))
            steps = max(len(o) for o in out)
            cot.append({"mode": mode, "batch": 16, "new_tokens": sum(len(o) for o in out), "seconds": round(dt, 2),
                        "tokens_per_s": round(sum(len(o) for o in out) / dt, 1), "ms_per_step": round(1000 * dt / steps, 2)})
            print(json.dumps(cot[-1]), flush=True)
            del gen
        report["cot"] = cot

    print("REPORT " + json.dumps(report), flush=True)
    print("\n| mode | batch | images/s | ms/step | VQ decode s | peak GiB |\n|---|---|---|---|---|---|")
    for r in rows:
        if "error" not in r:
            print(f"| {r['mode']} | {r['batch']} | {r['images_per_s']} | {r['ms_per_step']} | {r['vq_decode_s']} | {r['peak_gib']} |")
    print(f"\ntarget {TARGET_IMAGES_PER_S} images/s: {'met' if report['target']['met'] else 'MISSED'} (best {best})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
