"""The static-shape decode step (janus_static) against the eager reference loop (janus_sampling),
CFG precision (cfg_dtype), --batch-size auto, device-side uint8 conversion, the PNG writer."""

import json
import threading
import time

import numpy as np
import pytest
import torch

from e2e_helpers import cli
from t2ir1_eval.errors import ConfigError
from t2ir1_eval.generators.janus import JanusGenerator, to_uint8_array, to_uint8_images
from t2ir1_eval.generators.janus_memory import bytes_per_image, estimate_batch_size, estimate_weight_bytes, text_dims
from t2ir1_eval.generators.janus_sampling import cfg_logits, draw_uniforms, generate_image_tokens, generate_text
from t2ir1_eval.generators.janus_static import StaticDecoder, resolve_compile
from t2ir1_eval.tiny.janus import BOI, build_tiny_janus
from t2ir1_eval.writer import BackgroundWriter

N = 16  # tiny image tokens
TEXTS = [
    "<|User|>: a red apple\n\n<|Assistant|>:",
    "<|User|>: a photo of a blue bench on the left of a green dog\n\n<|Assistant|>:",
    "User: cat\n\nAssistant:",
]


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny_janus(seed=0)
    boi = tok.convert_tokens_to_ids(BOI)
    rows = [[tok.bos_token_id] + tok(t, add_special_tokens=False).input_ids + [boi] for t in TEXTS]
    return model, tok, rows


def record_head(model, module_name="generation_head"):
    """Every output of the generation head (or lm_head), in call order."""
    seen = []
    module = model.model.generation_head if module_name == "generation_head" else model.lm_head
    h = module.register_forward_hook(lambda mod, args, out: seen.append(out.detach().float().clone()))
    return seen, h


def image_kw(tok, **extra):
    return dict(pad_id=tok.pad_token_id, cfg_weight=5, num_image_tokens=N, **extra)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_static_image_loop_gives_eager_tokens_and_logits(tiny, temperature):
    model, tok, rows = tiny
    u = torch.stack([draw_uniforms(s, N, 0)[0] for s in (11, 12, 13)])
    kw = image_kw(tok, temperature=temperature, top_k=0 if temperature else 0)
    seen, h = record_head(model)
    try:
        eager = generate_image_tokens(model, rows, u, **kw)
        eager_logits = list(seen)
        seen.clear()
        static = StaticDecoder(model).image_tokens(rows, u, **kw)
        static_logits = list(seen)
    finally:
        h.remove()
    assert torch.equal(static, eager)
    assert len(static_logits) == len(eager_logits) == N
    for a, b in zip(static_logits, eager_logits):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-4)
    if temperature:  # sampling really drew from the uniforms (not argmax in disguise)
        greedy = generate_image_tokens(model, rows, u, **{**kw, "temperature": 0})
        assert not torch.equal(greedy, eager)


def test_static_state_is_reused_across_batches_without_leaks(tiny):
    """One decoder, batches of the same shape then another shape then the first again: each
    equals the eager loop (a reused cache/mask/uniform buffer never leaks the previous batch)."""
    model, tok, rows = tiny
    dec = StaticDecoder(model, keep=1)
    kw = image_kw(tok, top_k=20)
    batches = [(rows[:2], (1, 2)), (rows[1:3][::-1], (3, 4)), (rows, (5, 6, 7)), (rows[:2], (8, 9))]
    for prompts, seeds in batches:
        u = torch.stack([draw_uniforms(s, N, 0)[0] for s in seeds])
        assert torch.equal(dec.image_tokens(prompts, u, **kw), generate_image_tokens(model, prompts, u, **kw))
    assert len(dec._states) == 1


def test_bucketed_cache_length_of_graphs_mode_gives_the_same_tokens(tiny):
    """Graphs mode rounds the cache length up (len_bucket) to share a captured graph; the extra
    key columns are masked. On CPU in float32 the tokens stay the eager loop's, image and text."""
    model, tok, rows = tiny
    dec = StaticDecoder(model, len_bucket=64)
    u = torch.stack([draw_uniforms(s, N, 12)[0] for s in (4, 5, 6)])
    kw = image_kw(tok, top_k=20)
    assert torch.equal(dec.image_tokens(rows, u, **kw), generate_image_tokens(model, rows, u, **kw))
    assert next(iter(dec._states.values())).max_len == 64 + N
    ut = torch.stack([draw_uniforms(s, 0, 12)[1] for s in (4, 5, 6)])
    tk = dict(pad_id=tok.pad_token_id, eos_id=tok.eos_token_id, top_k=50, max_new_tokens=12)
    prompts = [r[:-1] for r in rows]
    assert dec.text(prompts, ut, **tk) == generate_text(model, prompts, ut, **tk)


@pytest.mark.parametrize("eos_every", [1, 5, 16])
def test_static_text_loop_gives_eager_tokens(tiny, eos_every):
    model, tok, rows = tiny
    prompts = [r[:-1] for r in rows]
    u = torch.stack([draw_uniforms(s, 0, 24)[1] for s in (1, 2, 3)])
    dec = StaticDecoder(model, eos_every=eos_every)
    for temperature in (1.0, 0.0):
        kw = dict(pad_id=tok.pad_token_id, eos_id=tok.eos_token_id, top_k=50, max_new_tokens=24, temperature=temperature)
        assert dec.text(prompts, u, **kw) == generate_text(model, prompts, u, **kw)


def test_static_text_loop_stops_at_eos_like_eager():
    model, tok = build_tiny_janus(seed=0)
    bonus = torch.zeros(len(tok))
    bonus[tok.eos_token_id] = 1e4
    h = model.lm_head.register_forward_hook(lambda mod, args, out: out + bonus)
    try:
        p = [tok.bos_token_id] + tok("hello", add_special_tokens=False).input_ids
        kw = dict(pad_id=tok.pad_token_id, eos_id=tok.eos_token_id, top_k=1, max_new_tokens=30)
        u = torch.full((2, 30), 0.5, dtype=torch.float64)
        out = StaticDecoder(model, eos_every=4).text([p, p + p], u, **kw)
    finally:
        h.remove()
    assert out == [[tok.eos_token_id], [tok.eos_token_id]]


def test_inductor_step_gives_eager_greedy_tokens_and_logits(tiny):
    """torch.compile(fullgraph=True) of the same step on CPU (inductor + gcc): same greedy
    tokens, logits within 1e-4. Slow-ish (one compile, tens of seconds on a loaded machine)."""
    model, tok, rows = tiny
    u = torch.zeros(3, N, dtype=torch.float64)
    kw = image_kw(tok, temperature=0)
    seen, h = record_head(model)
    try:
        eager = generate_image_tokens(model, rows, u, **kw)
    finally:
        h.remove()
    # a hook the compiled graph can carry without recompiling: tensor state only
    buf = torch.zeros((N + 8, 2 * len(rows), seen[0].shape[-1]))
    ctr = torch.zeros((1,), dtype=torch.long)

    def keep(mod, args, out):
        buf.index_copy_(0, ctr, out.float().unsqueeze(0))
        ctr.add_(1)

    h = model.model.generation_head.register_forward_hook(keep)
    try:
        dec = StaticDecoder(model, compile="inductor")
        compiled = dec.image_tokens(rows, u, **kw)  # compiles (on throwaway state), then runs
    finally:
        h.remove()
    assert dec.captures == 1
    assert torch.equal(compiled, eager)
    n = int(ctr)  # warm-up steps come first; the batch's N head outputs are the last N
    assert n >= N
    for a, b in zip(buf[n - N : n], seen):
        assert torch.allclose(a, b, rtol=0, atol=1e-4)


def test_compile_modes_resolve_per_device():
    assert resolve_compile("auto", "cpu") == "none" and resolve_compile("auto", "cuda:0") == "graphs"
    assert resolve_compile("inductor", "cpu") == "inductor"
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        resolve_compile("graphs", "cpu")
    with pytest.raises(ConfigError, match="expected one of"):
        resolve_compile("fast", "cpu")


# ---------------------------------------------------------------------------- CFG precision

def test_cfg_logits_dtype_on_hand_made_bf16_values():
    cond = torch.tensor([[3.140625, -3.0, 0.33203125, 7.0]], dtype=torch.bfloat16)
    unc = torch.tensor([[-0.0107421875, -2.984375, 0.3359375, 1.1015625]], dtype=torch.bfloat16)
    head = torch.cat([cond, unc])
    ref_model = (unc + 5 * (cond - unc)).float()  # every op in bf16, as DeepSeek's loop
    ref_fp32 = unc.float() + 5 * (cond.float() - unc.float())
    assert torch.equal(cfg_logits(head, 1, 5, "model"), ref_model)
    assert torch.equal(cfg_logits(head, 1, 5), ref_model)  # the default is the published behaviour
    assert torch.equal(cfg_logits(head, 1, 5, "float32"), ref_fp32)
    assert not torch.equal(ref_model, ref_fp32)  # the case does tell the two apart
    f = head.float()
    assert torch.equal(cfg_logits(f, 1, 5, "model"), cfg_logits(f, 1, 5, "float32"))  # float32 model: same


@pytest.mark.parametrize("loop", ["eager", "static"])
def test_bf16_tiny_model_cfg_in_model_dtype_by_default(loop):
    """On a bf16 tiny model each greedy token is the argmax of CFG computed in bf16 from that
    step's head output (default), or in float32 (cfg_dtype=float32)."""
    model, tok = build_tiny_janus(seed=0)
    model = model.to(torch.bfloat16)
    boi = tok.convert_tokens_to_ids(BOI)
    rows = [[tok.bos_token_id] + tok(t, add_special_tokens=False).input_ids + [boi] for t in TEXTS]
    u = torch.zeros(3, N, dtype=torch.float64)
    run = (lambda **k: generate_image_tokens(model, rows, u, **k)) if loop == "eager" else \
        (lambda **k: StaticDecoder(model).image_tokens(rows, u, **k))
    outs = {}
    for mode in ("model", "float32", None):
        heads = []
        h = model.model.generation_head.register_forward_hook(lambda m, a, o: heads.append(o.detach().clone()))
        try:
            kw = image_kw(tok, temperature=0) | ({} if mode is None else {"cfg_dtype": mode})
            tokens = run(**kw)
        finally:
            h.remove()
        assert all(x.dtype == torch.bfloat16 for x in heads)
        for i, out in enumerate(heads):
            c, n = out[:3], out[3:]
            ref = (n + 5 * (c - n)).float() if mode != "float32" else n.float() + 5 * (c.float() - n.float())
            assert torch.equal(tokens[:, i], ref.argmax(-1)), (mode, i)
        outs[mode] = tokens
    assert torch.equal(outs[None], outs["model"])


def test_cfg_dtype_is_recorded_in_config_and_manifest(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    p = cli(["generate", "--bench", "wise", "--model", "tiny", "--run-dir", str(run_dir), "--data-dir", str(data_dir),
             "--limit", "1", "--category", "culture", "--gen-option", "cot_max_new_tokens=4",
             "--gen-option", "cfg_dtype=float32", "--batch-size", "2", "--device", "cpu"])
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    config = json.loads((run_dir / "config.json").read_text())
    gen = config["identity"]["generator"]
    assert gen["cfg_dtype"] == "float32" and config["identity"]["batch_size"] == 2
    rows = [json.loads(x) for f in (run_dir / "manifest").glob("*.jsonl") for x in f.read_text().splitlines()]
    assert rows and all(r["knobs"]["cfg_dtype"] == "float32" for r in rows)
    assert JanusGenerator(model_id="tiny", device="cpu").describe()["cfg_dtype"] == "model"
    with pytest.raises(ConfigError, match="cfg_dtype"):
        JanusGenerator(model_id="tiny", device="cpu", cfg_dtype="fp8")


# ---------------------------------------------------------------------------- batch size auto

def test_auto_batch_size_refused_on_cpu_with_a_clear_message(tmp_path, data_dir):
    with pytest.raises(ConfigError, match="free GPU memory"):
        JanusGenerator(model_id="tiny", device="cpu", batch_size="auto")
    p = cli(["generate", "--bench", "wise", "--model", "tiny", "--run-dir", str(tmp_path / "r"), "--data-dir", str(data_dir),
             "--limit", "1", "--batch-size", "auto", "--device", "cpu"])
    out, _ = p.communicate(timeout=300)
    # the CLI maps every ConfigError to click's exit status (1 today, project-wide)
    assert p.returncode != 0 and "give a number instead" in out and "Traceback" not in out, out


def test_auto_batch_size_estimate_for_janus_pro_7b_on_an_h200():
    dims = text_dims({"language_config": {"hidden_size": 4096, "num_hidden_layers": 30}})
    assert dims["num_key_value_heads"] == 32 and dims["vocab_size"] == 102400
    weights = estimate_weight_bytes(dims, 2)
    assert 14e9 < weights < 17e9  # Janus-Pro-7B in bf16 is ~14.8 GB
    per = bytes_per_image(dims, 2, prompt_len=128, image_tokens=576, cot_tokens=0, codebook=16384)
    # 2 CFG rows x 704 positions x 30 layers x (K, V) x 4096 x 2 bytes = 0.69 GB, plus small change
    assert 0.69e9 < per < 0.75e9
    n = estimate_batch_size(141 * 2**30, weights, per)
    assert n % 8 == 0 and 64 <= n <= 256
    assert estimate_batch_size(20 * 2**30, weights, per) == 1  # only the weights fit: still one image
    with_cot = bytes_per_image(dims, 2, prompt_len=128, image_tokens=576, cot_tokens=512, codebook=16384)
    assert with_cot > per and estimate_batch_size(141 * 2**30, weights, with_cot) < n


def test_cli_batch_size_accepts_only_positive_integers_or_auto(tmp_path):
    p = cli(["generate", "--bench", "wise", "--model", "tiny", "--batch-size", "0", "--run-dir", str(tmp_path / "r")])
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 2 and "positive integer or auto" in out, out


# ---------------------------------------------------------------------------- images

def test_device_uint8_conversion_equals_deepseeks_numpy_one():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 8, 8, 3, generator=g) * 2.4 - 1.2  # beyond [-1, 1] too: clipping
    x[0, 0, 0] = torch.tensor([-1.0, 1.0, 0.0])
    x[0, 0, 1] = torch.tensor([0.00392156862745098 * 2 - 1, -0.9999999, 0.9999999])  # near truncation edges
    ref = np.stack([np.asarray(im) for im in to_uint8_images(x)])
    assert np.array_equal(to_uint8_array(x).numpy(), ref)
    assert np.array_equal(to_uint8_array(x.to(torch.bfloat16)).numpy(),
                          np.stack([np.asarray(im) for im in to_uint8_images(x.to(torch.bfloat16))]))


def test_vq_decode_in_chunks_gives_the_same_images(tiny):
    model, tok, rows = tiny
    gen = JanusGenerator.from_components(model, tok, recipe="janus-pro", model_id="tiny-test", batch_size=3)
    tokens = torch.randint(0, 64, (3, N), generator=torch.Generator().manual_seed(1))
    whole = [im.tobytes() for im in gen.decode_images(tokens)]
    gen.decode_chunk = 2
    assert [im.tobytes() for im in gen.decode_images(tokens)] == whole
    with torch.inference_mode():
        ref = to_uint8_images(model.decode_image_tokens(tokens))
    assert [im.tobytes() for im in ref] == whole


def test_background_writer_keeps_order_overlaps_and_reraises():
    order, main_thread = [], threading.get_ident()

    def job(i):
        time.sleep(0.01)
        order.append((i, threading.get_ident() != main_thread))

    w = BackgroundWriter(max_pending=2)
    for i in range(6):
        w.submit(job, i)
    w.close()
    assert [i for i, _ in order] == list(range(6)) and all(off for _, off in order)

    def boom():
        raise OSError("disk full")

    w = BackgroundWriter()
    w.submit(boom)
    with pytest.raises(OSError, match="disk full"):
        w.close()


def test_generator_default_static_loop_makes_the_eager_loops_images(tiny):
    """Through JanusGenerator, CoT recipe included: the default (static loop, cfg_dtype=model)
    makes byte-identical images and CoTs to the eager loop with the float32 CFG of before, so
    float32 runs and baselines made before this change stay valid."""
    from t2ir1_eval.types import GenRequest, PromptItem

    model, tok, _ = tiny
    reqs = [GenRequest(PromptItem(f"p{i}", t, "x"), 0, 100 + i) for i, t in enumerate(["a red apple", "two cats", "a clock"])]
    out = {}
    for name, knobs in (("static", {}), ("eager", {"loop": "eager", "cfg_dtype": "float32"})):
        gen = JanusGenerator.from_components(model, tok, recipe="t2i-r1", batch_size=3, cot_max_new_tokens=8, **knobs)
        assert gen.describe()["loop"] == name
        res = gen.generate(reqs)
        out[name] = [(r.image.tobytes(), r.info["reasoning"]) for r in res]
    assert out["static"] == out["eager"]
