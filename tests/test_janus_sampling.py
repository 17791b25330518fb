"""The batched CFG image loop and CoT loop on the tiny Janus: rows, masks, positions, warpers."""

import pytest
import torch

from janus_reference import deepseek_loop
from t2ir1_eval.generators.janus_sampling import (
    draw_uniforms,
    generate_image_tokens,
    generate_text,
    left_pad,
    sample_rows,
    warp_logits,
)
from t2ir1_eval.tiny.janus import BOI, build_tiny_janus

N = 16  # tiny image tokens


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny_janus(seed=0)
    boi = tok.convert_tokens_to_ids(BOI)
    texts = [
        "<|User|>: a red apple\n\n<|Assistant|>:",
        "<|User|>: a photo of a blue bench on the left of a green dog\n\n<|Assistant|>:",
        "User: cat\n\nAssistant:",
    ]
    rows = [[tok.bos_token_id] + tok(t, add_special_tokens=False).input_ids + [boi] for t in texts]
    return model, tok, rows


def test_cfg_rows_and_masks(tiny):
    """Uncond rows keep only BOS and <begin_of_image>; left pads are masked; positions start at 0."""
    model, tok, rows = tiny
    seen = {}

    def grab(module, args, kwargs):
        if not seen:
            seen.update(kwargs)

    h = model.model.language_model.register_forward_pre_hook(grab, with_kwargs=True)
    try:
        generate_image_tokens(model, rows[:2], torch.rand(2, N, dtype=torch.float64), pad_id=tok.pad_token_id,
                              cfg_weight=5, num_image_tokens=2)
    finally:
        h.remove()
    emb, mask, pos = seen["inputs_embeds"], seen["attention_mask"], seen["position_ids"]
    table = model.get_input_embeddings().weight
    width = max(len(r) for r in rows[:2])
    assert emb.shape[:2] == (4, width)
    for b, r in enumerate(rows[:2]):
        n, off = len(r), width - len(r)
        for row in (b, b + 2):  # cond row b, its uncond row b + 2
            assert mask[row].tolist() == [0] * off + [1] * n
            assert pos[row, off:].tolist() == list(range(n))
        cond_ids = r
        uncond_ids = [tok.bos_token_id] + [tok.pad_token_id] * (n - 2) + [r[-1]]
        assert torch.equal(emb[b, off:], table[cond_ids])
        assert torch.equal(emb[b + 2, off:], table[uncond_ids])
        assert uncond_ids[-1] == tok.convert_tokens_to_ids(BOI)


def test_greedy_matches_transformers_generate_with_padding(tiny):
    """Batched, left-padded prompts give what transformers' own image generate gives each alone."""
    model, tok, rows = tiny
    ours = generate_image_tokens(model, rows, torch.zeros(3, N, dtype=torch.float64), pad_id=tok.pad_token_id,
                                 cfg_weight=5, temperature=0, num_image_tokens=N)
    for i, r in enumerate(rows):
        ids = torch.tensor([r])
        hf = model.generate(ids, attention_mask=torch.ones_like(ids), generation_mode="image", do_sample=False,
                            guidance_scale=5.0)
        assert torch.equal(ours[i], hf[0]), i


def test_greedy_matches_deepseek_loop(tiny):
    model, tok, rows = tiny
    ours = generate_image_tokens(model, rows[1:2], torch.zeros(1, N, dtype=torch.float64), pad_id=tok.pad_token_id,
                                 cfg_weight=5, temperature=0, num_image_tokens=N)
    ref = deepseek_loop(model.model.language_model, model.get_input_embeddings(), model.model.generation_head,
                        model.prepare_embeddings_for_image_generation, rows[1], pad_id=tok.pad_token_id,
                        cfg_weight=5, image_token_num=N, greedy=True)
    assert torch.equal(ours, ref)


def test_padding_without_positions_would_differ(tiny):
    """Guard that the test above can fail: shifting a short row's positions changes its tokens."""
    model, tok, rows = tiny
    short = rows[0]
    padded = [tok.pad_token_id] * 12 + short  # pads treated as real tokens = the right-padding quirk
    a = generate_image_tokens(model, [short], torch.zeros(1, N, dtype=torch.float64), pad_id=tok.pad_token_id,
                              cfg_weight=5, temperature=0, num_image_tokens=N)
    b = generate_image_tokens(model, [padded], torch.zeros(1, N, dtype=torch.float64), pad_id=tok.pad_token_id,
                              cfg_weight=5, temperature=0, num_image_tokens=N)
    assert not torch.equal(a, b)


def test_batch_of_three_equals_three_batches_of_one(tiny):
    model, tok, rows = tiny
    u = torch.stack([draw_uniforms(s, N, 0)[0] for s in (11, 12, 13)])
    kw = dict(pad_id=tok.pad_token_id, cfg_weight=5, num_image_tokens=N)
    batched = generate_image_tokens(model, rows, u, **kw)
    single = torch.cat([generate_image_tokens(model, [r], u[i : i + 1], **kw) for i, r in enumerate(rows)])
    assert torch.equal(batched, single)
    rev = generate_image_tokens(model, rows[::-1], u.flip(0), **kw)
    assert torch.equal(rev.flip(0), batched)
    dyn = generate_image_tokens(model, rows, u, cache="dynamic", **kw)
    assert torch.equal(dyn, batched)


def test_text_loop_batched_equals_single_and_matches_greedy_generate(tiny):
    model, tok, rows = tiny
    prompts = [r[:-1] for r in rows]  # text prompts: no <begin_of_image>
    u = torch.stack([draw_uniforms(s, 0, 20)[1] for s in (1, 2, 3)])
    kw = dict(pad_id=tok.pad_token_id, eos_id=tok.eos_token_id, top_k=50, max_new_tokens=20)
    batched = generate_text(model, prompts, u, **kw)
    single = [generate_text(model, [p], u[i : i + 1], **kw)[0] for i, p in enumerate(prompts)]
    assert batched == single
    greedy = generate_text(model, prompts, u, **{**kw, "max_new_tokens": 8}, temperature=0)
    for p, g in zip(prompts, greedy):
        ids = torch.tensor([p])
        hf = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=8,
                            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        assert hf[0, len(p):].tolist()[: len(g)] == g


def test_text_stops_at_eos_and_pads_finished_rows():
    model, tok = build_tiny_janus(seed=0)
    bonus = torch.zeros(len(tok))
    bonus[tok.eos_token_id] = 1e4  # EOS is the only likely token
    model.lm_head.register_forward_hook(lambda mod, args, out: out + bonus)
    p = [tok.bos_token_id] + tok("hello", add_special_tokens=False).input_ids
    out = generate_text(model, [p, p + p], torch.full((2, 30), 0.5, dtype=torch.float64), pad_id=tok.pad_token_id,
                        eos_id=tok.eos_token_id, top_k=1, max_new_tokens=30)
    assert out == [[tok.eos_token_id], [tok.eos_token_id]]


def test_warpers_match_transformers():
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(0)
    logits = torch.randn(4, 100)
    for t, k, p in [(1.0, 50, 1.0), (0.7, 0, 1.0), (1.3, 10, 0.9), (1.0, 0, 0.5)]:
        ref = TemperatureLogitsWarper(t)(None, logits.clone())
        if k:
            ref = TopKLogitsWarper(k)(None, ref)
        if p < 1:
            ref = TopPLogitsWarper(p)(None, ref)
        assert torch.equal(torch.isinf(ref), torch.isinf(warp_logits(logits, t, k, p)))
        assert torch.allclose(ref.softmax(-1), warp_logits(logits, t, k, p).softmax(-1))


def test_inverse_cdf_sampling_distribution():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4, 1e-12]]))
    u = torch.rand(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    draws = sample_rows(logits.expand(20000, -1), u, 1.0, 0, 1.0)
    freq = torch.bincount(draws, minlength=5).double() / 20000
    assert torch.allclose(freq[:4], torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64), atol=0.015)
    top2 = sample_rows(logits.expand(20000, -1), u, 1.0, 2, 1.0)
    assert set(top2.tolist()) == {2, 3}  # top-k never picks a masked token


def test_left_pad_positions():
    ids, mask, pos = left_pad([[5, 6, 7], [8]], 0, torch.device("cpu"))
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert pos.tolist() == [[0, 1, 2], [0, 0, 0]]


def test_uniform_streams_depend_only_on_seed():
    a_img, a_txt = draw_uniforms(42, 16, 8)
    b_img, b_txt = draw_uniforms(42, 16, 0)
    assert torch.equal(a_img, b_img)  # image stream is the same with or without a CoT stage
    assert not torch.equal(draw_uniforms(43, 16, 0)[0], a_img)
